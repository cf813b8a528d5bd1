"""The signal recipes and the mixed sample, each on a handful of events."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest
from gen_helpers import dataset_metadata, in_window, read_events

from coffea_anomaly.generation import generate_sample
from coffea_anomaly.generation.filters import dijet_mass

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    ("process", "window", "resonances"),
    [
        ("scalar_4c", (475.0, 525.0), {25, 36}),
        ("dark_shower", (575.0, 625.0), {4900001, 4900101}),
        ("zprime_3prong", None, {34, 9000005, 9000006}),
    ],
)
def test_signal_recipes_make_their_signal(tmp_path, process, window, resonances):
    result = generate_sample(process, 8, tmp_path, seed=2, overrides={"block_size": 8}, progress=False)
    events = read_events(result)
    assert len(events) == 8 and ak.all(events.truthLabel == 1)
    pdg = set(np.abs(ak.to_numpy(ak.flatten(events.GenPart_pdgId))).tolist())
    assert resonances <= pdg
    if window is not None:  # a truth-matched fat jet in the window in every event
        jets = in_window(events, *window) & (events.FatJet_truthMatch == 1)
        assert ak.all(ak.any(jets, axis=1))
    else:  # dijet filter, and the two three-prong jets are found
        mjj = dijet_mass(events.FatJet_pt, events.FatJet_eta, events.FatJet_phi, events.FatJet_mass)
        assert np.all((mjj >= 2000.0) & (mjj <= 8000.0))
        assert ak.sum(events.FatJet_truthMatch) >= 8
    assert dataset_metadata(result)["xsec_pb"] > 0


def test_mixed_injects_the_signal_at_the_requested_fraction(tmp_path):
    result = generate_sample("mixed", 40, tmp_path, seed=9, progress=False,
                             overrides={"block_size": 20, "signal_fraction": 0.25})
    events = read_events(result)
    label = ak.to_numpy(events.truthLabel)
    assert len(events) == 40 and label.sum() == 10
    has_wprime = ak.to_numpy(ak.any(np.abs(events.GenPart_pdgId) == 34, axis=1))
    assert np.array_equal(has_wprime, label == 1)
    assert label[:20].sum() == 5 and label[20:].sum() == 5  # spread over the blocks
    assert not np.array_equal(label[:20], np.sort(label[:20]))  # shuffled within a block
    meta = dataset_metadata(result)
    assert meta["signal_fraction"] == 0.25
    assert set(meta["components"]) == {"qcd_dijet", "wprime_xy"}
    assert meta["components"]["qcd_dijet"]["n_accepted"] >= 30
    assert len(np.unique(ak.to_numpy(events.event))) == 40
    assert ak.all(events.genWeight == 1.0)  # data-like: the background is generated unbiased


def test_qcd_dijet_is_pt_hat_biased_with_compensating_weights(tmp_path):
    result = generate_sample("qcd_dijet", 12, tmp_path, seed=4, overrides={"block_size": 12}, progress=False)
    events = read_events(result)
    weight = ak.to_numpy(events.genWeight)
    assert np.all(weight > 0) and len(np.unique(weight)) == len(weight)
    assert ak.all(events.FatJet_pt[:, 0] > 1200.0)
    meta = dataset_metadata(result)
    # biasing favours hard events, so the weighted acceptance is below the raw one
    assert meta["acceptance_weighted"] < meta["acceptance"]
    assert meta["xsec_accepted_pb"] == pytest.approx(meta["xsec_pb"] * meta["acceptance_weighted"])
