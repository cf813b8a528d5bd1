"""Histogram axes and builders shared by the processors (eager and Dask flavours)."""

from __future__ import annotations

from .axes import dataset_axis, mass_axis, mjj_axis, quantile_edges, score_axis
from .factory import is_dask, make_hist

__all__ = [
    "dataset_axis",
    "is_dask",
    "make_hist",
    "mass_axis",
    "mjj_axis",
    "quantile_edges",
    "score_axis",
]
