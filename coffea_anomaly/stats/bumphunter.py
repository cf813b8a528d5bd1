"""A BumpHunter-style sliding-window scan (Choudalakis, arXiv:1101.0390), model independent.

Every window of ``w`` contiguous bins (``w`` from ``width_min`` to ``width_max``, moved one
bin at a time) compares the observed count ``n`` with the reference ``b`` (here the fitted
background); an excess has the Poisson p-value ``P(N >= n | b) = gammainc(n, b)``, other
windows p = 1. The test statistic is ``t = -ln(min p)``; its global p-value is the fraction
of background-only pseudo-experiments (Poisson around ``b``) with ``t >= t_obs``.

Conventions follow pyBumpHunter's ``BumpHunter1D`` so the two agree on the same input:
empty reference bins at either end are left out, ``width_max`` defaults to half the number
of bins, and ties go to the narrowest, then the leftmost window.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import gammainc

from .combine import z_from_p
from .toys import global_p_value, toy_counts

__all__ = ["BumpHunterResult", "bumphunter", "window_scan"]


@dataclass(frozen=True, eq=False)
class BumpHunterResult:
    """The most significant window and its local and global significance.

    Attributes:
        start: first bin of the window (index into the histogram).
        width: window width in bins.
        mass_range: window edges (GeV).
        local_p: smallest local p-value.
        t_obs: ``-ln local_p``.
        n_obs: observed count in the window.
        n_ref: reference count in the window.
        global_p: fraction of pseudo-experiments with ``t >= t_obs`` (NaN without them).
        global_p_error: its binomial error.
        n_toys: number of pseudo-experiments.
        width_min: smallest width tried.
        width_max: largest width tried.
    """

    start: int
    width: int
    mass_range: tuple[float, float]
    local_p: float
    t_obs: float
    n_obs: float
    n_ref: float
    global_p: float
    global_p_error: float
    n_toys: int
    width_min: int
    width_max: int

    @property
    def local_z(self) -> float:
        """Local significance ``Phi^-1(1 - local_p)``."""
        return float(z_from_p(np.array(self.local_p)))

    @property
    def global_z(self) -> float:
        """Global significance (a lower limit ``Phi^-1(1 - 1/n_toys)`` if no toy exceeded)."""
        if not np.isfinite(self.global_p):
            return float("nan")
        return float(z_from_p(np.array(max(self.global_p, 1.0 / max(self.n_toys, 1)))))


def window_scan(
    data: np.ndarray, ref: np.ndarray, width_min: int, width_max: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Smallest window p-value of each dataset, with the window's start and width.

    Args:
        data: counts ``(T, n_bins)``.
        ref: reference counts ``(n_bins,)``.
        width_min: narrowest window (bins).
        width_max: widest window (bins).

    Returns:
        ``(p_min, start, width)``, each ``(T,)``.

    Example:
        >>> p, s, w = window_scan(np.array([[1.0, 9.0, 1.0]]), np.ones(3), 1, 1)
        >>> int(s[0]), int(w[0]), round(float(p[0]), 6)
        (1, 1, 1e-06)
    """
    data = np.atleast_2d(np.asarray(data, dtype=float))
    ref = np.asarray(ref, dtype=float)
    nonzero = np.flatnonzero(ref)
    lo, hi = int(nonzero[0]), int(nonzero[-1]) + 1
    cum_d = np.concatenate([np.zeros((data.shape[0], 1)), np.cumsum(data, axis=1)], axis=1)
    cum_r = np.concatenate([[0.0], np.cumsum(ref)])
    best = np.ones(data.shape[0])
    start = np.full(data.shape[0], lo)
    width = np.full(data.shape[0], width_min)
    for w in range(width_min, width_max + 1):
        pos = np.arange(lo, hi - w + 1)
        if pos.size == 0:
            continue
        n = cum_d[:, pos + w] - cum_d[:, pos]
        b = np.broadcast_to(cum_r[pos + w] - cum_r[pos], n.shape)
        p = np.ones_like(n)
        excess = (n > b) & (b > 0)
        p[excess] = gammainc(n[excess], b[excess])
        j = np.argmin(p, axis=1)
        pmin = p[np.arange(p.shape[0]), j]
        better = pmin < best
        best = np.where(better, pmin, best)
        start = np.where(better, pos[j], start)
        width = np.where(better, w, width)
    return best, start, width


def bumphunter(
    data: np.ndarray,
    ref: np.ndarray,
    edges: np.ndarray,
    *,
    width_min: int = 1,
    width_max: int | None = None,
    n_toys: int = 1000,
    seed: int = 1,
    chunk: int = 200,
) -> BumpHunterResult:
    """Run the sliding-window scan and its pseudo-experiments.

    Args:
        data: observed counts ``(n_bins,)``.
        ref: reference (background) counts ``(n_bins,)``.
        edges: bin edges (GeV).
        width_min: narrowest window (bins).
        width_max: widest window (bins); default half the number of bins.
        n_toys: pseudo-experiments for the global p-value (0: none).
        seed: seed of the pseudo-experiments (one stream per pseudo-experiment).
        chunk: pseudo-experiments per batch (memory only).

    Returns:
        The :class:`BumpHunterResult`.
    """
    data = np.asarray(data, dtype=float)
    ref = np.asarray(ref, dtype=float)
    if width_max is None:
        width_max = data.size // 2
    width_max = max(width_min, int(width_max))
    p, s, w = window_scan(data[None], ref, width_min, width_max)
    start, width = int(s[0]), int(w[0])
    t_obs = float(-np.log(max(p[0], 1e-300)))
    if n_toys > 0:
        t_toys = np.empty(n_toys)
        for lo in range(0, n_toys, chunk):
            idx = np.arange(lo, min(lo + chunk, n_toys))
            pt, _, _ = window_scan(toy_counts(ref, seed, idx), ref, width_min, width_max)
            t_toys[idx] = -np.log(np.maximum(pt, 1e-300))
        gp, gerr = global_p_value(t_obs, t_toys)
    else:
        gp, gerr = float("nan"), float("nan")
    return BumpHunterResult(
        start=start,
        width=width,
        mass_range=(float(edges[start]), float(edges[start + width])),
        local_p=float(p[0]),
        t_obs=t_obs,
        n_obs=float(data[start : start + width].sum()),
        n_ref=float(ref[start : start + width].sum()),
        global_p=gp,
        global_p_error=gerr,
        n_toys=n_toys,
        width_min=width_min,
        width_max=width_max,
    )
