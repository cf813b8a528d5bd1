"""The binned Poisson likelihood shared by every fit (iminuit and the batched solver).

The cost is half the Poisson deviance (Baker–Cousins "likelihood chi-square"),

    NLL(mu) = sum_i [mu_i - n_i + n_i ln(n_i / mu_i)],

which differs from -ln L by a constant only, so likelihood ratios are unchanged while the
values stay O(number of bins) (good for the minimiser's tolerance). ``2 NLL`` is the
deviance used as goodness of fit by the F-test.

A signal yield allowed to go negative can push an expected count to or below zero,
where the Poisson term is undefined. Below ``EPS`` the logarithm is continued by its
second-order Taylor expansion with an extra unit of curvature, so the cost stays finite,
smooth (C1) and convex in ``mu``; a fit never stops there unless the data force it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .background import BackgroundModel

__all__ = ["EPS", "expected", "gradient_hessian", "nll", "nll_terms", "saturated"]

#: expected count below which the Poisson log term is continued quadratically
EPS = 1e-8


def saturated(counts: np.ndarray) -> np.ndarray:
    """Per-bin value of ``n ln n - n`` (0 for empty bins), the saturated-model offset."""
    n = np.asarray(counts, dtype=float)
    out = np.zeros_like(n)
    pos = n > 0
    out[pos] = n[pos] * np.log(n[pos]) - n[pos]
    return out


def nll_terms(
    mu: np.ndarray, counts: np.ndarray, sat: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-bin cost and its first two derivatives with respect to ``mu``.

    Args:
        mu: expected counts, any shape broadcastable with ``counts``.
        counts: observed counts.
        sat: :func:`saturated` of ``counts`` (computed if not given).

    Returns:
        ``(t, dt/dmu, d2t/dmu2)``, each of the broadcast shape.
    """
    n = np.asarray(counts, dtype=float)
    if sat is None:
        sat = saturated(n)
    mu = np.asarray(mu, dtype=float)
    safe = np.maximum(mu, EPS)
    log_mu = np.log(safe)
    t = mu - n * log_mu + sat
    dt = 1.0 - n / safe
    d2t = n / (safe * safe)
    low = mu < EPS
    if np.any(low):
        n_b = np.broadcast_to(n, mu.shape)
        d = mu - EPS
        c = (n_b + 1.0) / (EPS * EPS)
        t = np.where(low, t - n_b * d / EPS + 0.5 * c * d * d, t)
        dt = np.where(low, dt + c * d, dt)
        d2t = np.where(low, c, d2t)
    return t, dt, d2t


def nll(mu: np.ndarray, counts: np.ndarray, sat: np.ndarray | None = None) -> np.ndarray:
    """Half the Poisson deviance, summed over the last (bin) axis."""
    n = np.asarray(counts, dtype=float)
    if sat is None:
        sat = saturated(n)
    mu = np.asarray(mu, dtype=float)
    if np.all(mu >= EPS):
        return np.sum(mu - n * np.log(mu) + sat, axis=-1)
    return np.sum(nll_terms(mu, n, sat)[0], axis=-1)


def expected(x: np.ndarray, background: BackgroundModel, shapes: np.ndarray | None) -> np.ndarray:
    """Expected counts ``(P, n_bins)`` of background (+ signal) for parameters ``x`` ``(P, k[+1])``."""
    k = background.n_params
    mu = background.expected(x[:, :k])
    return mu if shapes is None else mu + x[:, k : k + 1] * shapes


def gradient_hessian(
    x: np.ndarray, n: np.ndarray, sat: np.ndarray, background: BackgroundModel, shapes: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Gradient ``(P, K)`` and exact Hessian ``(P, K, K)`` of the cost of each fit."""
    k = background.n_params
    mu, jac, curvature = background.derivatives(x[:, :k])
    if shapes is not None:
        mu = mu + x[:, k : k + 1] * shapes
        full = np.empty((*jac.shape[:-1], k + 1))
        full[..., :k] = jac
        full[..., k] = shapes
        jac = full
    _, dt, d2t = nll_terms(mu, n, sat)
    g = np.einsum("pn,pnk->pk", dt, jac)
    hess = np.matmul(np.swapaxes(jac * d2t[..., None], 1, 2), jac)
    if curvature is not None:
        hess[:, :k, :k] += curvature(dt)
    return g, hess
