"""Generated files follow Contract 1 (NanoAOD v15 convention) and load with NanoEvents."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest
import uproot
from coffea.nanoevents import NanoAODSchema, NanoEventsFactory
from gen_helpers import dataset_metadata

pytestmark = pytest.mark.slow

BRANCH_TYPES = {
    "run": "uint32_t", "luminosityBlock": "uint32_t", "event": "uint64_t", "genWeight": "float",
    "truthLabel": "int32_t", "nFatJet": "int32_t", "FatJet_pt": "float[]", "FatJet_msoftdrop": "float[]",
    "FatJet_tau4": "float[]", "FatJet_nConstituents": "int32_t[]", "FatJet_truthMatch": "int32_t[]",
    "nJet": "int32_t", "Jet_mass": "float[]", "nPFCand": "int32_t", "PFCand_pt": "float[]",
    "PFCand_charge": "int32_t[]", "PFCand_pdgId": "int32_t[]", "nFatJetPFCand": "int32_t",
    "FatJetPFCand_jetIdx": "int32_t[]", "FatJetPFCand_pfCandIdx": "int32_t[]", "nGenPart": "int32_t",
    "GenPart_pdgId": "int32_t[]", "GenPart_status": "int32_t[]", "GenPart_genPartIdxMother": "int16_t[]",
}


def test_branches_have_the_contract_names_and_types(top_sample):
    tree = uproot.open(top_sample.files[0])["Events"]
    assert {name: tree[name].typename for name in BRANCH_TYPES} == BRANCH_TYPES
    for col in ("pt", "eta", "phi", "mass"):
        assert f"FatJet_{col}" in tree and f"Jet_{col}" in tree and f"PFCand_{col}" in tree
        assert f"GenPart_{col}" in tree


def test_fileset_is_coffea_format_with_metadata(top_sample, top_events):
    meta = dataset_metadata(top_sample)
    assert meta["process"] == "top_jets" and meta["n_events"] == 200 == len(top_events)
    assert meta["seed"] == 11 and meta["recipe"]["process"] == "top_jets" and len(meta["recipe_hash"]) == 16
    assert 0 < meta["acceptance"] < 1 and meta["n_generated"] > meta["n_accepted"] >= 200
    assert meta["xsec_pb"] > 0 and meta["xsec_accepted_pb"] == pytest.approx(meta["xsec_pb"] * meta["acceptance"])
    assert top_sample.events_per_s > 0


@pytest.mark.parametrize("mode", ["eager", "virtual"])
def test_files_load_with_nanoevents(top_sample, top_events, mode):
    files = {str(f): "Events" for f in top_sample.files}
    events = NanoEventsFactory.from_root(files, schemaclass=NanoAODSchema, mode=mode).events()
    assert len(events) == len(top_events)
    assert ak.all(events.FatJet.pt == top_events.FatJet_pt)
    assert ak.all(events.PFCand.pdgId == top_events.PFCand_pdgId)
    assert ak.all(events.FatJetPFCand.pfCandIdx == top_events.FatJetPFCand_pfCandIdx)
    assert ak.all(events.GenPart.pdgId == top_events.GenPart_pdgId)


def test_event_ids_are_unique_and_labels_constant(top_events):
    assert len(np.unique(ak.to_numpy(top_events.event))) == len(top_events)
    assert set(ak.to_numpy(top_events.truthLabel).tolist()) == {1}
    assert ak.all(top_events.FatJet_pt >= 170.0)
    assert ak.all(top_events.FatJet_pt[:, :-1] >= top_events.FatJet_pt[:, 1:])  # pT-ordered


def _flat_counts(events, name):
    return ak.to_numpy(ak.num(events[name], axis=1)).astype(np.int64)


@pytest.mark.parametrize("sample", ["top_events", "qcd_events"])
def test_every_fat_jet_resolves_to_its_constituents(sample, request):
    events = request.getfixturevalue(sample)
    n_jets = _flat_counts(events, "FatJet_pt")
    n_pf = _flat_counts(events, "PFCand_pt")
    n_links = _flat_counts(events, "FatJetPFCand_jetIdx")
    jet_idx = ak.to_numpy(ak.flatten(events.FatJetPFCand_jetIdx)).astype(np.int64)
    pf_idx = ak.to_numpy(ak.flatten(events.FatJetPFCand_pfCandIdx)).astype(np.int64)
    link_event = np.repeat(np.arange(len(events)), n_links)
    assert np.all((jet_idx >= 0) & (jet_idx < n_jets[link_event]))
    assert np.all((pf_idx >= 0) & (pf_idx < n_pf[link_event]))

    jet_global = (np.cumsum(n_jets) - n_jets)[link_event] + jet_idx
    pf_global = (np.cumsum(n_pf) - n_pf)[link_event] + pf_idx
    # only constituents of stored fat jets are stored, each exactly once
    assert np.array_equal(np.sort(pf_global), np.arange(n_pf.sum()))
    n_const = np.bincount(jet_global, minlength=n_jets.sum())
    assert np.array_equal(n_const, ak.to_numpy(ak.flatten(events.FatJet_nConstituents)))

    pt, eta, phi, mass = (ak.to_numpy(ak.flatten(events[f"PFCand_{c}"])).astype(np.float64)[pf_global]
                          for c in ("pt", "eta", "phi", "mass"))
    sums = [np.bincount(jet_global, weights=w, minlength=n_jets.sum()) for w in (
        pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta), np.sqrt((pt * np.cosh(eta)) ** 2 + mass**2))]
    px, py, pz, energy = sums
    jet_pt = ak.to_numpy(ak.flatten(events.FatJet_pt)).astype(np.float64)
    jet_mass = ak.to_numpy(ak.flatten(events.FatJet_mass)).astype(np.float64)
    np.testing.assert_allclose(np.hypot(px, py), jet_pt, rtol=2e-6)
    sum_mass = np.sqrt(np.maximum(energy**2 - px**2 - py**2 - pz**2, 0))
    np.testing.assert_allclose(sum_mass, jet_mass, rtol=2e-6, atol=1e-4)


def test_genpart_is_the_hard_process_with_valid_mothers(top_events):
    n = _flat_counts(top_events, "GenPart_pdgId")
    mother = ak.to_numpy(ak.flatten(top_events.GenPart_genPartIdxMother)).astype(np.int64)
    event = np.repeat(np.arange(len(top_events)), n)
    assert np.all((mother >= -1) & (mother < n[event]))
    status = set(ak.to_numpy(ak.flatten(top_events.GenPart_status)).tolist())
    assert status <= set(range(21, 30))
    # every W has a top as mother
    pdg = ak.to_numpy(ak.flatten(top_events.GenPart_pdgId))
    w = np.flatnonzero(np.abs(pdg) == 24)
    mother_global = (np.cumsum(n) - n)[event[w]] + mother[w]
    assert len(w) == 2 * len(top_events) and np.all(np.abs(pdg[mother_global]) == 6)


def test_substructure_is_physical(top_events):
    taus = [ak.to_numpy(ak.flatten(top_events[f"FatJet_tau{i}"])) for i in range(1, 5)]
    assert np.all(taus[0] >= taus[1]) and np.all(taus[1] >= taus[2]) and np.all(taus[2] >= taus[3])
    assert np.all(taus[3] >= 0)
    msd = ak.to_numpy(ak.flatten(top_events.FatJet_msoftdrop))
    mass = ak.to_numpy(ak.flatten(top_events.FatJet_mass))
    assert np.all(msd <= mass * (1 + 1e-5)) and np.all(msd >= 0)
