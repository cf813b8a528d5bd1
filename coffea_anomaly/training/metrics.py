"""ROC curves, AUC and score quantiles in plain numpy (no scikit-learn).

Convention: a larger score is more anomalous (signal-like); a jet or event is *selected*
when its score is at or above the threshold.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..errors import InputDataError

__all__ = ["DEFAULT_QUANTILES", "roc_auc", "roc_curve", "score_quantiles"]

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
    scores = np.concatenate([s, b])
    is_sig = np.concatenate([ws, np.zeros_like(wb)])
    is_bkg = np.concatenate([np.zeros_like(ws), wb])
    order = np.argsort(-scores, kind="stable")
    scores = scores[order]
    tp = np.cumsum(is_sig[order])
    fp = np.cumsum(is_bkg[order])
    # one point per distinct threshold: the last index of each run of equal scores
    last = np.r_[np.flatnonzero(np.diff(scores) != 0), scores.size - 1]
    tpr = np.r_[0.0, tp[last] / ws.sum()]
    fpr = np.r_[0.0, fp[last] / wb.sum()]
    thresholds = np.r_[np.inf, scores[last]]
    return fpr, tpr, thresholds


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
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2.0))


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
