"""Hand-made jets whose answers are known, shared by the representation tests."""

from __future__ import annotations

import math
from collections.abc import Sequence

import awkward as ak
import numpy as np
import vector

Particle = (
    tuple[float, float, float]
    | tuple[float, float, float, float]
    | tuple[float, float, float, float, int]
)


def make_jets(jets: Sequence[Sequence[Particle]]) -> tuple[ak.Array, ak.Array]:
    """(jets, constituents) from lists of (pt, eta, phi[, mass[, charge]]) per jet.

    The jet 4-vectors are the constituent sums (an empty jet gets pt = eta = phi = mass = 0).
    """
    records = []
    for parts in jets:
        records.append(
            [
                {
                    "pt": float(p[0]),
                    "eta": float(p[1]),
                    "phi": float(p[2]),
                    "mass": float(p[3]) if len(p) > 3 else 0.0,
                    "charge": int(p[4]) if len(p) > 4 else 0,
                }
                for p in parts
            ]
        )
    constituents = ak.Array(
        records, with_name="Momentum4D", behavior=vector.backends.awkward.behavior
    )
    total = [_sum(parts) for parts in jets]
    jet_array = ak.Array(total)
    return jet_array, constituents


def _sum(parts: Sequence[Particle]) -> dict[str, float]:
    if not parts:
        return {"pt": 0.0, "eta": 0.0, "phi": 0.0, "mass": 0.0}
    v = sum(
        (vector.obj(pt=p[0], eta=p[1], phi=p[2], mass=p[3] if len(p) > 3 else 0.0) for p in parts),
        start=vector.obj(px=0.0, py=0.0, pz=0.0, E=0.0),
    )
    return {"pt": v.pt, "eta": v.eta, "phi": v.phi, "mass": v.mass}


def two_prong(
    pt: float = 100.0, eta: float = 0.3, phi: float = 1.0, d: float = 0.2, angle: float = 0.0
) -> list[tuple[float, float, float]]:
    """Two equal-pT massless prongs at ±d from (eta, phi) along ``angle`` in the η-φ plane."""
    dx, dy = d * math.cos(angle), d * math.sin(angle)
    return [(pt, eta + dx, phi + dy), (pt, eta - dx, phi - dy)]


def random_jet(rng: np.random.Generator, n: int = 30, spread: float = 0.15) -> list[tuple]:
    """A jet of n massless constituents with exponential pT around a random axis."""
    eta0, phi0 = rng.uniform(-2, 2), rng.uniform(-math.pi, math.pi)
    pts = rng.exponential(10.0, n) + 0.5
    return [
        (float(p), float(eta0 + rng.normal(0, spread)), float(phi0 + rng.normal(0, spread)))
        for p in pts
    ]


def prong_cluster(
    rng: np.random.Generator, centres: Sequence[tuple[float, float, float]], n_each: int = 8
) -> list[tuple]:
    """Narrow clusters (σ = 0.01) of n_each particles around each (pt, eta, phi) centre."""
    parts = []
    for pt, eta, phi in centres:
        for _ in range(n_each):
            parts.append((pt / n_each, eta + rng.normal(0, 0.01), phi + rng.normal(0, 0.01)))
    return parts
