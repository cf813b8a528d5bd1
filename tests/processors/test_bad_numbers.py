"""NaN, inf and missing constituents: caught before fastjet and onnxruntime, and counted.

Hand-made files hold good jets beside jets with a non-finite FatJet field, a non-finite
constituent, or no stored constituent. Both processors drop those jets (the dijet one the
events whose pair holds one) at named cutflow steps, every jet and event read stays
accounted for, and no NaN or inf reaches a histogram. The dijet cases run fastjet, which
segfaulted on NaN constituents: they run in a subprocess, so a crash fails the test
instead of killing pytest.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from coffea_anomaly.processors import JetAnomalyProcessor
from handmade_events import BAD_DIJETS, BAD_JETS, run_isolated, write_handmade
from toy_models import dijet_toy, image_toy

from coffea_anomaly.histograms import mass_axis
from coffea_anomaly.inference.onnx_model import OnnxModel
from coffea_anomaly.nanoaod import open_events
from coffea_anomaly.runner import RunConfig, run_analysis
from coffea_anomaly.selection import DijetSelection, JetSelection, selection_to_dict

JET_SEL = JetSelection(pt_min=550.0, pt_max=650.0, eta_max=2.0)
DIJET_SEL = DijetSelection(jet_pt_min=300.0, lead_pt_min=1200.0, eta_max=2.5, deta_max=1.3)
SELECTED_MASSES = [111.0, 121.0, 151.0, 161.0, 201.0]  # the good jets of BAD_JETS in JET_SEL


@pytest.fixture(scope="module")
def bad(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("bad_numbers")
    return {
        "jets": write_handmade(base / "jets.root", **BAD_JETS),
        "dijets": write_handmade(base / "dijets.root", **BAD_DIJETS),
        "image": image_toy(base / "image.onnx", selection=selection_to_dict(JET_SEL)),
        "dijet": dijet_toy(base / "dijet.onnx", selection=selection_to_dict(DIJET_SEL)),
    }


@pytest.fixture
def finite_inputs_only(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Fail if onnxruntime is ever given a non-finite number; counts the items it scores."""
    scored: list[int] = []
    original = OnnxModel.numpy_call

    def checked(self: OnnxModel, x: np.ndarray) -> dict[str, np.ndarray]:
        assert np.isfinite(x).all(), "a non-finite input reached onnxruntime"
        scored.append(len(x))
        return original(self, x)

    monkeypatch.setattr(OnnxModel, "numpy_call", checked)
    return scored


def _jet_accounting(flow: dict[str, int]) -> None:
    """Every jet read is dropped at exactly one step or scored."""
    dropped = flow["jets with non-finite kinematics"] + flow["jets without constituents"]
    dropped += flow["jets with non-finite constituents"]
    assert flow["fat jets"] - dropped >= flow["jets pT, |eta|"] >= flow["jets scored"]


def test_jet_processor_drops_and_counts_bad_jets(bad: dict[str, Path], finite_inputs_only: list[int]) -> None:
    events = open_events(str(bad["jets"]), mode="eager")
    events.metadata["dataset"] = "bad"
    out = JetAnomalyProcessor([bad["image"]]).process(events)
    flow = out["cutflow"]["bad"]
    assert flow == {
        "events": 6,
        "fat jets": 12,
        "jets with non-finite kinematics": 2,
        "jets without constituents": 1,
        "jets with non-finite constituents": 2,
        "jets pT, |eta|": 5,
        "events with a selected jet": 5,
        "jets scored": 5,
    }
    _jet_accounting(flow)
    assert sum(finite_inputs_only) == 5
    hists = {k: h[{"dataset": "bad"}] for k, h in out["hists"].items()}
    np.testing.assert_array_equal(hists["mass"].values(flow=True)[1:-1],
                                  np.histogram(SELECTED_MASSES, bins=mass_axis().edges)[0])  # fmt: skip
    for name, h in hists.items():
        assert np.isfinite(h.values(flow=True)).all(), name
        # all five jets inside the axes: no NaN mass or score in an overflow bin
        assert h.values(flow=True).sum() == h.values().sum() == 5, name


def test_run_summary_counts_bad_jets(bad: dict[str, Path], tmp_path: Path) -> None:
    cfg = RunConfig(processor="jet", fileset={"bad": [str(bad["jets"])]}, models=[str(bad["image"])], plots=False)
    run_analysis(cfg, tmp_path)
    ds = json.loads((tmp_path / "summary.json").read_text())["datasets"]["bad"]
    assert ds["all_events_accounted"]
    flow = ds["cutflow"]
    assert (flow["jets with non-finite kinematics"], flow["jets without constituents"],
            flow["jets with non-finite constituents"], flow["jets scored"]) == (2, 1, 2, 5)  # fmt: skip
    _jet_accounting(flow)


def test_training_loader_never_sees_bad_jets(bad: dict[str, Path]) -> None:
    from coffea_anomaly.training.data import load_inputs
    from coffea_anomaly.training.settings import RepresentationChoice, SampleSpec

    model = OnnxModel(bad["image"])
    rep = RepresentationChoice("jet_image", model.card.representation.config)
    train = load_inputs(SampleSpec(str(bad["jets"]), JET_SEL), rep, "jet", progress=False)
    assert sorted(train.aux["mass"].tolist()) == SELECTED_MASSES
    assert np.isfinite(train.x).all()
    assert train.n_nonfinite == 0


_DIJET_SCRIPT = """
import json, sys
from coffea_anomaly.processors import DijetAnomalyProcessor
from coffea_anomaly.nanoaod import open_events
from coffea_anomaly.runner import RunConfig, run_analysis
from coffea_anomaly.selection import DijetSelection
from coffea_anomaly.training.data import load_inputs
from coffea_anomaly.training.settings import RepresentationChoice, SampleSpec

path, model, out = sys.argv[1:4]
events = open_events(path, mode="eager")
events.metadata["dataset"] = "bad"
result = DijetAnomalyProcessor([model], mjj_range=(500.0, 4000.0)).process(events)
hists = {k: h[{"dataset": "bad"}].values(flow=True).tolist() for k, h in result["hists"].items()}
cfg = RunConfig(processor="dijet", fileset={"bad": [path]}, models=[model], plots=False)
summary = run_analysis(cfg, out).summary["datasets"]["bad"]
rep = RepresentationChoice("dijet_features", {"features": ["tau21", "tau32"]})
sel = DijetSelection(jet_pt_min=300.0, lead_pt_min=1200.0, eta_max=2.5, deta_max=1.3)
train = load_inputs(SampleSpec(path, sel), rep, "event", progress=False)
print(json.dumps({"cutflow": result["cutflow"]["bad"], "hists": hists, "summary": summary,
                  "n_train": len(train.x), "n_nonfinite": train.n_nonfinite},
                 default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o)))
"""


def test_dijet_processor_drops_events_with_a_bad_jet_in_the_pair(bad: dict[str, Path], tmp_path: Path) -> None:
    res = run_isolated(_DIJET_SCRIPT, str(bad["dijets"]), str(bad["dijet"]), str(tmp_path / "run"))
    flow = res["cutflow"]
    assert flow == {
        "events": 9,
        ">= 2 fat jets": 9,
        "jets pT, |eta|": 9,       # a non-finite pair passes the cuts ...
        "leading jet pT": 9,
        "|delta eta|": 8,
        "pair: finite kinematics": 5,  # ... and is dropped here: events 1, 2, 3
        "pair: constituents stored": 4,  # event 6
        "pair: finite constituents": 2,  # events 4 and 5
        "events scored": 2,  # events 0 and 7
    }  # fmt: skip
    for name, values in res["hists"].items():
        values = np.asarray(values)
        assert np.isfinite(values).all(), name
        assert values.sum() == 2, name
        assert values[(slice(1, -1),) * values.ndim].sum() == 2, name  # none in flow bins
    summary = res["summary"]
    assert summary["all_events_accounted"]
    assert summary["cutflow"] == flow
    assert (res["n_train"], res["n_nonfinite"]) == (2, 0)
