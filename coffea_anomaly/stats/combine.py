"""Combining independent categories at a common signal mass.

Two combinations, both reported:

* **Fisher's method** on the categories' local p-values: ``X = -2 sum ln p_c`` follows
  ``chi2(2C)`` for C independent uniform p-values (the QUAK paper's choice).
  One-sided p-values are capped at 1/2 (no excess), which makes it slightly conservative;
  the pseudo-experiments calibrate it exactly.
* **Joint likelihood**: the product of the categories' likelihoods with a common signal
  mass, independent background parameters and independent non-negative signal yields
  (a signal's share per category is not known in a model-independent search). It
  factorises, so ``q0 = sum_c q0_c``, whose asymptotic law is the chi-bar-square mixture
  ``sum_{j=1..C} binom(C, j) 2^-C chi2(j)``, each category adding a ``chi2(1)`` with
  probability one half.
"""

from __future__ import annotations

import numpy as np
from scipy import stats
from scipy.special import comb, ndtri

__all__ = ["chibar2_sf", "fisher", "joint_q0", "z_from_p"]


def z_from_p(p: np.ndarray) -> np.ndarray:
    """One-sided significance ``Z = Phi^-1(1 - p)``.

    Example:
        >>> [round(float(z), 3) + 0.0 for z in z_from_p(np.array([0.5, 0.0013499]))]
        [0.0, 3.0]
    """
    p = np.clip(np.asarray(p, dtype=float), 1e-300, 1.0)
    return -ndtri(p)


def fisher(p_values: np.ndarray, axis: int = -1) -> np.ndarray:
    """Fisher's combined p-value of independent p-values along ``axis``.

    Example:
        >>> round(float(fisher(np.array([0.01, 0.01]))), 6)
        0.001021
    """
    p = np.clip(np.asarray(p_values, dtype=float), 1e-300, 1.0)
    x = -2.0 * np.sum(np.log(p), axis=axis)
    return stats.chi2.sf(x, 2 * p.shape[axis])


def chibar2_sf(q: np.ndarray, n_categories: int) -> np.ndarray:
    """Survival function of ``sum`` of ``n`` independent ``1/2 delta(0) + 1/2 chi2(1)``.

    For ``q > 0`` it is ``sum_{j>=1} binom(n, j) 2^-n P(chi2(j) > q)``; for one category
    it is the one-sided p-value ``1 - Phi(sqrt(q))``.

    Example:
        >>> round(float(chibar2_sf(np.array(4.0), 1)), 5)
        0.02275
    """
    q = np.asarray(q, dtype=float)
    out = np.zeros_like(q)
    for j in range(1, n_categories + 1):
        out = out + comb(n_categories, j) * 0.5**n_categories * stats.chi2.sf(np.clip(q, 0.0, None), j)
    return out


def joint_q0(q0: np.ndarray, axis: int = -1) -> tuple[np.ndarray, np.ndarray]:
    """Joint-likelihood ``q0`` (sum over categories) and its asymptotic p-value.

    Example:
        >>> q, p = joint_q0(np.array([4.0, 0.0]))
        >>> float(q), round(float(p), 5)
        (4.0, 0.05658)
    """
    q0 = np.asarray(q0, dtype=float)
    total = np.sum(np.clip(q0, 0.0, None), axis=axis)
    return total, chibar2_sf(total, q0.shape[axis])
