"""Numbers read off filled histograms: ROC/AUC from score histograms, mass sculpting."""

from __future__ import annotations

import numpy as np

__all__ = ["auc_from_counts", "jensen_shannon", "roc_from_counts", "tail_slice_start"]


def roc_from_counts(sig: np.ndarray, bkg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ROC (background efficiency, signal efficiency) of cuts ``score > edge``.

    ``sig`` and ``bkg`` are counts in the same score bins (flow bins included, in order);
    a larger score means more anomalous.
    """
    sig = np.clip(np.asarray(sig, dtype=float), 0, None)
    bkg = np.clip(np.asarray(bkg, dtype=float), 0, None)
    if sig.sum() <= 0 or bkg.sum() <= 0:
        raise ValueError("both histograms need positive content for a ROC curve")
    # efficiency of keeping bins i..end, for every i, plus the empty selection
    s = np.append(np.cumsum(sig[::-1])[::-1], 0.0) / sig.sum()
    b = np.append(np.cumsum(bkg[::-1])[::-1], 0.0) / bkg.sum()
    return b[::-1], s[::-1]


def auc_from_counts(sig: np.ndarray, bkg: np.ndarray) -> float:
    """Area under the ROC curve (probability a signal item scores above a background one;
    ties within a bin count one half), from binned scores."""
    b, s = roc_from_counts(sig, bkg)
    return float(np.trapezoid(s, b))


def jensen_shannon(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen-Shannon divergence (base 2, in [0, 1]) of two histograms (normalised here)."""
    p = np.clip(np.asarray(p, dtype=float), 0, None)
    q = np.clip(np.asarray(q, dtype=float), 0, None)
    if p.sum() <= 0 or q.sum() <= 0:
        return float("nan")
    p, q = p / p.sum(), q / q.sum()
    m = 0.5 * (p + q)

    def kl(a: np.ndarray, b: np.ndarray) -> float:
        nz = a > 0
        return float(np.sum(a[nz] * np.log2(a[nz] / b[nz])))

    return 0.5 * kl(p, m) + 0.5 * kl(q, m)


def tail_slice_start(counts: np.ndarray, fraction: float) -> int:
    """Index of the first bin of the smallest upper tail holding at least ``fraction`` of
    the counts (the 'least background-like x %' slice; exact when edges are quantiles)."""
    c = np.clip(np.asarray(counts, dtype=float), 0, None)
    total = c.sum()
    if total <= 0:
        return len(c)
    tail = np.cumsum(c[::-1])[::-1] / total
    idx = np.nonzero(tail >= fraction - 1e-12)[0]
    return int(idx[-1]) if idx.size else 0
