"""From a batch of Pythia events to NanoAOD-v15-style event records.

Per batch: detector model -> fat jets -> hard-process truth -> filter; then, for the
accepted events only, substructure, AK4 jets and the PF candidates to store. The
result is an awkward array whose fields are the branches of Contract 1
(docs/ARCHITECTURE.md) except the event ids, which the block runner assigns.
"""

from __future__ import annotations

from dataclasses import dataclass

import awkward as ak
import numpy as np

from ._arrays import group_index, local_index, starts
from .detector import apply_detector
from .filters import passes_filter
from .jets import cluster_jets, four_vectors, substructure
from .pythia import PythiaGenerator
from .settings import SampleRecipe
from .truth import GenParticles, hard_process, truth_match

__all__ = ["BatchResult", "reconstruct_batch"]


@dataclass(frozen=True)
class BatchResult:
    """Accepted events of one batch and the bookkeeping needed for the acceptance.

    Attributes:
        events: accepted event records (fields as in Contract 1, without event ids).
        n_generated: events Pythia returned for this batch.
        sum_weights_generated: sum of their generator weights.
    """

    events: ak.Array
    n_generated: int
    sum_weights_generated: float


def _flat(array: ak.Array) -> np.ndarray:
    return ak.to_numpy(ak.flatten(array, axis=None))


def reconstruct_batch(
    batch: ak.Array, generator: PythiaGenerator, recipe: SampleRecipe, rng: np.random.Generator
) -> BatchResult:
    """Turn one ``nextBatch`` array into accepted event records.

    Args:
        batch: the output of :meth:`PythiaGenerator.next_batch`.
        generator: the generator that made it (for particle properties).
        recipe: the sample recipe (jets, detector, filter, truth ids, label).
        rng: random stream for the detector smearing of this batch.

    Returns:
        The accepted events with bookkeeping.
    """
    n_events = len(batch)
    prt = batch.prt
    counts = ak.to_numpy(ak.num(prt, axis=1)).astype(np.int64)
    pdg = _flat(prt.id).astype(np.int64)
    status = _flat(prt.status).astype(np.int64)
    px, py, pz, energy = (_flat(prt.p[c]) for c in ("px", "py", "pz", "e"))
    mass = _flat(prt.m)
    weight = ak.to_numpy(ak.fill_none(ak.firsts(batch.info.weights), 1.0)).astype(np.float64)

    # detector model on stable visible particles
    event_of = group_index(counts)
    final = np.flatnonzero(status > 0)
    charge, visible = generator.particle_properties(pdg[final])
    final, charge = final[visible], charge[visible]
    cands = apply_detector(
        px[final], py[final], pz[final], energy[final], mass[final], pdg[final], charge,
        recipe.detector, rng,
    )
    cand_counts = np.bincount(event_of[final][cands.keep], minlength=n_events)
    candidates = ak.unflatten(
        ak.zip({"pt": cands.pt, "eta": cands.eta, "phi": cands.phi, "mass": cands.mass,
                "charge": cands.charge, "pdgId": cands.pdg_id}),
        cand_counts,
    )

    jets = recipe.jets
    fat = cluster_jets(candidates, jets.fatjet_radius, jets.fatjet_min_pt)
    gen = hard_process(pdg, status, _flat(prt.mother1), px, py, pz, mass, counts)
    fat_counts = ak.to_numpy(ak.num(fat.pt, axis=1))
    match = truth_match(_flat(fat.eta), _flat(fat.phi), fat_counts, gen, recipe.truth_ids, jets.fatjet_radius)
    fatjets = ak.zip({"pt": fat.pt, "eta": fat.eta, "phi": fat.phi, "mass": fat.mass,
                      "truthMatch": ak.unflatten(match, fat_counts)})

    accepted = passes_filter(fatjets, recipe.filter)
    keep = np.flatnonzero(accepted)
    events = _assemble(candidates[keep], fatjets[keep], fat.constituents[keep],
                       _select_gen(gen, accepted), weight[keep], recipe)
    return BatchResult(events=events, n_generated=n_events, sum_weights_generated=float(weight.sum()))


def _select_gen(gen: GenParticles, mask: np.ndarray) -> ak.Array:
    record = ak.zip({
        "pdgId": gen.pdg_id,
        "status": gen.status,
        "pt": gen.pt.astype(np.float32),
        "eta": gen.eta.astype(np.float32),
        "phi": gen.phi.astype(np.float32),
        "mass": gen.mass.astype(np.float32),
        "genPartIdxMother": gen.mother.astype(np.int16),
    })
    return ak.unflatten(record, gen.counts)[mask]


def _assemble(
    candidates: ak.Array,
    fatjets: ak.Array,
    constituents: ak.Array,
    genpart: ak.Array,
    weight: np.ndarray,
    recipe: SampleRecipe,
) -> ak.Array:
    """Substructure, AK4 jets and PF-candidate bookkeeping for accepted events."""
    jets_cfg = recipe.jets
    n_events = len(candidates)
    cand_counts = ak.to_numpy(ak.num(candidates, axis=1)).astype(np.int64)
    cand_offsets = starts(cand_counts)
    fat_counts = ak.to_numpy(ak.num(fatjets, axis=1)).astype(np.int64)
    n_const = ak.to_numpy(ak.flatten(ak.num(constituents, axis=2), axis=None)).astype(np.int64)
    const_local = _flat(constituents).astype(np.int64)
    const_event = np.repeat(group_index(fat_counts), n_const)
    const_global = cand_offsets[const_event] + const_local

    flat_cands = ak.flatten(candidates, axis=1)
    cpt, ceta, cphi, cmass = (ak.to_numpy(flat_cands[c]) for c in ("pt", "eta", "phi", "mass"))
    p4 = four_vectors(
        ak.unflatten(cpt[const_global], n_const), ak.unflatten(ceta[const_global], n_const),
        ak.unflatten(cphi[const_global], n_const), ak.unflatten(cmass[const_global], n_const),
    )
    taus, msd = substructure(
        p4, radius=jets_cfg.fatjet_radius, nsub_beta=jets_cfg.nsubjettiness_beta,
        softdrop_beta=jets_cfg.softdrop_beta, softdrop_zcut=jets_cfg.softdrop_zcut,
    )

    # PF candidates to store: constituents of stored fat jets (or all), re-indexed
    if jets_cfg.store_all_pfcands:
        stored = np.ones(len(cpt), dtype=bool)
    else:
        stored = np.zeros(len(cpt), dtype=bool)
        stored[const_global] = True
    new_global = np.cumsum(stored) - 1
    stored_counts = np.bincount(group_index(cand_counts)[stored], minlength=n_events)
    stored_offsets = starts(stored_counts)
    pf_idx = new_global[const_global] - stored_offsets[const_event]
    jet_local = np.repeat(local_index(fat_counts), n_const)
    pairs_per_event = np.bincount(const_event, minlength=n_events)

    small = cluster_jets(candidates, jets_cfg.jet_radius, jets_cfg.jet_min_pt)
    f32 = np.float32
    fields = {
        "genWeight": weight.astype(f32),
        "truthLabel": np.full(n_events, recipe.truth_label, dtype=np.int32),
        "FatJet": ak.zip({
            "pt": ak.values_astype(fatjets.pt, f32),
            "eta": ak.values_astype(fatjets.eta, f32),
            "phi": ak.values_astype(fatjets.phi, f32),
            "mass": ak.values_astype(fatjets.mass, f32),
            "msoftdrop": ak.unflatten(msd.astype(f32), fat_counts),
            "nConstituents": ak.unflatten(n_const.astype(np.int32), fat_counts),
            **{f"tau{i + 1}": ak.unflatten(taus[:, i].astype(f32), fat_counts) for i in range(4)},
            "truthMatch": ak.values_astype(fatjets.truthMatch, np.int32),
        }),
        "Jet": ak.zip({c: ak.values_astype(getattr(small, c), f32) for c in ("pt", "eta", "phi", "mass")}),
        "PFCand": ak.unflatten(flat_cands[stored], stored_counts),
        "FatJetPFCand": ak.unflatten(
            ak.zip({"jetIdx": jet_local.astype(np.int32), "pfCandIdx": pf_idx.astype(np.int32)}),
            pairs_per_event,
        ),
        "GenPart": genpart,
    }
    return ak.zip(fields, depth_limit=1)

