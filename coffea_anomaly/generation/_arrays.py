"""Small helpers for flat (numpy) views of jagged per-event lists."""

from __future__ import annotations

import numpy as np

__all__ = ["group_index", "local_index", "starts"]


def starts(counts: np.ndarray) -> np.ndarray:
    """Start offset of each group in the flat array, for groups of the given sizes.

    >>> starts(np.array([2, 0, 3])).tolist()
    [0, 2, 2]
    """
    counts = np.asarray(counts, dtype=np.int64)
    return np.cumsum(counts) - counts


def group_index(counts: np.ndarray) -> np.ndarray:
    """Group number of every flat element.

    >>> group_index(np.array([2, 0, 3])).tolist()
    [0, 0, 2, 2, 2]
    """
    counts = np.asarray(counts, dtype=np.int64)
    return np.repeat(np.arange(len(counts)), counts)


def local_index(counts: np.ndarray) -> np.ndarray:
    """Position of every flat element within its group.

    >>> local_index(np.array([2, 0, 3])).tolist()
    [0, 1, 0, 1, 2]
    """
    counts = np.asarray(counts, dtype=np.int64)
    return np.arange(int(counts.sum())) - np.repeat(starts(counts), counts)
