"""What a bump hunt returns: plain data.

The JSON form (``bumphunt.json``) is written by :mod:`coffea_anomaly.stats.report` only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .bumphunter import BumpHunterResult
from .categories import Category
from .config import BumpHuntConfig
from .fit import FitResult
from .ftest import ModelSelection
from .scan import ScanResult
from .toys import ToyResult

__all__ = ["BumpHuntResult", "CategoryResult", "GlobalSignificance"]


@dataclass(frozen=True, eq=False)
class CategoryResult:
    """Everything about one category.

    Attributes:
        category: the category (counts over the full m_jj axis, score ranges).
        edges: bin edges of the fit range.
        counts: counts in the fit range.
        selection: background fits and the model-selection tests.
        scan: observed mass scan (T = 1).
        fit_at_best: signal-plus-background fit (MINUIT) at the best mass.
        bumphunter: the sliding-window cross-check, or None.
        global_p: fraction of pseudo-experiments whose largest q0 in this category
            reaches the observed one (NaN without pseudo-experiments).
    """

    category: Category
    edges: np.ndarray
    counts: np.ndarray
    selection: ModelSelection
    scan: ScanResult
    fit_at_best: FitResult | None
    bumphunter: BumpHunterResult | None
    global_p: float = float("nan")

    @property
    def background(self) -> np.ndarray:
        """Fitted background-only expectation per bin."""
        return self.selection.chosen.expected


@dataclass(frozen=True)
class GlobalSignificance:
    """Global significance of the largest excess of one combination.

    Attributes:
        local_z: largest local significance over the mass range.
        toys_p: fraction of pseudo-experiments at least as significant (NaN: none run).
        toys_p_error: binomial error of ``toys_p``.
        toys_z: ``Phi^-1(1 - toys_p)`` (a lower limit when no pseudo-experiment exceeded).
        toys_z_is_limit: whether ``toys_z`` is only a lower limit.
        gv_p: Gross–Vitells global p-value.
        gv_z: its significance.
        gv_n_ref: mean up-crossings of the reference level used.
        gv_n_ref_source: ``"pseudo-experiments"`` or ``"observed scan"``.
        gv_n_ref_observed: up-crossings counted on the observed curve.
    """

    local_z: float
    toys_p: float
    toys_p_error: float
    toys_z: float
    toys_z_is_limit: bool
    gv_p: float
    gv_z: float
    gv_n_ref: float
    gv_n_ref_source: str
    gv_n_ref_observed: int

    @property
    def method(self) -> str:
        """Which estimate is quoted: pseudo-experiments unless none ran or none reached the
        observed excess (then only a lower limit is known and Gross–Vitells is quoted)."""
        if not np.isfinite(self.toys_z) or (self.toys_z_is_limit and self.gv_z > self.toys_z):
            return "Gross-Vitells"
        return "pseudo-experiments"

    @property
    def global_z(self) -> float:
        """The quoted global significance (see :attr:`method`)."""
        return self.toys_z if self.method == "pseudo-experiments" else self.gv_z

    @property
    def global_p(self) -> float:
        """The quoted global p-value."""
        return self.toys_p if self.method == "pseudo-experiments" else self.gv_p


@dataclass(frozen=True, eq=False)
class BumpHuntResult:
    """The result of :func:`~coffea_anomaly.stats.run_bumphunt`.

    Attributes:
        config: the configuration used.
        source: description of the input.
        masses: scanned masses ``(M,)``.
        categories: per-category results.
        joint_q0: joint-likelihood q0 per mass.
        joint_z: its local significance per mass.
        fisher_z: Fisher-combined local significance per mass.
        best_index: index of the best mass (largest headline local significance).
        joint: global significance of the joint-likelihood combination.
        fisher: global significance of the Fisher combination.
        toys: per-pseudo-experiment summaries (None if none were run).
        signal: description of the signal shape.
        nodes: quadrature nodes per bin used for the dijet function.
        warnings: things the analyst should know (weighted input, failed fits, ...).
        qr: report of the quantile-regression (mass-decorrelated) selection, or None.
    """

    config: BumpHuntConfig
    source: str
    masses: np.ndarray
    categories: list[CategoryResult]
    joint_q0: np.ndarray
    joint_z: np.ndarray
    fisher_z: np.ndarray
    best_index: int
    joint: GlobalSignificance
    fisher: GlobalSignificance
    toys: ToyResult | None
    signal: dict[str, Any]
    nodes: int
    warnings: list[str] = field(default_factory=list)
    qr: dict[str, Any] | None = None

    @property
    def best_mass(self) -> float:
        """Mass of the largest headline local significance (GeV)."""
        return float(self.masses[self.best_index])

    @property
    def headline(self) -> GlobalSignificance:
        """The combination named by ``config.headline``."""
        return self.joint if self.config.headline == "joint" else self.fisher

    @property
    def local_z(self) -> float:
        """Headline local significance at the best mass."""
        return self.headline.local_z

    @property
    def global_z(self) -> float:
        """Headline global significance (see :attr:`GlobalSignificance.method`)."""
        return self.headline.global_z

    @property
    def signal_yield(self) -> tuple[float, float]:
        """Total fitted signal yield at the best mass over categories, and its error."""
        s = np.array([c.scan.signal_yield[0, self.best_index] for c in self.categories])
        e = np.array([c.scan.signal_error[0, self.best_index] for c in self.categories])
        return float(np.sum(s)), float(np.sqrt(np.sum(e**2)))
