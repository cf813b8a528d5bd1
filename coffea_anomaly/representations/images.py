"""Jet images: constituents → centred, rotated, flipped, pixelised, normalised images.

One eager implementation (a numba kernel over flat arrays plus vectorised numpy/scipy
for remap, filter and normalisation) serves eager, virtual and dask-awkward inputs.

Example:
    >>> images = jet_images(events.FatJet, fatjet_constituents(events))   # doctest: +SKIP
    >>> images.shape                                                        # doctest: +SKIP
    (n_jets, 40, 40)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import awkward as ak
import numpy as np

from ._dask import any_dask, map_eager
from ._flat import check_aligned, flat_constituents, flat_jets, select_columns
from ._image_kernel import (
    CENTER_CODES,
    FLIP_CODES,
    normalise,
    pixelise_jets,
    remap_power,
)
from .image_config import QUADRANT_SIGNS, ImageConfig

__all__ = ["ImageInfo", "finish_images", "jet_images", "jet_images_with_info"]

_CONST_COLS = ("pt", "eta", "phi")
_JET_COLS = ("eta", "phi")


@dataclass(frozen=True)
class ImageInfo:
    """Book-keeping of :func:`jet_images_with_info`, one entry per jet (flat jet order).

    Attributes:
        n_constituents: constituents the jet has.
        n_dropped: constituents that fell outside the image window (not in any pixel).
        empty: True where the image is all zero (no constituent, or none in the window).
    """

    n_constituents: Any
    n_dropped: Any
    empty: Any


def jet_images(jets: Any, constituents: Any, config: ImageConfig | None = None) -> Any:
    """Jet images as a float32 array ``(n_jets, npix, npix)``.

    Args:
        jets: the jets, ``(n_jets,)`` or events × jets (their ``eta``/``phi`` are used for
            ``center="jet_axis"``); jets are numbered in order, event by event.
        constituents: their constituents (``pt``, ``eta``, ``phi``), aligned with ``jets``,
            e.g. from :func:`~coffea_anomaly.representations.fatjet_constituents`.
        config: the preprocessing; default :class:`ImageConfig` (QCD-or-what images).

    Returns:
        numpy float32 images; for dask-awkward input a lazy dask-awkward array whose
        ``compute()`` gives the same numbers (``ak.to_numpy`` turns it into numpy).
        Jets without constituents give all-zero images: see :func:`jet_images_with_info`.
    """
    return jet_images_with_info(jets, constituents, config)[0]


def jet_images_with_info(
    jets: Any, constituents: Any, config: ImageConfig | None = None
) -> tuple[Any, ImageInfo]:
    """Like :func:`jet_images`, also returning an :class:`ImageInfo` (dropped, empty)."""
    config = config or ImageConfig()
    parts = (select_columns(constituents, _CONST_COLS), select_columns(jets, _JET_COLS))
    if any_dask(*parts):
        out = map_eager(_images_record, *parts, label="jet-images", config=config)
        n_const, n_dropped = out["n_constituents"], out["n_dropped"]
        info = ImageInfo(n_const, n_dropped, n_const - n_dropped == 0)
        return out["image"], info
    images, n_const, n_dropped = _images_eager(*parts, config=config)
    return images, ImageInfo(n_const, n_dropped, n_const - n_dropped == 0)


def _images_record(constituents: ak.Array, jets: ak.Array, config: ImageConfig) -> ak.Array:
    images, n_const, n_dropped = _images_eager(constituents, jets, config=config)
    return ak.zip(
        {"image": images, "n_constituents": n_const, "n_dropped": n_dropped}, depth_limit=1
    )


def _images_eager(
    constituents: ak.Array, jets: ak.Array, config: ImageConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    flat = flat_constituents(constituents, _CONST_COLS)
    jet_cols = flat_jets(jets, _JET_COLS)
    check_aligned(jet_cols, flat)
    images = np.zeros((flat.n_jets, config.npix, config.npix), dtype=np.float32)
    n_dropped = np.zeros(flat.n_jets, dtype=np.int64)
    sign_x, sign_y = QUADRANT_SIGNS[config.quadrant]
    pixelise_jets(
        flat.offsets,
        flat.columns["pt"],
        flat.columns["eta"],
        flat.columns["phi"],
        jet_cols["eta"],
        jet_cols["phi"],
        CENTER_CODES[config.center],
        config.rotate,
        FLIP_CODES[config.flip],
        sign_x,
        sign_y,
        config.npix,
        float(config.eta_range),
        float(config.phi_range),
        images,
        n_dropped,
    )
    return finish_images(images, config), flat.counts, n_dropped


def finish_images(images: np.ndarray, config: ImageConfig) -> np.ndarray:
    """The pixel-level steps after pixelisation, on a stack ``(n, npix, npix)``.

    pT → pT^n, Gaussian filter (σ in pixels, zero outside), unit-sum normalisation,
    zero padding, in that order. Modifies and returns ``images`` (or a padded copy).
    """
    if config.pt_power != 1.0:
        remap_power(images, float(config.pt_power))
    if config.gaussian_sigma > 0:
        # zero outside the image, as nothing outside the window was kept (mode="constant");
        # the papers only say "a Gaussian filter", scipy's default "reflect" would fold the
        # edge pixels back in
        from scipy.ndimage import gaussian_filter

        sigma = float(config.gaussian_sigma)
        images = gaussian_filter(images, sigma=(0.0, sigma, sigma), mode="constant", cval=0.0, truncate=4.0)
    if config.normalize:
        normalise(images)
    if config.pad_to is not None and config.pad_to > config.npix:
        extra = config.pad_to - config.npix
        before = extra // 2
        images = np.pad(images, ((0, 0), (before, extra - before), (before, extra - before)))
    return images
