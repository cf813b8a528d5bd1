"""``ImageConfig``: every jet-image preprocessing choice of the papers, as one frozen dataclass.

| preset | paper | grid | window (half-widths η, φ) | centre | flip | extras |
|---|---|---|---|---|---|---|
| ``qcd_or_what`` (default) | QCD or what, §2.1 | 40×40 | 0.57, 0.69 | pT(kT)-weighted centroid | hardest → upper right | |
| ``qcd_or_what_wide`` | QCD or what, §3 | 40×40 | 0.75, 0.75 | centroid | hardest → upper right | |
| ``farina`` | Farina-Nakai-Shih, §II.A | 37×37 | 0.57, 0.69 (not stated; ours) | centroid | hardest → upper right | |
| ``nae`` | Normalized AE, §3 | 40×40 | pixel 0.029 × 0.035 | centroid | pT-weighted half → lower left | Gaussian σ = 1 px |

"kT-weighted" in the papers means weighted by the constituent transverse momentum, so
both "pT-weighted" and "kT-weighted" centroids are ``center="centroid"``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

from ..errors import ConfigError

__all__ = ["IMAGE_PRESETS", "ImageConfig"]

Center = Literal["centroid", "leading", "jet_axis"]
Flip = Literal["hardest", "half", "none"]
Quadrant = Literal["upper_right", "upper_left", "lower_left", "lower_right"]

#: (sign of η', sign of φ') of each quadrant
QUADRANT_SIGNS: dict[str, tuple[int, int]] = {
    "upper_right": (1, 1),
    "upper_left": (-1, 1),
    "lower_left": (-1, -1),
    "lower_right": (1, -1),
}


@dataclass(frozen=True)
class ImageConfig:
    """How a jet becomes an image (the image axes: columns = η', rows = φ', top row = +φ').

    The steps, in order: centre; rotate the principal axis to 12 o'clock; flip;
    pixelise (pixel = Σ pT of the constituents it covers; constituents outside the
    window are dropped and counted); pixel-wise pT → pT^n; Gaussian filter; normalise to
    unit sum; zero-pad.

    Attributes:
        npix: pixels per side (the image is ``npix × npix``).
        eta_range: half-width of the window in η' (columns span ``-eta_range..eta_range``).
        phi_range: half-width of the window in φ' (rows span ``phi_range..-phi_range``).
        center: ``"centroid"`` (pT-weighted = kT-weighted centroid), ``"leading"``
            (hardest constituent) or ``"jet_axis"`` (the jet's η, φ).
        rotate: turn the principal axis of the pT-weighted η-φ distribution to vertical.
        flip: ``"hardest"`` puts the hardest constituent in ``quadrant``; ``"half"``
            puts the larger pT-weighted half along each axis on the ``quadrant`` side;
            ``"none"`` does not flip.
        quadrant: target quadrant of the flip.
        pt_power: pixel-wise remap pT → pT^n (NAE uses 0.01 … 0.5; 1 = off).
        gaussian_sigma: σ of a Gaussian filter in pixels (0 = off), zero outside the image.
        normalize: divide every image by its pixel sum (after all other steps).
        pad_to: zero-pad the image to ``pad_to × pad_to`` (e.g. 37 → 40); None = off.
    """

    npix: int = 40
    eta_range: float = 0.57
    phi_range: float = 0.69
    center: Center = "centroid"
    rotate: bool = True
    flip: Flip = "hardest"
    quadrant: Quadrant = "upper_right"
    pt_power: float = 1.0
    gaussian_sigma: float = 0.0
    normalize: bool = True
    pad_to: int | None = None

    def __post_init__(self) -> None:
        if isinstance(self.npix, bool) or not isinstance(self.npix, int) or self.npix < 1:
            raise ConfigError(f"npix must be a positive integer, not {self.npix!r}")
        for name in ("eta_range", "phi_range", "pt_power"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not value > 0:
                raise ConfigError(f"{name} must be a positive number, not {value!r}")
        if not isinstance(self.gaussian_sigma, (int, float)) or self.gaussian_sigma < 0:
            raise ConfigError(f"gaussian_sigma must be >= 0, not {self.gaussian_sigma!r}")
        _check_choice("center", self.center, ("centroid", "leading", "jet_axis"))
        _check_choice("flip", self.flip, ("hardest", "half", "none"))
        _check_choice("quadrant", self.quadrant, tuple(QUADRANT_SIGNS))
        if self.pad_to is not None and (
            not isinstance(self.pad_to, int) or self.pad_to < self.npix
        ):
            raise ConfigError(
                f"pad_to must be an integer >= npix ({self.npix}), not {self.pad_to!r}"
            )

    @property
    def pixel_size(self) -> tuple[float, float]:
        """(Δη, Δφ) of one pixel."""
        return (2 * self.eta_range / self.npix, 2 * self.phi_range / self.npix)

    @property
    def shape(self) -> tuple[int, int]:
        """Shape of one output image (after padding)."""
        side = self.pad_to if self.pad_to is not None else self.npix
        return (side, side)

    @classmethod
    def from_pixel_size(
        cls, npix: int, pixel_eta: float, pixel_phi: float, **kwargs: Any
    ) -> ImageConfig:
        """Build a config from the pixel size, as the NAE paper gives it (0.029 × 0.035)."""
        return cls(
            npix=npix, eta_range=npix * pixel_eta / 2, phi_range=npix * pixel_phi / 2, **kwargs
        )

    @classmethod
    def preset(cls, name: str, **overrides: Any) -> ImageConfig:
        """A paper's preprocessing by name (see :data:`IMAGE_PRESETS`), with overrides."""
        if name not in IMAGE_PRESETS:
            raise ConfigError(
                f"unknown image preset {name!r}; known: {', '.join(sorted(IMAGE_PRESETS))}"
            )
        return dataclasses.replace(IMAGE_PRESETS[name], **overrides)


def _check_choice(name: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")


#: the papers' choices (see the module docstring for sources)
IMAGE_PRESETS: dict[str, ImageConfig] = {
    "qcd_or_what": ImageConfig(),
    "qcd_or_what_wide": ImageConfig(eta_range=0.75, phi_range=0.75),
    "farina": ImageConfig(npix=37),
    "nae": ImageConfig.from_pixel_size(
        40, 0.029, 0.035, flip="half", quadrant="lower_left", gaussian_sigma=1.0
    ),
}
