"""Numbers read off filled histograms: mass sculpting and tail slices.

ROC and AUC from score histograms are :func:`coffea_anomaly.metrics.auc_from_counts` and
:func:`coffea_anomaly.metrics.roc_from_counts`.
"""

from __future__ import annotations

import numpy as np

__all__ = ["jensen_shannon", "tail_slice_start"]


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
