"""Choosing the number of background parameters: Fisher's F-test or a likelihood-ratio test.

Candidates of one family (dijet with 3, 4, 5 parameters; Bernstein of increasing order)
are fitted from the smallest up, each one warm-started from the previous one so that the
fits are truly nested. Starting from the smallest valid model, the next size is accepted
while its improvement is significant at level ``alpha``; the first insignificant step ends
the search. Every fit and every test is kept for the report.

With deviances ``D1 > D2`` of nested models with ``k1 < k2`` parameters on ``N`` bins:

* F-test: ``F = ((D1 - D2)/(k2 - k1)) / (D2/(N - k2))`` against ``F(k2 - k1, N - k2)``;
* likelihood ratio: ``D1 - D2`` against ``chi2(k2 - k1)`` (Wilks).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from ..errors import ConfigError, FitFailedError
from .background import BackgroundModel, make_background
from .fit import FitResult, fit_binned

__all__ = ["ModelSelection", "SelectionStep", "f_test", "lr_test", "select_background"]


def f_test(dev_small: float, k_small: int, dev_large: float, k_large: int, n_bins: int) -> tuple[float, float]:
    """Fisher's F statistic and its p-value for nested fits.

    Example:
        >>> f, p = f_test(30.0, 3, 20.0, 4, 24)
        >>> round(f, 6), round(p, 4)
        (10.0, 0.0049)
    """
    dof = n_bins - k_large
    dk = k_large - k_small
    if dk <= 0 or dof <= 0:
        raise ConfigError(f"F-test needs k_small < k_large < n_bins, got {k_small}, {k_large}, {n_bins}")
    if dev_large <= 0:
        return float("inf"), 0.0
    f = max(dev_small - dev_large, 0.0) / dk / (dev_large / dof)
    return float(f), float(stats.f.sf(f, dk, dof))


def lr_test(dev_small: float, k_small: int, dev_large: float, k_large: int) -> tuple[float, float]:
    """Likelihood-ratio statistic ``D1 - D2`` and its chi-square p-value.

    Example:
        >>> lr, p = lr_test(30.0, 3, 26.16, 4)
        >>> round(lr, 2), round(p, 3)
        (3.84, 0.05)
    """
    dk = k_large - k_small
    if dk <= 0:
        raise ConfigError(f"likelihood-ratio test needs k_small < k_large, got {k_small}, {k_large}")
    lr = max(dev_small - dev_large, 0.0)
    return float(lr), float(stats.chi2.sf(lr, dk))


@dataclass(frozen=True)
class SelectionStep:
    """One test between nested candidates."""

    smaller: str
    larger: str
    statistic: float
    p_value: float
    larger_accepted: bool


@dataclass(frozen=True, eq=False)
class ModelSelection:
    """The chosen background fit and how it was chosen.

    Attributes:
        method: ``"ftest"``, ``"lrt"`` or ``"fixed"``.
        alpha: significance level of the tests.
        chosen: background-only fit of the chosen model.
        fits: every candidate's fit, by model name (failed fits included).
        steps: the tests made, in order.
    """

    method: str
    alpha: float
    chosen: FitResult
    fits: dict[str, FitResult] = field(default_factory=dict)
    steps: tuple[SelectionStep, ...] = ()

    @property
    def model(self) -> BackgroundModel:
        """The chosen background model."""
        return self.chosen.background_model


def _fit_candidate(counts: np.ndarray, model: BackgroundModel, previous: FitResult | None) -> FitResult:
    starts = [model.start(counts)]
    if previous is not None and previous.valid:
        starts.insert(0, previous.background_model.nested(previous.theta, model))
    best: FitResult | None = None
    for start in starts:
        res = fit_binned(counts, model, start=start, check=False)
        if best is None or (res.valid, -res.nll) > (best.valid, -best.nll):
            best = res
    assert best is not None
    return best


def select_background(
    counts: np.ndarray,
    edges: np.ndarray,
    *,
    family: str = "dijet",
    sizes: tuple[int, ...] = (3, 4, 5),
    method: str = "ftest",
    alpha: float = 0.05,
    sqrt_s: float = 13000.0,
    nodes: int = 3,
) -> ModelSelection:
    """Fit the candidates and choose the number of parameters.

    Args:
        counts: observed counts in the fit range.
        edges: bin edges of the fit range (GeV).
        family: ``"dijet"`` or ``"bernstein"``.
        sizes: candidate sizes (dijet: parameters; Bernstein: order), consecutive.
        method: ``"ftest"``, ``"lrt"``, or ``"fixed"`` (the first size, no test).
        alpha: test level.
        sqrt_s: centre-of-mass energy (GeV) for the dijet function.
        nodes: quadrature nodes per bin for the dijet function.

    Returns:
        The :class:`ModelSelection`.

    Raises:
        FitFailedError: if no candidate fit converges (the last result is attached).
    """
    if method not in ("ftest", "lrt", "fixed"):
        raise ConfigError(f"unknown model-selection method {method!r}; choose ftest, lrt or fixed")
    sizes = tuple(sorted(sizes))
    if not sizes or any(b - a != 1 for a, b in itertools.pairwise(sizes)):
        raise ConfigError(f"candidate sizes must be consecutive integers, got {sizes}")
    if method == "fixed":
        sizes = sizes[:1]
    n = np.asarray(counts, dtype=float)
    fits: dict[str, FitResult] = {}
    previous: FitResult | None = None
    for size in sizes:
        model = make_background(family, size, edges, sqrt_s, nodes)
        res = _fit_candidate(n, model, previous)
        fits[model.name] = res
        previous = res
    valid = [r for r in fits.values() if r.valid]
    if not valid:
        last = list(fits.values())[-1]
        raise FitFailedError(
            f"no background fit converged ({', '.join(f'{k}: {v.message}' for k, v in fits.items())})", last
        )
    chosen = valid[0]
    steps: list[SelectionStep] = []
    for cand in valid[1:]:
        if method == "ftest":
            stat, p = f_test(chosen.deviance, chosen.n_params, cand.deviance, cand.n_params, n.size)
        else:
            stat, p = lr_test(chosen.deviance, chosen.n_params, cand.deviance, cand.n_params)
        accept = p < alpha
        steps.append(SelectionStep(chosen.model, cand.model, stat, p, accept))
        if not accept:
            break
        chosen = cand
    return ModelSelection(method=method, alpha=alpha, chosen=chosen, fits=fits, steps=tuple(steps))
