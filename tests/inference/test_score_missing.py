"""score(): missing is missing, and jets taken from NanoEvents find their constituents.

A jet with a non-finite ``pt, eta, phi, mass``, a non-finite constituent or no stored
constituent gets None (awkward option type), never a made-up score, and never reaches
onnxruntime; eager, virtual and dask-awkward alike. ``score(events.FatJet[sel], model)``
(the README's pattern) finds the jets' constituents through their events, whatever the
slicing; plain awkward jets without ``constituents=`` get one clear line.
"""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import dask
import numpy as np
import pytest
from handmade_events import BAD_DIJETS, BAD_JETS, BAD_JETS_SCORABLE, run_isolated, write_handmade
from toy_models import dijet_toy, image_toy

from coffea_anomaly import score
from coffea_anomaly.errors import InputDataError
from coffea_anomaly.inference.onnx_model import OnnxModel
from coffea_anomaly.nanoaod import open_events
from coffea_anomaly.representations import fatjet_constituents


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("score_missing")
    return {
        "jets": write_handmade(base / "jets.root", **BAD_JETS),
        "dijets": write_handmade(base / "dijets.root", **BAD_DIJETS),
        "image": image_toy(base / "image.onnx"),
        "dijet": dijet_toy(base / "dijet.onnx"),
    }


@pytest.fixture
def finite_inputs_only(monkeypatch: pytest.MonkeyPatch) -> None:
    original = OnnxModel.numpy_call

    def checked(self: OnnxModel, x: np.ndarray) -> dict[str, np.ndarray]:
        assert np.isfinite(x).all(), "a non-finite input reached onnxruntime"
        return original(self, x)

    monkeypatch.setattr(OnnxModel, "numpy_call", checked)


def _expected(path: Path, model: Path) -> list[list[float | None]]:
    """The toy model on each scorable jet alone (built by hand), None for the others."""
    events = open_events(str(path), mode="eager")
    good = ak.Array(BAD_JETS_SCORABLE)
    scores = OnnxModel(model)(events.FatJet[good], fatjet_constituents(events)[good]).tolist()
    return [[scores[e].pop(0) if ok else None for ok in row] for e, row in enumerate(BAD_JETS_SCORABLE)]


@pytest.mark.parametrize("mode", ["eager", "virtual"])
def test_unscorable_jets_get_none(files, finite_inputs_only, mode: str) -> None:
    events = open_events(str(files["jets"]), mode=mode)
    scores = score(events, files["image"])
    assert str(ak.type(scores)).endswith("var * ?float32")
    assert ak.is_none(scores, axis=1).tolist() == [[not ok for ok in row] for row in BAD_JETS_SCORABLE]
    assert scores.tolist() == _expected(files["jets"], files["image"])


def test_unscorable_jets_get_none_on_dask(files, finite_inputs_only) -> None:
    events = open_events(str(files["jets"]), mode="dask")
    # dask-awkward's column optimisation fails with this dask (see test_onnx_model)
    with dask.config.set({"awkward.optimization.enabled": False}):
        lazy = score(events, files["image"])
        assert lazy.compute().tolist() == _expected(files["jets"], files["image"])


def test_given_constituents_are_checked_too(files, finite_inputs_only) -> None:
    events = open_events(str(files["jets"]), mode="eager")
    jets = ak.zip({f: events.FatJet[f] for f in ("pt", "eta", "phi", "mass")}, with_name="Momentum4D")
    scores = score(jets, files["image"], constituents=fatjet_constituents(events))
    assert scores.tolist() == _expected(files["jets"], files["image"])


_EVENT_SCRIPT = """
import json, sys
import awkward as ak
from coffea_anomaly import score
from coffea_anomaly.nanoaod import open_events

events = open_events(sys.argv[1], mode="eager")
print(json.dumps(ak.is_none(score(events, sys.argv[2])).tolist()))
"""


def test_event_score_is_none_when_the_pair_holds_a_bad_jet(files) -> None:
    # fastjet segfaulted on NaN constituents: run where a crash fails the test
    missing = run_isolated(_EVENT_SCRIPT, str(files["dijets"]), str(files["dijet"]))
    assert missing == [False, True, True, True, True, True, True, False, False]


# --- jets taken from NanoEvents find their constituents -----------------------------------


@pytest.mark.parametrize("mode", ["eager", "virtual"])
def test_sliced_nanoevents_jets_find_their_constituents(files, mode: str) -> None:
    events = open_events(str(files["jets"]), mode=mode)
    everything = score(events, files["image"])
    sel = events.FatJet.pt > 585.0
    assert score(events.FatJet[sel], files["image"]).tolist() == everything[sel].tolist()
    keep = np.array([True, False, True, True, False, True])
    assert score(events[keep].FatJet, files["image"]).tolist() == everything[keep].tolist()
    assert score(events.FatJet[keep][:, :1], files["image"]).tolist() == everything[keep][:, :1].tolist()
    order = ak.argsort(events.FatJet.mass, ascending=False)
    assert score(events.FatJet[order], files["image"]).tolist() == everything[order].tolist()
    assert score(ak.flatten(events.FatJet), files["image"]).tolist() == ak.flatten(everything).tolist()


def test_sliced_dask_jets_find_their_constituents(files) -> None:
    events = open_events(str(files["jets"]), mode="dask")
    eager = open_events(str(files["jets"]), mode="eager")
    sel = eager.FatJet.pt > 585.0
    with dask.config.set({"awkward.optimization.enabled": False}):
        lazy = score(events.FatJet[events.FatJet.pt > 585.0], files["image"])
        assert lazy.compute().tolist() == score(eager, files["image"])[sel].tolist()


def test_plain_jets_without_constituents_say_what_to_pass(files) -> None:
    events = open_events(str(files["jets"]), mode="eager")
    plain = ak.zip({f: events.FatJet[f] for f in ("pt", "eta", "phi", "mass")})
    for jets in (plain, ak.Array(plain.tolist())):
        with pytest.raises(InputDataError, match="pass them with constituents=") as err:
            score(jets, files["image"])
        assert "\n" not in str(err.value)
    with pytest.raises(InputDataError, match="constituents="):
        score(ak.Array([[{"pt": 1.0}]]), files["image"])
