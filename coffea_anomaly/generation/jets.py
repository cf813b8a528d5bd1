"""Jet clustering and substructure with fastjet, vectorised over events.

Jets are clustered from the stored (float32) PF-candidate kinematics, so a fat jet's
4-vector equals the sum of its stored constituents to float32 precision. Substructure
(N-subjettiness tau1..tau4 and the soft-drop mass) is computed by treating each fat
jet's constituents as one "event" of a Cambridge/Aachen ``fastjet.ClusterSequence``.
"""

from __future__ import annotations

from dataclasses import dataclass

import awkward as ak
import fastjet
import numpy as np

from ..fastjet_banner import silence_fastjet_banner
from .detector import kinematics

__all__ = ["ClusteredJets", "cluster_jets", "four_vectors", "substructure"]

#: C/A radius for re-clustering one fat jet's constituents (covers any R <= 2 jet)
_RECLUSTER_RADIUS = 4.0


@dataclass(frozen=True)
class ClusteredJets:
    """pT-ordered jets of a batch of events.

    Attributes:
        pt, eta, phi, mass: events x jets (float64).
        constituents: events x jets x indices into the event's input candidates.
    """

    pt: ak.Array
    eta: ak.Array
    phi: ak.Array
    mass: ak.Array
    constituents: ak.Array


def four_vectors(pt: ak.Array, eta: ak.Array, phi: ak.Array, mass: ak.Array) -> ak.Array:
    """px, py, pz, E records (float64) from lists x items arrays of pt, eta, phi, mass."""
    counts = ak.to_numpy(ak.num(pt, axis=1))
    pt, eta, phi, mass = (ak.to_numpy(ak.flatten(x, axis=1)).astype(np.float64) for x in (pt, eta, phi, mass))
    px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
    energy = np.sqrt(px**2 + py**2 + pz**2 + mass**2)
    return ak.unflatten(ak.zip({"px": px, "py": py, "pz": pz, "E": energy}), counts)


def cluster_jets(candidates: ak.Array, radius: float, min_pt: float) -> ClusteredJets:
    """Cluster anti-kT jets of radius ``radius`` above ``min_pt`` in every event.

    Args:
        candidates: events x candidates with fields pt, eta, phi, mass.
        radius: anti-kT distance parameter.
        min_pt: smallest jet pT kept (GeV).

    Returns:
        pT-ordered jets with the indices of their constituents.
    """
    n_events = len(candidates)
    if n_events == 0 or ak.sum(ak.num(candidates, axis=1)) == 0:
        no_jets = np.zeros(n_events, dtype=np.int64)
        empty = ak.unflatten(np.zeros(0, dtype=np.float64), no_jets)
        index = ak.unflatten(ak.unflatten(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)), no_jets)
        return ClusteredJets(empty, empty, empty, empty, index)
    silence_fastjet_banner()
    p4 = four_vectors(candidates.pt, candidates.eta, candidates.phi, candidates.mass)
    sequence = fastjet.ClusterSequence(p4, fastjet.JetDefinition(fastjet.antikt_algorithm, radius))
    jets = sequence.inclusive_jets(min_pt)
    index = sequence.constituent_index(min_pt)
    jpt, jeta, jphi = _unflat_kinematics(jets)
    mass2 = jets.E**2 - jets.px**2 - jets.py**2 - jets.pz**2
    jmass = np.sqrt(np.maximum(mass2, 0.0))
    order = ak.argsort(jpt, axis=1, ascending=False, stable=True)
    return ClusteredJets(
        pt=jpt[order],
        eta=jeta[order],
        phi=jphi[order],
        mass=jmass[order],
        constituents=index[order],
    )


def _unflat_kinematics(jets: ak.Array) -> tuple[ak.Array, ak.Array, ak.Array]:
    counts = ak.num(jets.px, axis=1)
    flat = [ak.to_numpy(ak.flatten(getattr(jets, c))) for c in ("px", "py", "pz")]
    pt, eta, phi = kinematics(*flat)
    return tuple(ak.unflatten(x, counts) for x in (pt, eta, phi))  # type: ignore[return-value]


def substructure(
    constituents_p4: ak.Array,
    *,
    radius: float,
    nsub_beta: float,
    softdrop_beta: float,
    softdrop_zcut: float,
) -> tuple[np.ndarray, np.ndarray]:
    """N-subjettiness tau1..tau4 and soft-drop mass of each jet.

    Args:
        constituents_p4: jets x constituents records with px, py, pz, E (one entry per jet,
            events already flattened away).
        radius: the jets' radius (R0 of N-subjettiness and soft drop).
        nsub_beta: N-subjettiness angular exponent.
        softdrop_beta: soft-drop angular exponent.
        softdrop_zcut: soft-drop symmetry cut.

    Returns:
        ``(taus, msoftdrop)``: float64 arrays of shape (n_jets, 4) and (n_jets,).
    """
    n_jets = len(constituents_p4)
    if n_jets == 0:
        return np.zeros((0, 4)), np.zeros(0)
    sequence = fastjet.ClusterSequence(
        constituents_p4, fastjet.JetDefinition(fastjet.cambridge_algorithm, _RECLUSTER_RADIUS)
    )
    taus = np.asarray(
        sequence.njettiness(njets=[1, 2, 3, 4], beta=nsub_beta, R0=radius), dtype=np.float64
    ).reshape(n_jets, 4)
    groomed = sequence.exclusive_jets_softdrop_grooming(
        njets=1, beta=softdrop_beta, symmetry_cut=softdrop_zcut, R0=radius
    )
    msoftdrop = np.asarray(groomed.msoftdrop, dtype=np.float64).reshape(n_jets)
    return np.nan_to_num(taus, nan=0.0), np.nan_to_num(msoftdrop, nan=0.0)
