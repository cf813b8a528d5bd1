"""Training, both processors and ``score()`` select the same jets and events.

One hand-built file holds jets on every edge of the selections (pT exactly at the window
edges, |eta| at the limit, a forward leading jet, a soft second jet with a harder third
one). Training's data loader, the processors (defaulting to the selection stored in the
model card) and ``score()`` must pick the same jets: their histograms agree bin for bin.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import awkward as ak
import numpy as np
import pytest
from coffea_anomaly.processors import DijetAnomalyProcessor, JetAnomalyProcessor
from handmade_events import write_handmade
from toy_models import dijet_toy, image_toy

from coffea_anomaly import score
from coffea_anomaly.histograms import mass_axis, mjj_axis
from coffea_anomaly.inference.onnx_model import OnnxModel
from coffea_anomaly.nanoaod import open_events
from coffea_anomaly.selection import DijetSelection, JetSelection, selection_to_dict
from coffea_anomaly.training.data import load_inputs
from coffea_anomaly.training.settings import RepresentationChoice, SampleSpec

# every jet has its own mass (5 GeV bins: one jet per bin) so histograms identify jets
EVENTS = [
    [(550.0, 0.1, 101.0), (650.0, 0.2, 111.0), (600.0, 2.0, 121.0), (600.0, -1.9, 131.0)],
    [(700.0, 0.0, 141.0), (560.0, 0.5, 151.0)],
    [],
    [(1500.0, 3.0, 161.0), (1300.0, 0.1, 171.0), (400.0, 0.2, 181.0)],   # the example
    [(1300.0, 0.0, 191.0), (400.0, 1.0, 201.0)],
    [(1300.0, 0.0, 211.0), (200.0, 0.0, 221.0), (500.0, 0.0, 231.0)],
    [(1250.0, 0.3, 241.0), (1210.0, -0.5, 251.0), (620.0, 0.0, 261.0)],
    [(1300.0, 0.0, 271.0), (600.0, 1.5, 281.0)],                         # |delta eta| 1.5
]  # fmt: skip

JET_SEL = JetSelection(pt_min=550.0, pt_max=650.0, eta_max=2.0)
DIJET_SEL = DijetSelection(jet_pt_min=300.0, lead_pt_min=1200.0, eta_max=2.5, deta_max=1.3)


@pytest.fixture(scope="module")
def handmade(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("handmade")
    return {
        "file": write_handmade(base / "edges.root", EVENTS),
        "image": image_toy(base / "image.onnx", selection=selection_to_dict(JET_SEL)),
        "dijet": dijet_toy(base / "dijet.onnx", selection=selection_to_dict(DIJET_SEL)),
    }


def _events(path: Path):
    events = open_events(str(path), mode="eager")
    events.metadata["dataset"] = "edges"
    return events


def test_jets_selected_in_training_are_the_jets_the_processor_and_score_see(handmade) -> None:
    model = OnnxModel(handmade["image"])
    rep = RepresentationChoice("jet_image", model.card.representation.config)
    train = load_inputs(SampleSpec(str(handmade["file"]), JET_SEL), rep, "jet", progress=False)
    assert sorted(train.aux["mass"].tolist()) == [101.0, 131.0, 151.0, 261.0, 281.0]

    proc = JetAnomalyProcessor([handmade["image"]])  # no selection: the card's
    assert proc.selection == JET_SEL and proc.selection_warnings == []
    out = proc.process(_events(handmade["file"]))
    want_mass = np.histogram(train.aux["mass"], bins=mass_axis().edges)[0]
    np.testing.assert_array_equal(out["hists"]["mass"][{"dataset": "edges"}].values(), want_mass)
    h_score = out["hists"]["score_toy_image"][{"dataset": "edges"}]
    train_scores = model.score_numpy(train.x)["score"]
    np.testing.assert_array_equal(h_score.values(), np.histogram(train_scores, bins=h_score.axes[0].edges)[0])
    assert out["cutflow"]["edges"]["jets scored"] == 5

    # score() on all jets; the selected ones score exactly as in training
    events = _events(handmade["file"])
    from coffea_anomaly.selection import jet_mask

    s = score(events, handmade["image"])[jet_mask(events.FatJet, JET_SEL)]
    np.testing.assert_allclose(np.sort(ak.to_numpy(ak.flatten(s))), np.sort(train_scores), rtol=1e-6)


def test_events_selected_in_training_are_the_events_the_processor_and_score_see(handmade) -> None:
    model = OnnxModel(handmade["dijet"])
    rep = RepresentationChoice("dijet_features", model.card.representation.config)
    train = load_inputs(SampleSpec(str(handmade["file"]), DIJET_SEL), rep, "event", progress=False)
    assert len(train.x) == 2  # events 4 and 6 only

    proc = DijetAnomalyProcessor([handmade["dijet"]], mjj_range=(500.0, 4000.0))
    assert proc.selection == DIJET_SEL
    out = proc.process(_events(handmade["file"]))
    h = out["hists"]["mjj"][{"dataset": "edges", "label": sum}]
    np.testing.assert_array_equal(h.values(), np.histogram(train.aux["mjj"], bins=mjj_axis(500.0, 4000.0).edges)[0])
    assert out["cutflow"]["edges"]["events scored"] == 2
    assert list(out["cutflow"]["edges"].values())[:5] == [8, 7, 5, 3, 2]

    events = _events(handmade["file"])
    keep = np.zeros(len(events), bool)
    keep[[4, 6]] = True
    s = ak.to_numpy(score(events[keep], handmade["dijet"]))
    np.testing.assert_allclose(s, model.score_numpy(train.x)["score"], rtol=1e-6)


def test_a_looser_selection_than_training_is_run_and_said_once(handmade, tmp_path) -> None:
    from coffea_anomaly.runner import RunConfig, run_analysis

    # the config's options replace those of the training selection
    loose = {"lead_pt_min": 1000.0, "deta_max": None}
    cfg = RunConfig(processor="dijet", fileset={"edges": [str(handmade["file"])]},
                    models=[str(handmade["dijet"])], selection=loose, plots=False)  # fmt: skip
    result = run_analysis(cfg, tmp_path)
    assert result.summary["selection"] == selection_to_dict(dataclasses.replace(DIJET_SEL, **loose))
    (warning,) = result.summary["warnings"]
    assert "lead_pt_min=1000.0 (trained with 1200.0)" in warning
    assert "deta_max=None (trained with 1.3)" in warning
    tight = RunConfig(processor="dijet", fileset={"edges": [str(handmade["file"])]},
                      models=[str(handmade["dijet"])], plots=False)  # fmt: skip
    assert run_analysis(tight, tmp_path / "tight").summary["warnings"] == []


def test_the_loader_can_score_through_score_and_agrees_with_the_direct_path(handmade) -> None:
    model = OnnxModel(handmade["dijet"])
    rep = RepresentationChoice("dijet_features", model.card.representation.config)
    spec = SampleSpec(str(handmade["file"]), DIJET_SEL)
    direct = model.score_numpy(load_inputs(spec, rep, "event", progress=False).x)["score"]
    via = load_inputs(spec, rep, "event", progress=False, scorer=model)
    assert via.x.shape == (len(direct), 1)
    np.testing.assert_allclose(via.x[:, 0], direct, rtol=1e-6)
