"""Selections on hand-made jets, sample resolution, and reading generated samples."""

from __future__ import annotations

import json

import awkward as ak
import numpy as np
import pytest

from coffea_anomaly.errors import InputDataError
from coffea_anomaly.representations import ImageConfig
from coffea_anomaly.training.data import (
    load_inputs,
    sample_files,
    select_dijet_events,
    select_fatjets,
)
from coffea_anomaly.training.settings import RepresentationChoice, SampleSpec, SelectionConfig

FATJETS = ak.Array(
    [
        # event 0: one jet in the window, one too soft, one too forward
        [{"pt": 600.0, "eta": 0.1, "truthMatch": 1},
         {"pt": 500.0, "eta": 0.2, "truthMatch": 1},
         {"pt": 560.0, "eta": 2.4, "truthMatch": 0}],
        # event 1: two jets in the window, only the second truth-matched
        [{"pt": 640.0, "eta": -1.0, "truthMatch": 0},
         {"pt": 590.0, "eta": 1.5, "truthMatch": 1}],
        # event 2: no jets
        [],
    ]
)  # fmt: skip


def test_jet_selection_applies_the_pt_window_and_eta() -> None:
    mask = select_fatjets(FATJETS, SelectionConfig(pt_min=550, pt_max=650, eta_max=2.0))
    assert mask.tolist() == [[True, False, False], [True, True], []]


def test_jet_selection_can_require_truth_matching() -> None:
    sel = SelectionConfig(pt_min=550, pt_max=650, eta_max=2.0, truth_match=True)
    assert select_fatjets(FATJETS, sel).tolist() == [[True, False, False], [False, True], []]


def test_truth_matching_without_the_branch_is_a_clear_error() -> None:
    jets = ak.Array([[{"pt": 600.0, "eta": 0.0}]])
    with pytest.raises(InputDataError, match="FatJet_truthMatch"):
        select_fatjets(jets, SelectionConfig(truth_match=True))


def test_dijet_selection_uses_the_two_leading_jets() -> None:
    jets = ak.Array(
        [
            [{"pt": 1300.0, "eta": 0.0}, {"pt": 400.0, "eta": 1.0}],   # passes
            [{"pt": 1100.0, "eta": 0.0}, {"pt": 900.0, "eta": 0.5}],   # leading too soft
            [{"pt": 1300.0, "eta": 0.0}, {"pt": 400.0, "eta": 1.5}],   # |deta| too large
            [{"pt": 1300.0, "eta": 0.0}, {"pt": 200.0, "eta": 0.0},
             {"pt": 180.0, "eta": 0.0}],                               # second jet too soft
            [{"pt": 1300.0, "eta": 0.0}],                              # one jet only
        ]
    )  # fmt: skip
    sel = SelectionConfig(pt_min=300, eta_max=2.5, lead_pt_min=1200, deta_max=1.3)
    assert select_dijet_events(jets, sel).tolist() == [True, False, False, False, False]


def test_sample_files_from_folder_fileset_and_root_file(tmp_path) -> None:
    (tmp_path / "a.root").write_bytes(b"")
    fileset = {"ds": {"files": {"a.root": "Events"}, "metadata": {}}}
    (tmp_path / "fileset.json").write_text(json.dumps(fileset))
    want = {str(tmp_path / "a.root"): "Events"}
    assert sample_files(tmp_path) == want
    assert sample_files(tmp_path / "fileset.json") == want
    assert sample_files(tmp_path / "a.root") == want
    with pytest.raises(InputDataError, match="no sample"):
        sample_files(tmp_path / "missing")


@pytest.mark.slow
def test_reading_generated_jets_gives_normalised_images(generated) -> None:
    spec = SampleSpec(str(generated["qcd_jets"]), SelectionConfig(pt_min=550, pt_max=650))
    inputs = load_inputs(spec, RepresentationChoice("jet_image", {}), "jet", progress=False)
    assert inputs.x.dtype == np.float32
    assert inputs.x.shape[1:] == ImageConfig().shape
    assert inputs.n_events == 300
    assert inputs.n_selected >= inputs.x.shape[0] > 200  # at least one jet per event mostly
    np.testing.assert_allclose(inputs.x.sum(axis=(1, 2)), 1.0, rtol=1e-5)
    assert inputs.weights is None


@pytest.mark.slow
def test_max_items_caps_the_sample(generated) -> None:
    spec = SampleSpec(str(generated["qcd_jets"]), SelectionConfig(pt_min=550, pt_max=650),
                      max_items=50, weighted=True)  # fmt: skip
    inputs = load_inputs(spec, RepresentationChoice("jet_image", {}), "jet", progress=False)
    assert inputs.x.shape[0] == 50
    assert inputs.weights is not None and inputs.weights.shape == (50,)


@pytest.mark.slow
def test_reading_generated_dijets_gives_twelve_features(generated) -> None:
    spec = SampleSpec(str(generated["qcd_dijet"]), SelectionConfig(pt_min=300, eta_max=2.5))
    rep = RepresentationChoice(
        "dijet_features", {"features": ["mass", "tau1", "tau21", "tau32", "tau43", "n_charged"]}
    )
    inputs = load_inputs(spec, rep, "event", progress=False)
    assert inputs.x.shape[1] == 12
    assert 0 < inputs.x.shape[0] <= 200
    assert np.all(inputs.x[:, 0] >= inputs.x[:, 6])  # heavier jet first
