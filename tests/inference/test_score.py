"""score() and ModelBundle: one call for one model, a record of losses for several."""

from __future__ import annotations

import awkward as ak
import dask
import dask_awkward as dak
import numpy as np
import onnx
import pytest
from onnx_toys import mse_model, toy_dijet, toy_image

from coffea_anomaly.errors import InputDataError, ModelCardError
from coffea_anomaly.inference.bundle import ModelBundle
from coffea_anomaly.inference.onnx_model import OnnxModel
from coffea_anomaly.inference.score import as_scorer, score

JETS = ak.Array([[{"pt": 10.0}, {"pt": 20.0}], [], [{"pt": 30.0}]])
CONSTITUENTS = ak.Array([[[{"pt": 1.0}, {"pt": 2.0}], []], [], [[{"pt": 4.0}]]])
# toy images of the three jets: [[3, 2], [0, 0]], zeros, [[4, 1], [0, 0]]
MSE_TO_ZERO = [[(9 + 4) / 4, 0.0], [], [(16 + 1) / 4]]
MSE_TO_ONE = [[(4 + 1 + 1 + 1) / 4, 1.0], [], [(9 + 0 + 1 + 1) / 4]]


def toy(const: float, name: str, **kw) -> OnnxModel:
    return OnnxModel(mse_model((2, 2), const, name=name, **kw), input_builder=toy_image)


def test_score_with_a_ready_model():
    assert score(JETS, toy(0.0, "a"), constituents=CONSTITUENTS).tolist() == MSE_TO_ZERO


def test_score_with_a_path_uses_the_card_representation(tmp_path, monkeypatch):
    path = tmp_path / "toy.onnx"
    onnx.save(mse_model((2, 2), 1.0), str(path))
    # a path builds the input from the card's representation through the registry
    import coffea_anomaly.inference.onnx_model as om

    class Registry:
        @staticmethod
        def build_input(kind, config, jets, constituents):
            assert (kind, config) == ("toy_pt_image", {"npix": 2})
            return toy_image(jets, constituents)

    monkeypatch.setitem(__import__("sys").modules, "coffea_anomaly.representations.registry", Registry)
    assert om  # the module imports the registry lazily, at call time
    assert score(JETS, path, constituents=CONSTITUENTS).tolist() == MSE_TO_ONE
    assert score(JETS, str(path), constituents=CONSTITUENTS, batch_size=1).tolist() == MSE_TO_ONE


def test_same_path_and_options_reuse_one_model(tmp_path):
    path = tmp_path / "toy.onnx"
    onnx.save(mse_model((2, 2)), str(path))
    assert as_scorer(path) is as_scorer(str(path))
    assert as_scorer(path, batch_size=3) is not as_scorer(path)
    onnx.save(mse_model((2, 2), 1.0), str(path))  # rewritten file: read again
    assert as_scorer(path).sha256 != OnnxModel(mse_model((2, 2))).sha256


def test_unknown_model_name_lists_what_is_shipped():
    with pytest.raises(InputDataError, match="neither a file nor a shipped model"):
        score(JETS, "no_such_model", constituents=CONSTITUENTS)


def test_options_with_a_ready_model_are_refused():
    with pytest.raises(TypeError, match="batch_size"):
        score(JETS, toy(0.0, "a"), constituents=CONSTITUENTS, batch_size=2)


def test_bundle_returns_one_field_per_model():
    losses = score(JETS, [toy(0.0, "qcd"), toy(1.0, "wprime")], constituents=CONSTITUENTS)
    assert losses.fields == ["qcd", "wprime"]
    assert losses.qcd.tolist() == MSE_TO_ZERO
    assert losses.wprime.tolist() == MSE_TO_ONE


def test_bundle_mapping_names_fields_and_multi_score_models_get_prefixed():
    bundle = ModelBundle({"bkg": toy(0.0, "x"), "sig": toy(1.0, "x", two_scores=True)})
    assert bundle.fields == ["bkg", "sig_score", "sig_mean"]
    out = bundle(JETS, CONSTITUENTS)
    assert out.fields == bundle.fields
    assert out.sig_score.tolist() == MSE_TO_ONE
    assert out.sig_mean.tolist() == [[5 / 4, 0.0], [], [5 / 4]]


def test_bundle_rejects_clashing_names_and_mixed_levels():
    with pytest.raises(ModelCardError, match="repeated: a"):
        ModelBundle([toy(0.0, "a"), toy(1.0, "a")])
    event = OnnxModel(mse_model((2, 2), level="event", name="ev"), input_builder=toy_dijet)
    with pytest.raises(ModelCardError, match="share one level, got a=jet, ev=event"):
        ModelBundle([toy(0.0, "a"), event])


def test_bundle_on_dask_matches_eager():
    bundle = ModelBundle([toy(0.0, "qcd"), toy(1.0, "wprime")])
    # dask-awkward 2025.3's column optimisation fails with dask 2026.8 (see test_onnx_model)
    with dask.config.set({"awkward.optimization.enabled": False}):
        lazy = bundle(dak.from_awkward(JETS, 2), dak.from_awkward(CONSTITUENTS, 2))
        assert lazy.compute().tolist() == bundle(JETS, CONSTITUENTS).tolist()


def test_event_level_scoring_takes_the_two_leading_jets():
    model = OnnxModel(mse_model((2, 2), level="event", kind="toy_dijet"), input_builder=toy_dijet)
    jets = ak.Array([[{"pt": 3.0}, {"pt": 1.0}, {"pt": 0.5}], [{"pt": 2.0}, {"pt": 2.0}]])
    np.testing.assert_allclose(score(jets, model).to_numpy(), [10 / 4, 8 / 4], rtol=1e-6)
    with pytest.raises(InputDataError, match="1 of 2 events have fewer than two FatJet"):
        score(ak.Array([[{"pt": 3.0}], [{"pt": 2.0}, {"pt": 2.0}]]), model)


@pytest.mark.filterwarnings("ignore:Missing cross-reference index:RuntimeWarning")
def test_score_virtual_events_from_a_real_v15_file_finds_constituents(cms_files):
    from coffea.nanoevents import NanoAODSchema, NanoEventsFactory

    from coffea_anomaly.representations.constituents import fatjet_constituents

    events = NanoEventsFactory.from_root(
        {str(cms_files["v15"]): "Events"},
        schemaclass=NanoAODSchema,
        mode="virtual",
    ).events()
    model = toy(0.0, "a")
    scores = score(events, model)
    assert ak.num(scores, axis=1).tolist() == ak.num(events.FatJet, axis=1).tolist()
    images = toy_image(events.FatJet, fatjet_constituents(events))
    expected = ((images.astype(np.float64)) ** 2).mean(axis=(1, 2))
    np.testing.assert_allclose(ak.flatten(scores).to_numpy(), expected, rtol=1e-5)
    # the file has jets with and without stored constituents: both get a score
    assert (expected > 0).any()
    assert (expected == 0).any()
