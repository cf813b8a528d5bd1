"""Global significance: background-only pseudo-experiments and the Gross–Vitells formula.

Pseudo-experiments are Poisson draws from the fitted background of every category. Each
is analysed like the data: background-only fit of the chosen model, signal-plus-background
fits at every mass, the per-category q0 curves, their Fisher and joint-likelihood
combinations, and the largest excess over the mass range. The global p-value is the
fraction of pseudo-experiments whose largest excess is at least the observed one.

Pseudo-experiment ``i`` draws its counts from its own random stream
``SeedSequence(seed, spawn_key=(i,))`` and every fit is computed independently, so the
results do not depend on the chunking or on the number of threads.

Gross and Vitells (Eur. Phys. J. C 70 (2010) 525) bound the tail of the maximum of a
chi-square(1) process ``u(M)``: ``P(max u > c) ~ P(chi2(1) > c)/2 + N(c0) exp(-(c - c0)/2)``,
with ``N(c0)`` the mean number of up-crossings of a low reference level ``c0``. It is
applied to ``u = Z^2`` of the local significance curve; ``N(c0)`` is counted on the
pseudo-experiments (and, for comparison, on the observed curve).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

from .background import BackgroundModel
from .combine import fisher, joint_q0, z_from_p
from .newton import num_threads
from .scan import local_p, profile_scan

__all__ = [
    "ToyCategory",
    "ToyResult",
    "combined_curves",
    "global_p_value",
    "gross_vitells",
    "run_toys",
    "toy_counts",
    "upcrossings",
]


@dataclass(frozen=True, eq=False)
class ToyCategory:
    """What the pseudo-experiments need from one category.

    Attributes:
        background: the chosen background model.
        expected: fitted background counts per bin (the Poisson means).
        theta: fitted background parameters (warm start).
        shapes: signal fractions per mass ``(M, n_bins)``.
    """

    background: BackgroundModel
    expected: np.ndarray
    theta: np.ndarray
    shapes: np.ndarray


@dataclass(frozen=True, eq=False)
class ToyResult:
    """Per pseudo-experiment summaries (arrays ``(n_toys,)`` unless noted).

    Attributes:
        max_q0: largest q0 per category ``(n_toys, C)``.
        joint_z: largest joint-likelihood local significance.
        fisher_z: largest Fisher local significance.
        joint_crossings: up-crossings of the reference level by the joint ``Z^2`` curve.
        fisher_crossings: same for the Fisher curve.
        n_failed: fits that did not converge, per pseudo-experiment.
        seed: the seed used.
    """

    max_q0: np.ndarray
    joint_z: np.ndarray
    fisher_z: np.ndarray
    joint_crossings: np.ndarray
    fisher_crossings: np.ndarray
    n_failed: np.ndarray
    seed: int

    @property
    def n_toys(self) -> int:
        """Number of pseudo-experiments."""
        return int(self.joint_z.size)


def toy_counts(expected: np.ndarray, seed: int, indices: Sequence[int] | np.ndarray) -> np.ndarray:
    """Poisson counts of the pseudo-experiments ``indices`` (one stream per index).

    Example:
        >>> a = toy_counts(np.full(3, 5.0), 1, [0, 1, 2])
        >>> b = toy_counts(np.full(3, 5.0), 1, [2])
        >>> bool((a[2] == b[0]).all())
        True
    """
    mu = np.asarray(expected, dtype=float)
    out = np.empty((len(indices), mu.size))
    for row, i in enumerate(indices):
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(int(i),)))
        out[row] = rng.poisson(mu)
    return out


def upcrossings(u: np.ndarray, level: float) -> np.ndarray:
    """Number of up-crossings of ``level`` along the last axis.

    Example:
        >>> int(upcrossings(np.array([0.0, 2.0, 0.5, 3.0, 3.0, 0.0]), 1.0))
        2
    """
    u = np.asarray(u, dtype=float)
    return np.sum((u[..., :-1] <= level) & (u[..., 1:] > level), axis=-1)


def gross_vitells(u: float, n_ref: float, level: float) -> float:
    """Global p-value of a maximum ``u = Z^2`` of a chi-square(1)-like one-sided scan.

    Example:
        >>> round(gross_vitells(9.0, 2.0, 1.0), 5)
        0.03798
    """
    u = max(float(u), 0.0)
    p = float(ndtr(-np.sqrt(u))) + float(n_ref) * float(np.exp(-(u - level) / 2.0))
    return min(p, 1.0)


def global_p_value(observed: float, toys: np.ndarray) -> tuple[float, float]:
    """Fraction of pseudo-experiments at least as extreme, and its binomial error."""
    toys = np.asarray(toys, dtype=float)
    n = toys.size
    k = int(np.count_nonzero(toys >= observed))
    p = k / n
    return p, float(np.sqrt(max(p * (1 - p), 1.0 / n) / n))


def combined_curves(q0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Joint-likelihood and Fisher local significances from per-category q0 ``(..., C, M)``."""
    _, p_joint = joint_q0(np.moveaxis(q0, -2, -1))
    p_fisher = fisher(np.moveaxis(local_p(q0), -2, -1))
    return z_from_p(p_joint), z_from_p(p_fisher)


def run_toys(
    categories: Sequence[ToyCategory],
    masses: np.ndarray,
    n_toys: int,
    *,
    seed: int = 1,
    threads: int | None = None,
    chunk: int = 50,
    level: float = 1.0,
    progress: bool = False,
) -> ToyResult:
    """Analyse ``n_toys`` background-only pseudo-experiments.

    Args:
        categories: the categories (fitted backgrounds and signal shapes).
        masses: scan masses ``(M,)``.
        n_toys: number of pseudo-experiments.
        seed: seed of the random streams.
        threads: threads of the compiled minimiser (None: numba's default).
        chunk: pseudo-experiments per batch (memory only; results do not depend on it).
        level: the Gross–Vitells reference level ``c0`` (in ``Z^2``).
        progress: show a progress bar on stderr.

    Returns:
        The :class:`ToyResult`.
    """
    from tqdm import tqdm

    n_cat = len(categories)
    expected = np.concatenate([c.expected for c in categories])
    splits = np.cumsum([c.expected.size for c in categories])[:-1]
    max_q0 = np.zeros((n_toys, n_cat))
    joint_z = np.zeros(n_toys)
    fisher_z = np.zeros(n_toys)
    crossings = np.zeros((2, n_toys), dtype=int)
    failed = np.zeros(n_toys, dtype=int)
    bar = tqdm(total=n_toys, desc="pseudo-experiments", unit="toy", file=sys.stderr,
               disable=not progress or not sys.stderr.isatty())
    with num_threads(threads), bar:
        for lo in range(0, n_toys, chunk):
            idx = np.arange(lo, min(lo + chunk, n_toys))
            counts = np.split(toy_counts(expected, seed, idx), splits, axis=1)
            q0 = np.zeros((idx.size, n_cat, len(masses)))
            for c, (cat, n) in enumerate(zip(categories, counts, strict=True)):
                res = profile_scan(n, cat.background, cat.shapes, masses, cat.theta, q0_only=True)
                q0[:, c] = res.q0
                failed[idx] += np.count_nonzero(~res.converged, axis=1) + (~res.b_converged)
            z_joint, z_fisher = combined_curves(q0)
            max_q0[idx] = q0.max(axis=2)
            joint_z[idx] = z_joint.max(axis=1)
            fisher_z[idx] = z_fisher.max(axis=1)
            crossings[0, idx] = upcrossings(np.clip(z_joint, 0, None) ** 2, level)
            crossings[1, idx] = upcrossings(np.clip(z_fisher, 0, None) ** 2, level)
            bar.update(idx.size)
    return ToyResult(max_q0=max_q0, joint_z=joint_z, fisher_z=fisher_z, joint_crossings=crossings[0],
                     fisher_crossings=crossings[1], n_failed=failed, seed=seed)
