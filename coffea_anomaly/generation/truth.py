"""Hard-process truth: the ``GenPart`` collection and fat-jet truth matching.

All functions work on the flat particle lists of a batch of events (numpy arrays plus
per-event counts), without a Python loop over events.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._arrays import group_index, local_index, starts
from .detector import kinematics

__all__ = ["GenParticles", "hard_process", "truth_match"]

#: Pythia status codes 21-29 are the hard process (incoming, intermediate, outgoing)
_HARD_STATUS = (21, 29)
_LEPTON_IDS = (11, 12, 13, 14, 15, 16)
_MAX_DEPTH = 64


@dataclass(frozen=True)
class GenParticles:
    """Hard-process particles of a batch, flat, in event-record order.

    Attributes:
        counts: particles per event.
        pdg_id, status: int32; status is Pythia's |status| (21 incoming, 22 intermediate,
            23 outgoing).
        pt, eta, phi, mass: float64 kinematics (eta = +-1e4 for pt = 0).
        mother: index of the mother *within the event's GenPart list*, -1 if none.
    """

    counts: np.ndarray
    pdg_id: np.ndarray
    status: np.ndarray
    pt: np.ndarray
    eta: np.ndarray
    phi: np.ndarray
    mass: np.ndarray
    mother: np.ndarray

    @property
    def offsets(self) -> np.ndarray:
        """Start index of each event in the flat arrays."""
        return starts(self.counts)


def hard_process(
    pdg_id: np.ndarray,
    status: np.ndarray,
    mother1: np.ndarray,
    px: np.ndarray,
    py: np.ndarray,
    pz: np.ndarray,
    mass: np.ndarray,
    counts: np.ndarray,
) -> GenParticles:
    """Select the hard-process particles (|status| 21-29) and link them to their mothers.

    A decay product's Pythia mother is usually the last shower copy of a hard-process
    resonance; copies (same pdgId, mother = previous copy) are followed up to the
    hard-process entry, so e.g. ``W -> genPartIdxMother -> t``.

    Args:
        pdg_id, status, mother1: flat event-record columns of a batch (mother1 is the
            index within the event, 0 = none).
        px, py, pz, mass: flat momenta and masses.
        counts: particles per event.

    Returns:
        The hard-process particles.
    """
    counts = np.asarray(counts, dtype=np.int64)
    offsets = starts(counts)
    event = group_index(counts)
    abs_status = np.abs(status)
    hard = (abs_status >= _HARD_STATUS[0]) & (abs_status <= _HARD_STATUS[1])
    parent = np.where(mother1 > 0, mother1 + offsets[event], -1)

    hard_idx = np.flatnonzero(hard)
    walker = parent[hard_idx]
    for _ in range(_MAX_DEPTH):
        valid = walker >= 0
        safe = np.where(valid, walker, 0)
        up = parent[safe]
        is_copy = valid & ~hard[safe] & (up >= 0) & (pdg_id[np.where(up >= 0, up, 0)] == pdg_id[safe])
        if not is_copy.any():
            break
        walker = np.where(is_copy, up, walker)
    valid = walker >= 0
    safe = np.where(valid, walker, 0)
    hard_counts = np.bincount(event[hard_idx], minlength=len(counts))
    hard_offsets = starts(hard_counts)
    rank = np.full(len(pdg_id), -1, dtype=np.int64)
    rank[hard_idx] = np.arange(len(hard_idx)) - hard_offsets[event[hard_idx]]
    mother = np.where(valid & hard[safe], rank[safe], -1)

    pt, eta, phi = kinematics(px[hard_idx], py[hard_idx], pz[hard_idx])
    return GenParticles(
        counts=hard_counts,
        pdg_id=pdg_id[hard_idx].astype(np.int32),
        status=abs_status[hard_idx].astype(np.int32),
        pt=pt,
        eta=eta,
        phi=phi,
        mass=np.asarray(mass[hard_idx], dtype=np.float64),
        mother=mother.astype(np.int64),
    )


def _delta_r(eta1: np.ndarray, phi1: np.ndarray, eta2: np.ndarray, phi2: np.ndarray) -> np.ndarray:
    dphi = np.mod(phi1 - phi2 + np.pi, 2 * np.pi) - np.pi
    return np.hypot(eta1 - eta2, dphi)


def _resonance_leaf_pairs(gen: GenParticles, truth_ids: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """(resonance, leaf) pairs of flat GenPart indices: leaf descends from resonance."""
    offsets = gen.offsets
    event = group_index(gen.counts)
    parent = np.where(gen.mother >= 0, gen.mother + offsets[event], -1)
    is_res = np.isin(np.abs(gen.pdg_id), np.asarray(truth_ids, dtype=np.int64))
    has_child = np.zeros(len(gen.pdg_id), dtype=bool)
    has_child[parent[parent >= 0]] = True
    leaves = np.flatnonzero(~has_child & (gen.status != 21))
    res_list = [leaves[is_res[leaves]]]
    leaf_list = [leaves[is_res[leaves]]]
    walker = parent[leaves]
    for _ in range(_MAX_DEPTH):
        valid = walker >= 0
        if not valid.any():
            break
        hit = valid & is_res[np.where(valid, walker, 0)]
        res_list.append(walker[hit])
        leaf_list.append(leaves[hit])
        walker = np.where(valid, parent[np.where(valid, walker, 0)], -1)
    return np.concatenate(res_list), np.concatenate(leaf_list)


def truth_match(
    jet_eta: np.ndarray,
    jet_phi: np.ndarray,
    jet_counts: np.ndarray,
    gen: GenParticles,
    truth_ids: tuple[int, ...],
    radius: float,
) -> np.ndarray:
    """Which jets contain a hard-process resonance and all of its decay products.

    A jet is matched (1) when, for some hard-process particle with |pdgId| in
    ``truth_ids``, the particle and every final hard-process descendant of it lie
    within ``radius`` of the jet axis and none of those descendants is a lepton or
    neutrino (so a top must decay hadronically). A listed particle without hard-process
    descendants (e.g. a dark quark) is its own descendant.

    Args:
        jet_eta, jet_phi: flat jet axes of the batch.
        jet_counts: jets per event.
        gen: the hard-process particles of the same events.
        truth_ids: |pdgId| of the particles to match.
        radius: the jet radius.

    Returns:
        int32 flags, one per jet.
    """
    matched = np.zeros(len(jet_eta), dtype=np.int32)
    if not truth_ids or len(jet_eta) == 0:
        return matched
    res, leaf = _resonance_leaf_pairs(gen, truth_ids)
    if len(res) == 0:
        return matched
    gen_event = group_index(gen.counts)
    pair_event = gen_event[res]
    jet_counts = np.asarray(jet_counts, dtype=np.int64)
    jet_offsets = starts(jet_counts)
    per_pair = jet_counts[pair_event]
    pair_of = group_index(per_pair)
    jet_of = jet_offsets[pair_event][pair_of] + local_index(per_pair)
    if len(jet_of) == 0:
        return matched
    r, lf = res[pair_of], leaf[pair_of]
    fail = (
        (_delta_r(jet_eta[jet_of], jet_phi[jet_of], gen.eta[r], gen.phi[r]) >= radius)
        | (_delta_r(jet_eta[jet_of], jet_phi[jet_of], gen.eta[lf], gen.phi[lf]) >= radius)
        | np.isin(np.abs(gen.pdg_id[lf]), _LEPTON_IDS)
    )
    key = jet_of.astype(np.int64) * (len(gen.pdg_id) + 1) + r
    unique, inverse = np.unique(key, return_inverse=True)
    n_fail = np.bincount(inverse, weights=fail.astype(np.float64), minlength=len(unique))
    good_jets = unique[n_fail == 0] // (len(gen.pdg_id) + 1)
    matched[good_jets] = 1
    return matched
