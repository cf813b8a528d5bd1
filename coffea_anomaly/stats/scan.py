"""Mass scan: the one-sided profile-likelihood test of a resonance at each mass.

At each mass M the background-only and the signal-plus-background fits give

    q0(M) = 2 [NLL(s = 0, theta_hat_hat) - NLL(s_hat, theta_hat)]   if s_hat > 0, else 0,

with the background parameters profiled in both fits and the signal yield ``s`` left
free to go negative. Asymptotically (Wilks/Chernoff, Cowan et al. 2011) q0 follows
``1/2 delta(0) + 1/2 chi2(1)``, so the local significance is ``Z = sqrt(q0)`` and the
local p-value ``p = 1 - Phi(Z)`` (0.5 when there is no excess).

:func:`profile_scan` runs many datasets (the observed one, or pseudo-experiments) through
all masses at once with the vectorised Newton minimiser, warm-started from each dataset's
own background-only fit; :func:`minuit_scan` does the same mass by mass with MINUIT, as a
reference.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

from .background import BackgroundModel
from .fit import fit_binned, signal_start
from .newton import minimize_batch

__all__ = ["ScanResult", "local_p", "minuit_scan", "profile_scan"]


def local_p(q0: np.ndarray) -> np.ndarray:
    """One-sided asymptotic local p-value ``1 - Phi(sqrt(q0))``.

    Example:
        >>> [round(float(v), 5) for v in local_p(np.array([0.0, 1.0, 25.0]))]
        [0.5, 0.15866, 0.0]
    """
    return ndtr(-np.sqrt(np.clip(np.asarray(q0, dtype=float), 0.0, None)))


@dataclass(frozen=True, eq=False)
class ScanResult:
    """Scan of T datasets over M masses (arrays ``(T, M)`` unless noted).

    Attributes:
        masses: the masses ``(M,)``.
        q0: test statistic.
        signal_yield: fitted signal yield (free sign).
        signal_error: its parabolic (HESSE-like) error.
        converged: whether the signal-plus-background fit converged.
        boundary: fits that stopped where an expected count reaches zero with a negative
            yield and no excess at zero yield (q0 = 0 there whatever the exact minimum).
        theta_b: background-only fit parameters ``(T, k)``.
        nll_b: background-only cost ``(T,)``.
        b_converged: whether the background-only fit converged ``(T,)``.
    """

    masses: np.ndarray
    q0: np.ndarray
    signal_yield: np.ndarray
    signal_error: np.ndarray
    converged: np.ndarray
    boundary: np.ndarray
    theta_b: np.ndarray
    nll_b: np.ndarray
    b_converged: np.ndarray

    @property
    def z(self) -> np.ndarray:
        """Local significance ``sqrt(q0)``."""
        return np.sqrt(np.clip(self.q0, 0.0, None))

    @property
    def p_local(self) -> np.ndarray:
        """Local p-value."""
        return local_p(self.q0)

    @property
    def n_failed(self) -> int:
        """Number of fits (background-only and signal-plus-background) that did not converge."""
        return int(np.count_nonzero(~self.converged & ~self.boundary) + np.count_nonzero(~self.b_converged))


def _q0(nll_b: np.ndarray, nll_sb: np.ndarray, s: np.ndarray) -> np.ndarray:
    return np.where(s > 0, np.clip(2.0 * (nll_b - nll_sb), 0.0, None), 0.0)


def profile_scan(
    counts: np.ndarray,
    background: BackgroundModel,
    shapes: np.ndarray,
    masses: np.ndarray,
    theta_start: np.ndarray,
    *,
    tol: float = 1e-8,
    q0_only: bool = False,
) -> ScanResult:
    """Scan T datasets over M masses with the compiled minimiser.

    Args:
        counts: observed counts ``(T, n_bins)``.
        background: background model.
        shapes: signal fractions ``(M, n_bins)`` (one row per mass).
        masses: the masses ``(M,)``.
        theta_start: starting background parameters ``(k,)`` or ``(T, k)``.
        tol: convergence tolerance on the cost.
        q0_only: only q0 is wanted (pseudo-experiments): where the cost does not decrease
            with the signal yield at the background-only minimum, the best yield is not
            positive and q0 = 0 without a fit (yield and error are then NaN).

    Returns:
        The :class:`ScanResult`.
    """
    n = np.atleast_2d(np.asarray(counts, dtype=float))
    t_count, n_mass = n.shape[0], shapes.shape[0]
    start = np.broadcast_to(np.asarray(theta_start, dtype=float), (t_count, background.n_params))
    bfit = minimize_batch(n, background, start, tol=tol)
    k = background.n_params
    rows, cols = np.divmod(np.arange(t_count * n_mass), n_mass)
    mu_b = np.maximum(background.expected(bfit.params), 1e-300)
    slope = (1.0 - n / mu_b) @ shapes.T  # d cost / d s at s = 0, (T, M)
    if q0_only:
        keep = slope.reshape(-1) < 0
        rows, cols = rows[keep], cols[keep]
    x0 = np.zeros((rows.size, k + 1))
    x0[:, :k] = bfit.params[rows]
    sb = minimize_batch(n, background, x0, shapes, rows=rows, mass_index=cols, tol=tol, errors=not q0_only)
    full = {name: np.full((t_count, n_mass), fill) for name, fill in
            (("s", np.nan), ("err", np.nan), ("nll", np.nan), ("ok", 1.0))}
    full["s"][rows, cols] = sb.params[:, k]
    full["nll"][rows, cols] = sb.nll
    full["ok"][rows, cols] = sb.converged
    if not q0_only:
        full["err"][rows, cols] = sb.errors[:, k]
    s = full["s"]
    q0 = np.zeros((t_count, n_mass))
    fitted = np.isfinite(s)
    q0[fitted] = _q0(np.broadcast_to(bfit.nll[:, None], s.shape)[fitted], full["nll"][fitted], s[fitted])
    return ScanResult(
        masses=np.asarray(masses, dtype=float),
        q0=q0,
        signal_yield=s,
        signal_error=full["err"],
        converged=full["ok"].astype(bool),
        boundary=(full["ok"] == 0) & (s <= 0) & (slope >= 0),
        theta_b=bfit.params,
        nll_b=bfit.nll,
        b_converged=bfit.converged,
    )


def minuit_scan(
    counts: np.ndarray,
    background: BackgroundModel,
    shapes: np.ndarray,
    masses: np.ndarray,
    theta_start: np.ndarray,
) -> ScanResult:
    """The same scan for one dataset, mass by mass with MINUIT alone (MIGRAD + HESSE, no
    Newton refinement of the start): the independent reference for :func:`profile_scan`."""
    n = np.asarray(counts, dtype=float)
    bfit = fit_binned(n, background, start=np.asarray(theta_start, dtype=float), check=False, refine=False)
    out = {key: np.zeros(len(masses)) for key in ("q0", "s", "err", "ok")}
    for i, (mass, shape) in enumerate(zip(masses, shapes, strict=True)):
        start = np.append(bfit.theta, signal_start(n, bfit.background, shape))
        res = fit_binned(n, background, shape, mass=float(mass), start=start, check=False, refine=False)
        out["s"][i] = res.values[-1]
        out["err"][i] = res.errors[-1]
        out["ok"][i] = res.valid
        out["q0"][i] = _q0(np.array(bfit.nll), np.array(res.nll), np.array(res.values[-1]))
    return ScanResult(
        masses=np.asarray(masses, dtype=float),
        q0=out["q0"][None],
        signal_yield=out["s"][None],
        signal_error=out["err"][None],
        converged=out["ok"][None].astype(bool),
        boundary=np.zeros((1, len(masses)), dtype=bool),
        theta_b=bfit.theta[None],
        nll_b=np.array([bfit.nll]),
        b_converged=np.array([bfit.valid]),
    )
