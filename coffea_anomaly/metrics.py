"""ROC curves, AUC and score quantiles in plain numpy (no scikit-learn, no torch).

The one ROC/AUC implementation of the package, for scores item by item (training,
``coffea-anomaly evaluate``) and for scores already filled into histograms (run summaries,
demo): an unbinned ROC is the binned one with one bin per distinct score.

Convention: a larger score is more anomalous (signal-like); a jet or event is *selected*
when its score is at or above the threshold.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .errors import InputDataError

__all__ = [
    "DEFAULT_QUANTILES",
    "auc_from_counts",
    "auc_text",
    "background_rejection_at",
    "mass_by_score_quantile",
    "mass_sculpting_jsd",
    "max_significance_improvement",
    "roc_auc",
    "roc_curve",
    "roc_from_counts",
    "score_quantiles",
    "signal_efficiency_at",
]


def _quantile_grid() -> tuple[float, ...]:
    """0..0.9 in steps of 0.02, 0.9..0.99 in 0.002, 0.99..0.999 in 0.0002, then 0.9995, 0.9999
    and 1: the processors use these values as score-axis edges, so every 'least
    background-like x %' slice down to 0.01 % is a sum of whole bins."""
    parts = [np.linspace(0.0, 0.9, 46), np.linspace(0.9, 0.99, 46), np.linspace(0.99, 0.999, 46),
             np.array([0.9995, 0.9999, 1.0])]
    return tuple(float(round(v, 6)) for v in np.unique(np.concatenate(parts)))


#: background score quantiles stored in every model card (fine: they become histogram edges)
DEFAULT_QUANTILES: tuple[float, ...] = _quantile_grid()


def _as_scores(values: ArrayLike, what: str) -> NDArray[np.float64]:
    arr = np.asarray(values, dtype=np.float64).reshape(-1)
    if arr.size == 0:
        raise InputDataError(f"no {what} scores to compute a ROC curve from")
    if not np.all(np.isfinite(arr)):
        bad = int(np.count_nonzero(~np.isfinite(arr)))
        raise InputDataError(f"{bad} of {arr.size} {what} scores are NaN or infinite")
    return arr


def _as_weights(weights: ArrayLike | None, n: int, what: str) -> NDArray[np.float64]:
    if weights is None:
        return np.ones(n)
    w = np.asarray(weights, dtype=np.float64).reshape(-1)
    if w.shape != (n,):
        raise InputDataError(f"{what} weights have {w.size} entries for {n} scores")
    if not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise InputDataError(f"{what} weights must be finite, non-negative and not all zero")
    return w


def roc_curve(
    signal: ArrayLike,
    background: ArrayLike,
    signal_weights: ArrayLike | None = None,
    background_weights: ArrayLike | None = None,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Background and signal efficiencies for every distinct score threshold.

    Args:
        signal: scores of signal items.
        background: scores of background items.
        signal_weights: optional non-negative per-item weights of the signal.
        background_weights: optional non-negative per-item weights of the background.

    Returns:
        ``(fpr, tpr, thresholds)``: background efficiency, signal efficiency and the
        threshold (select ``score >= threshold``), from the strictest cut to the loosest;
        the curve starts at (0, 0) with threshold ``+inf`` and ends at (1, 1).

    Example:
        >>> fpr, tpr, thr = roc_curve([2.0, 3.0], [1.0, 2.0])
        >>> fpr.tolist(), tpr.tolist()
        ([0.0, 0.0, 0.5, 1.0], [0.0, 0.5, 1.0, 1.0])
    """
    s = _as_scores(signal, "signal")
    b = _as_scores(background, "background")
    ws = _as_weights(signal_weights, s.size, "signal")
    wb = _as_weights(background_weights, b.size, "background")
    # one bin per distinct score, in increasing order
    scores, bin_of = np.unique(np.concatenate([s, b]), return_inverse=True)
    sig = np.bincount(bin_of[: s.size], weights=ws, minlength=scores.size)
    bkg = np.bincount(bin_of[s.size :], weights=wb, minlength=scores.size)
    fpr, tpr = _roc(sig, bkg)
    return fpr, tpr, np.r_[np.inf, scores[::-1]]


def roc_auc(
    signal: ArrayLike,
    background: ArrayLike,
    signal_weights: ArrayLike | None = None,
    background_weights: ArrayLike | None = None,
) -> float:
    """Area under the ROC curve: the probability that a signal item scores above a background one.

    Ties count one half. 1 means perfect separation, 0.5 no separation.

    Example:
        >>> roc_auc([3.0, 4.0], [1.0, 2.0])
        1.0
    """
    fpr, tpr, _ = roc_curve(signal, background, signal_weights, background_weights)
    return _area(fpr, tpr)


def max_significance_improvement(
    signal: ArrayLike,
    background: ArrayLike,
    signal_weights: ArrayLike | None = None,
    background_weights: ArrayLike | None = None,
    min_background_efficiency: float = 1e-3,
) -> tuple[float, float, float]:
    """The largest significance improvement ε_S/√ε_B over all thresholds with ε_B ≥ a floor.

    The floor keeps the maximum away from the last few background items, where ε_B (and so
    the ratio) is pure statistical noise.

    Returns:
        ``(sic, eps_s, eps_b)`` at the maximum.

    Example:
        >>> max_significance_improvement([3.0, 4.0], [1.0, 2.0, 3.5, 0.5], min_background_efficiency=0.25)
        (2.0, 1.0, 0.25)
    """
    fpr, tpr, _ = roc_curve(signal, background, signal_weights, background_weights)
    ok = fpr >= min_background_efficiency
    if not np.any(ok):
        raise InputDataError(f"no threshold keeps a background efficiency >= {min_background_efficiency}")
    sic = np.where(ok, tpr / np.sqrt(np.where(ok, fpr, 1.0)), -np.inf)
    i = int(np.argmax(sic))
    return float(sic[i]), float(tpr[i]), float(fpr[i])


def auc_text(auc: float, digits: int = 3) -> str:
    """The AUC as text; below 0.5 (the signal scores *lower*, e.g. a QUAK signal prior's loss)
    with the reversed value beside it, so that 0.142 is not misread as a poor tagger. A NaN
    (no items to compare) is printed as it is, without the note."""
    text = f"{auc:.{digits}f}"
    return text if not auc < 0.5 else f"{text} (the signal scores lower: 1 − AUC = {1.0 - auc:.{digits}f})"


def roc_from_counts(sig: ArrayLike, bkg: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """ROC (background efficiency, signal efficiency) of the cuts at every bin edge, from histograms.

    Args:
        sig: signal counts in score bins (flow bins included), in increasing score order.
        bkg: background counts in the same bins. Negative counts are taken as zero.

    Returns:
        ``(fpr, tpr)`` from the empty selection (0, 0) to keeping every bin (1, 1).

    Raises:
        ValueError: either histogram has no positive content.
    """
    s = np.clip(np.asarray(sig, dtype=np.float64), 0, None)
    b = np.clip(np.asarray(bkg, dtype=np.float64), 0, None)
    if s.sum() <= 0 or b.sum() <= 0:
        raise ValueError("both histograms need positive content for a ROC curve")
    return _roc(s, b)


def auc_from_counts(sig: ArrayLike, bkg: ArrayLike) -> float:
    """Area under the ROC curve from binned scores (see :func:`roc_from_counts`).

    The probability that a signal item scores above a background one; ties within a bin
    count one half.
    """
    return _area(*roc_from_counts(sig, bkg))


def _roc(sig: NDArray[np.float64], bkg: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Efficiencies of keeping the highest 0, 1, ..., all bins (non-negative weights per bin,
    increasing score, positive totals)."""
    tpr = np.r_[0.0, np.cumsum(sig[::-1])] / sig.sum()
    fpr = np.r_[0.0, np.cumsum(bkg[::-1])] / bkg.sum()
    return fpr, tpr


def _area(fpr: NDArray[np.float64], tpr: NDArray[np.float64]) -> float:
    """Trapezoidal area under a ROC curve."""
    return float(np.trapezoid(tpr, fpr))


def score_quantiles(
    scores: ArrayLike,
    q: Sequence[float] = DEFAULT_QUANTILES,
    weights: ArrayLike | None = None,
) -> list[float]:
    """Quantiles of a score distribution (optionally weighted), as plain floats.

    Unweighted, this is ``numpy.quantile`` (linear interpolation). Weighted, it is the
    inverse of the weighted empirical CDF, interpolated linearly between item midpoints.

    Args:
        scores: the scores (e.g. of the background the model was trained on).
        q: the quantile levels, each in [0, 1].
        weights: optional non-negative per-item weights.
    """
    x = _as_scores(scores, "background")
    levels = np.asarray(q, dtype=np.float64)
    if np.any((levels < 0) | (levels > 1)):
        raise InputDataError(f"quantile levels must lie in [0, 1], got {list(q)}")
    if weights is None:
        return [float(v) for v in np.quantile(x, levels)]
    w = _as_weights(weights, x.size, "background")
    order = np.argsort(x, kind="stable")
    x, w = x[order], w[order]
    cdf = (np.cumsum(w) - 0.5 * w) / w.sum()
    return [float(v) for v in np.interp(levels, cdf, x)]


def signal_efficiency_at(
    signal: ArrayLike,
    background: ArrayLike,
    background_efficiency: float,
    signal_weights: ArrayLike | None = None,
    background_weights: ArrayLike | None = None,
) -> float:
    """Signal efficiency ε_S at a background efficiency ε_B, linear between ROC points.

    Farina et al.'s E10 and E100 are ``signal_efficiency_at(s, b, 0.1)`` and ``(s, b, 0.01)``.

    Example:
        >>> signal_efficiency_at([3.0, 4.0], [1.0, 2.0, 3.5, 0.5], 0.25)
        1.0
    """
    if not 0 < background_efficiency <= 1:
        raise InputDataError(f"background efficiency must lie in (0, 1], got {background_efficiency}")
    fpr, tpr, _ = roc_curve(signal, background, signal_weights, background_weights)
    # at a repeated ε_B the largest ε_S counts (the ROC is a staircase)
    return _interp_max(background_efficiency, fpr, tpr)


def background_rejection_at(
    signal: ArrayLike,
    background: ArrayLike,
    signal_efficiency: float,
    signal_weights: ArrayLike | None = None,
    background_weights: ArrayLike | None = None,
) -> float:
    """Background rejection 1/ε_B at a signal efficiency ε_S (ε_B linear between ROC points;
    ``inf`` when no background passes).

    Example:
        >>> background_rejection_at([3.0, 4.0], [1.0, 2.0, 3.5, 0.5], 1.0)
        4.0
    """
    if not 0 < signal_efficiency <= 1:
        raise InputDataError(f"signal efficiency must lie in (0, 1], got {signal_efficiency}")
    fpr, tpr, _ = roc_curve(signal, background, signal_weights, background_weights)
    # the smallest ε_B reaching this ε_S: interpolate ε_B(ε_S) over the first point of each ε_S
    eps_b = _interp_min(signal_efficiency, tpr, fpr)
    return float(np.inf) if eps_b <= 0 else float(1.0 / eps_b)


def _interp_max(x: float, xp: NDArray[np.float64], fp: NDArray[np.float64]) -> float:
    """``f(x)`` on a non-decreasing curve, the largest ``f`` where ``xp`` repeats."""
    last = np.r_[xp[1:] != xp[:-1], True]
    return float(np.interp(x, xp[last], fp[last]))


def _interp_min(x: float, xp: NDArray[np.float64], fp: NDArray[np.float64]) -> float:
    """``f(x)`` on a non-decreasing curve, the smallest ``f`` where ``xp`` repeats."""
    first = np.r_[True, xp[1:] != xp[:-1]]
    return float(np.interp(x, xp[first], fp[first]))


def _tail_mask(scores: NDArray[np.float64], fraction: float, weights: ArrayLike | None) -> NDArray[np.bool_]:
    """The items among the ``fraction`` least background-like (score at or above the
    weighted ``1 - fraction`` quantile)."""
    if not 0 < fraction <= 1:
        raise InputDataError(f"the kept fraction must lie in (0, 1], got {fraction}")
    if weights is None:  # by rank: exactly ceil(fraction · n) items (ties broken by order)
        n_keep = int(np.ceil(fraction * scores.size - 1e-9))
        mask = np.zeros(scores.size, dtype=bool)
        mask[np.argsort(scores, kind="stable")[scores.size - n_keep :]] = True
        return mask
    threshold = score_quantiles(scores, [1.0 - fraction], weights)[0]
    return scores >= threshold


def mass_sculpting_jsd(
    mass: ArrayLike,
    scores: ArrayLike,
    fraction: float,
    bins: int | ArrayLike = 30,
    weights: ArrayLike | None = None,
) -> float:
    """Jensen–Shannon divergence (base 2, in [0, 1]) of the background mass distribution of
    the ``fraction`` least background-like items against that of all items.

    0 means a cut on the score leaves the mass shape untouched; the same divergence as the
    run summaries' ``jsd_top_<fraction>`` (``scipy.spatial.distance.jensenshannon`` gives
    its square root).

    Args:
        mass: background jet masses (or m_jj), one per item.
        scores: the model's scores of the same items (larger = more anomalous).
        fraction: share of the items kept by the cut (0.05: the 5 % least background-like).
        bins: number of equal-width bins over the mass range of all items, or the edges.
        weights: optional per-item weights.
    """
    from scipy.spatial.distance import jensenshannon

    m = _as_scores(mass, "mass")
    s = _as_scores(scores, "background")
    if m.shape != s.shape:
        raise InputDataError(f"{m.size} masses for {s.size} scores")
    w = None if weights is None else _as_weights(weights, s.size, "background")
    edges = np.histogram_bin_edges(m, bins=bins) if np.ndim(bins) == 0 else np.asarray(bins, dtype=float)
    keep = _tail_mask(s, fraction, w)
    full, _ = np.histogram(m, edges, weights=w)
    tail, _ = np.histogram(m[keep], edges, weights=None if w is None else w[keep])
    if tail.sum() <= 0:
        return float("nan")
    return float(jensenshannon(full, tail, base=2) ** 2)


def mass_by_score_quantile(
    mass: ArrayLike, scores: ArrayLike, n: int = 10, weights: ArrayLike | None = None
) -> list[float]:
    """Mean mass in each of ``n`` score quantile slices (deciles for ``n = 10``), from the
    most background-like slice to the least.

    A score that does not sculpt the mass gives a flat list.

    Example:
        >>> mass_by_score_quantile([10, 20, 30, 40], [0.1, 0.2, 0.3, 0.4], n=2)
        [15.0, 35.0]
    """
    m = _as_scores(mass, "mass")
    s = _as_scores(scores, "background")
    if m.shape != s.shape:
        raise InputDataError(f"{m.size} masses for {s.size} scores")
    w = np.ones(s.size) if weights is None else _as_weights(weights, s.size, "background")
    order = np.argsort(s, kind="stable")
    cum = np.cumsum(w[order]) / w.sum()
    slice_of = np.minimum((np.ceil(cum * n - 1e-9) - 1).astype(int), n - 1).clip(0)
    out = []
    for k in range(n):
        sel = order[slice_of == k]
        out.append(float(np.average(m[sel], weights=w[sel])) if sel.size and w[sel].sum() > 0 else float("nan"))
    return out
