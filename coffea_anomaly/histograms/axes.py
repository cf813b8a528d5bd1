"""The axes every coffea-anomaly histogram is made of.

Score axes are *fixed before the job* so that chunks merge and any
"least background-like x %" slice can be taken after the job: when a model card
carries the background score quantiles measured at training, the axis edges are
those quantile values, so each such slice is an exact sum of bins.
"""

from __future__ import annotations

from collections.abc import Sequence

import hist
import numpy as np

__all__ = [
    "dataset_axis",
    "mass_axis",
    "mjj_axis",
    "quantile_edges",
    "score_axis",
]


def dataset_axis() -> hist.axis.StrCategory:
    """Growing string category of dataset names."""
    return hist.axis.StrCategory([], growth=True, name="dataset", label="Dataset")


def mass_axis(name: str = "mass", lo: float = 0.0, hi: float = 500.0, bins: int = 100) -> hist.axis.Regular:
    """Jet mass axis in GeV."""
    return hist.axis.Regular(bins, lo, hi, name=name, label=r"$m_{J}$ [GeV]")


def mjj_axis(lo: float = 1000.0, hi: float = 8000.0, width: float = 50.0) -> hist.axis.Regular:
    """Dijet invariant mass axis in GeV, fine enough (50 GeV) for 3 %-wide signals at 2 TeV."""
    bins = int(round((hi - lo) / width))
    return hist.axis.Regular(bins, lo, hi, name="mjj", label=r"$m_{jj}$ [GeV]")


def quantile_edges(quantiles: Sequence[float], values: Sequence[float]) -> np.ndarray:
    """Strictly increasing bin edges from a background quantile table (duplicates dropped)."""
    q = np.asarray(quantiles, dtype=float)
    v = np.asarray(values, dtype=float)
    order = np.argsort(q)
    v = v[order]
    v = v[np.isfinite(v)]
    edges = np.unique(v)
    if edges.size < 2:
        raise ValueError("a quantile table needs at least two distinct finite values")
    return edges


def score_axis(
    name: str = "score",
    *,
    quantiles: Sequence[float] | None = None,
    values: Sequence[float] | None = None,
    max_bins: int | None = None,
    lo: float = 1e-7,
    hi: float = 1.0,
    bins: int = 280,
    label: str | None = None,
) -> hist.axis.Variable | hist.axis.Regular:
    """An anomaly-score axis.

    With a background quantile table (``quantiles``, ``values``) the edges are the
    quantile values (flow bins keep what lies outside); with ``max_bins`` an evenly spread
    subset of them, always keeping the first and last. Without a table: a log-spaced
    regular axis from ``lo`` to ``hi`` with ``bins`` bins (40 per decade by default), or
    ``max_bins`` bins.
    """
    label = label or f"{name} (anomaly score)"
    if quantiles is not None and values is not None and len(values) >= 2:
        edges = quantile_edges(quantiles, values)
        if max_bins is not None and edges.size > max_bins + 1:
            keep = np.unique(np.round(np.linspace(0, edges.size - 1, max_bins + 1)).astype(int))
            edges = edges[keep]
        return hist.axis.Variable(edges, name=name, label=label)
    n = bins if max_bins is None else min(bins, max_bins)
    return hist.axis.Regular(n, lo, hi, transform=hist.axis.transform.log, name=name, label=label)
