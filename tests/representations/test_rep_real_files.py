"""Every representation on the two real CMS files (PFNano and NanoAOD v15)."""

from __future__ import annotations

import awkward as ak
import dask_awkward as dak
import numpy as np
import pytest

from coffea_anomaly.nanoaod import open_events
from coffea_anomaly.representations import (
    FeatureConfig,
    build_input,
    dijet_features,
    dijet_matrix,
    empty_jets,
    fatjet_constituents,
    jet_features,
    jet_images_with_info,
)


@pytest.fixture(scope="module", params=["pfnano", "v15"])
def real(request, real_events):
    events = real_events[request.param]
    return request.param, events, fatjet_constituents(events)


def test_constituents_lie_around_their_fat_jet(real):
    _, events, constituents = real
    jets = events.FatJet
    assert ak.num(constituents, axis=1).tolist() == ak.num(jets, axis=1).tolist()
    deta = constituents.eta - jets.eta[:, :, None]
    dphi = (constituents.phi - jets.phi[:, :, None] + np.pi) % (2 * np.pi) - np.pi
    dr = ak.to_numpy(ak.flatten(np.sqrt(deta**2 + dphi**2), axis=None))
    assert len(dr) > 1000
    assert dr.max() < 1.0  # (a wrong grouping puts constituents anywhere, up to ΔR ~ 3)
    assert np.mean(dr < 0.8) > 0.98


def test_v15_jets_without_stored_constituents_are_flagged(real_events):
    events = real_events["v15"]
    constituents = fatjet_constituents(events)
    stored = ak.num(constituents, axis=2)
    assert ak.all(stored <= events.FatJet.nConstituents)
    flagged = ak.to_numpy(ak.flatten(empty_jets(constituents)))
    assert flagged.sum() == 2  # this file stores no constituent for two of its 64 fat jets
    assert (ak.to_numpy(ak.flatten(events.FatJet.nConstituents))[flagged] > 0).all()


def test_recomputed_nsubjettiness_matches_the_stored_cms_values(real_events):
    # v15 stores the same (PUPPI-weighted) candidates CMS used for FatJet_tau1/2
    events = real_events["v15"]
    constituents = fatjet_constituents(events)
    feats = ak.flatten(jet_features(events.FatJet, constituents, FeatureConfig(features=("tau2",))))
    jets = ak.flatten(events.FatJet)
    complete = ak.to_numpy(feats.n_constituents == jets.nConstituents)
    assert complete.sum() == 62
    for k in ("tau1", "tau2"):
        ours, cms = ak.to_numpy(feats[k])[complete], ak.to_numpy(jets[k])[complete]
        np.testing.assert_allclose(ours, cms, rtol=0.01)


def test_images_and_inputs_on_real_jets(real):
    _, events, constituents = real
    images, info = jet_images_with_info(events.FatJet, constituents)
    sums = images.sum(axis=(1, 2))
    np.testing.assert_allclose(sums[~info.empty], 1.0, rtol=1e-5)
    assert (sums[info.empty] == 0).all()
    assert info.n_dropped.sum() > 0  # real fat jets reach beyond the ±0.57 × ±0.69 window
    n_jets = int(ak.sum(ak.num(events.FatJet)))
    for kind, shape in [("constituents", (n_jets, 40, 4)), ("jet_features", (n_jets, 14))]:
        x = build_input(kind, {}, events.FatJet, constituents)
        assert x.shape == shape
        assert np.isfinite(x).all()


def test_dijet_features_on_real_events(real):
    _, events, _ = real
    config = FeatureConfig.preset("quak")
    dijet = dijet_features(events, config)
    with_two = ak.to_numpy(ak.num(events.FatJet) >= 2)
    assert ak.to_numpy(~ak.is_none(dijet)).tolist() == with_two.tolist()
    matrix = dijet_matrix(dijet, config)
    assert matrix.shape == (with_two.sum(), 12)
    assert (matrix[:, 0] >= matrix[:, 6]).all()  # the heavier jet first


@pytest.mark.slow  # 15-25 s: builds and computes dask graphs on the real v15 file
def test_dask_events_give_the_same_numbers_and_read_only_needed_columns(real_events, cms_files):
    reference_events = real_events["v15"]
    reference = build_input(
        "jet_image", {}, reference_events.FatJet, fatjet_constituents(reference_events)
    )
    events = open_events(cms_files["v15"], mode="dask")
    images = build_input("jet_image", {}, events.FatJet, fatjet_constituents(events))
    columns = set().union(*dak.necessary_columns(images).values())
    assert {"PFCand_pt", "FatJetPFCand_pfCandIdx", "FatJet_eta"} <= columns
    # candidate fields the images do not use are not read
    assert not {"PFCand_mass", "PFCand_pdgId", "FatJet_tau1", "FatJet_mass", "Jet_pt"} & columns
    computed = ak.to_numpy(images.compute())
    np.testing.assert_array_equal(computed, reference)
