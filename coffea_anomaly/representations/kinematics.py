"""Small kinematics kernels on flat numpy arrays (float64): 4-momenta, boosts, masses."""

from __future__ import annotations

import numpy as np

__all__ = ["boost_to_rest_frame", "four_momenta", "invariant_mass", "sum_by_jet"]


def four_momenta(pt: np.ndarray, eta: np.ndarray, phi: np.ndarray, mass: np.ndarray) -> np.ndarray:
    """(E, px, py, pz) as a float64 ``(n, 4)`` array from (pt, eta, phi, mass)."""
    pt = np.asarray(pt, dtype=np.float64)
    out = np.empty((len(pt), 4))
    out[:, 1] = pt * np.cos(phi)
    out[:, 2] = pt * np.sin(phi)
    out[:, 3] = pt * np.sinh(np.asarray(eta, dtype=np.float64))
    m = np.asarray(mass, dtype=np.float64)
    out[:, 0] = np.sqrt(out[:, 1] ** 2 + out[:, 2] ** 2 + out[:, 3] ** 2 + m * m)
    return out


def boost_to_rest_frame(p: np.ndarray, frame: np.ndarray) -> np.ndarray:
    """Boost 4-vectors ``p`` (n, 4) into the rest frames ``frame`` (n, 4), row by row.

    Rows whose frame is not time-like (mass² <= 0) are returned unchanged.

    Why not vector's ``boostCM_of_p4``: on 100 000 random (constituent, jet) pairs the two
    agree to ~4e-15 relative for ordinary jets (99.93 % identical after the float32 cast),
    but for nearly massless, very boosted frames (m ≈ 7 MeV at E ≈ 8 TeV) vector's result
    was further from a long-double reference (up to 2757 GeV off, against 844 GeV here).
    Switching would change the constituent arrays without making them better.
    """
    e_f = frame[:, 0]
    p_f = frame[:, 1:]
    mass2 = e_f**2 - np.sum(p_f**2, axis=1)
    ok = (mass2 > 0) & (e_f > 0)
    beta = np.zeros_like(p_f)
    np.divide(p_f, e_f[:, None], out=beta, where=ok[:, None])
    b2 = np.sum(beta**2, axis=1)
    gamma = 1.0 / np.sqrt(1.0 - np.where(ok, b2, 0.0))
    bp = np.sum(beta * p[:, 1:], axis=1)
    coef = np.zeros_like(b2)
    np.divide((gamma - 1.0) * bp, b2, out=coef, where=b2 > 0)
    out = np.empty_like(p)
    out[:, 0] = gamma * (p[:, 0] - bp)
    out[:, 1:] = p[:, 1:] + (coef - gamma * p[:, 0])[:, None] * beta
    return np.where(ok[:, None], out, p)


def invariant_mass(p: np.ndarray) -> np.ndarray:
    """Mass of 4-vectors ``p`` (n, 4) as (E, px, py, pz); space-like ones give 0."""
    m2 = p[:, 0] ** 2 - np.sum(p[:, 1:] ** 2, axis=1)
    return np.sqrt(np.maximum(m2, 0.0))


def sum_by_jet(p: np.ndarray, jet_index: np.ndarray, n_jets: int) -> np.ndarray:
    """Sum the rows of ``p`` (n, k) that share a jet index: a ``(n_jets, k)`` array."""
    sums = [np.bincount(jet_index, weights=p[:, k], minlength=n_jets) for k in range(p.shape[1])]
    # (bincount of nothing is int64: cast)
    return np.stack(sums, axis=1).reshape(n_jets, p.shape[1]).astype(np.float64)
