"""Configuration of a bump hunt (a frozen dataclass that round-trips through dicts/YAML)."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ConfigError

__all__ = ["BumpHuntConfig", "SignalTemplateConfig"]


@dataclass(frozen=True)
class SignalTemplateConfig:
    """A signal template histogram made at mass ``mass`` (scaled to other masses).

    Attributes:
        edges: bin edges (GeV).
        counts: contents (any normalisation).
        mass: resonance mass of the template (GeV).
    """

    edges: tuple[float, ...]
    counts: tuple[float, ...]
    mass: float


@dataclass(frozen=True)
class BumpHuntConfig:
    """Everything that defines a bump hunt.

    Attributes:
        sqrt_s: centre-of-mass energy in GeV (``x = m_jj / sqrt_s`` in the dijet function).
        mjj_range: fit range in GeV (snapped to bin edges); None: from the peak of the
            spectrum to its last non-empty bin.
        background: ``"dijet"`` or ``"bernstein"``.
        dijet_params: candidate numbers of dijet-function parameters (3, 4, 5).
        bernstein_orders: candidate Bernstein orders (QUAK: 3).
        selection: ``"ftest"``, ``"lrt"`` (likelihood ratio) or ``"fixed"`` (first candidate).
        selection_alpha: level of the F-/likelihood-ratio test.
        quadrature_nodes: Gauss–Legendre nodes per bin for the dijet function (None: auto).
        signal_width: Gaussian signal sigma / mass.
        signal_template: a histogram template instead of the Gaussian.
        mass_range: scanned masses (GeV); None: the fit range less two signal widths.
        n_masses: number of scanned masses (log-spaced, i.e. even steps in signal widths).
        categories: ``()`` one category; ``(n,)`` along the first score axis; ``(n1, n2)``
            uniformly populated categories in the two score axes (QUAK "method 2").
        score_cuts: selections such as ``"score>0.01"`` applied before the categories.
        qr_keep: mass-decorrelated selections by quantile regression (VAE-QR), at most one
            per score axis: ``"0.05"`` keeps the highest 5 % of the first score at every
            m_jj, ``"score2:low:0.5"`` the lowest half of ``score2`` (within each band of
            the first). With any of them (or ``qr_categories``) the categories are bands
            equally populated at every m_jj (see :mod:`.qr_categories`).
        qr_categories: categories as quantile-regression bands even without ``qr_keep``.
        qr_degree: polynomial degree of the thresholds vs m_jj (None: the smallest with a
            chi2 p-value above 5 %, up to 5).
        headline: combination quoted first: ``"joint"`` (likelihood) or ``"fisher"``.
        n_toys: background-only pseudo-experiments for the global significance (0: none).
        seed: seed of the pseudo-experiments.
        threads: threads for the fits (None: numba's default, all cores).
        toys_chunk: pseudo-experiments per batch (memory only; results do not depend on it).
        gv_level: Gross–Vitells reference level c0 (in Z^2).
        bumphunter: also run the BumpHunter sliding-window cross-check.
        bh_width_min: narrowest BumpHunter window (bins).
        bh_width_max: widest BumpHunter window (bins); None: half the bins.
    """

    sqrt_s: float = 13000.0
    mjj_range: tuple[float, float] | None = None
    background: str = "dijet"
    dijet_params: tuple[int, ...] = (3, 4, 5)
    bernstein_orders: tuple[int, ...] = (2, 3, 4, 5)
    selection: str = "ftest"
    selection_alpha: float = 0.05
    quadrature_nodes: int | None = None
    signal_width: float = 0.03
    signal_template: SignalTemplateConfig | None = None
    mass_range: tuple[float, float] | None = None
    n_masses: int = 50
    categories: tuple[int, ...] = ()
    score_cuts: tuple[str, ...] = ()
    qr_keep: tuple[str, ...] = ()
    qr_categories: bool = False
    qr_degree: int | None = None
    headline: str = "joint"
    n_toys: int = 1000
    seed: int = 1
    threads: int | None = None
    toys_chunk: int = 50
    gv_level: float = 1.0
    bumphunter: bool = True
    bh_width_min: int = 1
    bh_width_max: int | None = None

    def __post_init__(self) -> None:
        checks = [
            (self.background in ("dijet", "bernstein"), f"background must be 'dijet' or 'bernstein', not {self.background!r}"),
            (set(self.dijet_params) <= {3, 4, 5} and bool(self.dijet_params), "dijet_params must be among 3, 4, 5"),
            (bool(self.bernstein_orders) and min(self.bernstein_orders) >= 0, "bernstein_orders must be >= 0"),
            (self.selection in ("ftest", "lrt", "fixed"), f"selection must be ftest, lrt or fixed, not {self.selection!r}"),
            (0 < self.selection_alpha < 1, "selection_alpha must be in (0, 1)"),
            (self.quadrature_nodes is None or 1 <= self.quadrature_nodes <= 10, "quadrature_nodes must be 1..10"),
            (0 < self.signal_width < 0.5, "signal_width (sigma/mass) must be in (0, 0.5)"),
            (self.n_masses >= 1, "n_masses must be >= 1"),
            (len(self.categories) <= 2 and all(n >= 1 for n in self.categories), "categories must be (), (n,) or (n1, n2)"),
            (self.headline in ("joint", "fisher"), f"headline must be 'joint' or 'fisher', not {self.headline!r}"),
            (self.n_toys >= 0 and self.toys_chunk >= 1, "n_toys must be >= 0 and toys_chunk >= 1"),
            (self.sqrt_s > 0, "sqrt_s must be positive"),
            (self.bh_width_min >= 1, "bh_width_min must be >= 1"),
            (self.threads is None or self.threads >= 1, "threads must be >= 1"),
            (self.qr_degree is None or 0 <= self.qr_degree <= 10, "qr_degree must be 0..10"),
        ]
        for ok, msg in checks:
            if not ok:
                raise ConfigError(msg)
        if self.qr_keep:
            from .quantile_regression import parse_qr_keep

            for text in self.qr_keep:
                parse_qr_keep(text)
        for rng, what in ((self.mjj_range, "mjj_range"), (self.mass_range, "mass_range")):
            if rng is not None and (len(rng) != 2 or not 0 < rng[0] < rng[1]):
                raise ConfigError(f"{what} must be (low, high) with 0 < low < high, got {rng}")
