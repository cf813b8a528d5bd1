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
# score() gives None, not the zero image's score, to the jet without constituents
SCORED_TO_ZERO = [[(9 + 4) / 4, None], [], [(16 + 1) / 4]]
SCORED_TO_ONE = [[(4 + 1 + 1 + 1) / 4, None], [], [(9 + 0 + 1 + 1) / 4]]


def toy(const: float, name: str, **kw) -> OnnxModel:
    return OnnxModel(mse_model((2, 2), const, name=name, **kw), input_builder=toy_image)


def test_score_with_a_ready_model():
    assert score(JETS, toy(0.0, "a"), constituents=CONSTITUENTS).tolist() == SCORED_TO_ZERO


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
    assert losses.qcd.tolist() == SCORED_TO_ZERO
    assert losses.wprime.tolist() == SCORED_TO_ONE


def test_bundle_mapping_names_fields_and_multi_score_models_get_prefixed():
    bundle = ModelBundle({"bkg": toy(0.0, "x"), "sig": toy(1.0, "x", two_scores=True)})
    # named as everywhere else (histograms, summaries): model, or model.score
    assert bundle.fields == ["bkg", "sig.score", "sig.mean"]
    out = bundle(JETS, CONSTITUENTS)
    assert out.fields == bundle.fields
    assert out["sig.score"].tolist() == MSE_TO_ONE
    assert out["sig.mean"].tolist() == [[5 / 4, 0.0], [], [5 / 4]]


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


@pytest.fixture(scope="module")
def v15_events(cms_files):
    """The real NanoAOD-v15 ttbar file as virtual NanoEvents, with its fat-jet constituents."""
    from coffea.nanoevents import NanoAODSchema, NanoEventsFactory

    from coffea_anomaly.representations.constituents import fatjet_constituents

    events = NanoEventsFactory.from_root(
        {str(cms_files["v15"]): "Events"}, schemaclass=NanoAODSchema, mode="virtual"
    ).events()
    return events, fatjet_constituents(events)


@pytest.fixture(scope="module")
def image_model_path(tmp_path_factory):
    """MSE-to-0.01 model on the real ``jet_image`` representation (default 40x40 config)."""
    from coffea_anomaly.config import config_to_dict
    from coffea_anomaly.representations.image_config import ImageConfig

    path = tmp_path_factory.mktemp("models") / "image_toy.onnx"
    config = config_to_dict(ImageConfig())
    onnx.save(mse_model((40, 40), 0.01, kind="jet_image", config=config), str(path))
    return path


def test_score_real_events_by_path_uses_the_card_representation(v15_events, image_model_path):
    from coffea_anomaly.representations.registry import build_input

    events, constituents = v15_events
    scores = score(events, image_model_path)  # FatJet and constituents found in the events
    assert ak.num(scores, axis=1).tolist() == ak.num(events.FatJet, axis=1).tolist()
    card = OnnxModel(image_model_path).card
    images = build_input("jet_image", card.representation.config, events.FatJet, constituents)
    expected = ((images.astype(np.float64) - 0.01) ** 2).mean(axis=(1, 2))
    # jets without stored constituents are not scored: None, not the zero image's 0.01**2
    empty = ak.flatten(ak.num(constituents, axis=2) == 0).to_numpy()
    assert 0 < empty.sum() < len(empty)
    assert ak.flatten(ak.is_none(scores, axis=1)).to_numpy().tolist() == empty.tolist()
    flat = ak.flatten(scores)
    np.testing.assert_allclose(ak.to_numpy(flat[~empty]), expected[~empty], rtol=1e-5)


def test_real_jets_on_dask_match_eager(v15_events, image_model_path):
    events, constituents = v15_events
    fields = ["pt", "eta", "phi", "mass"]
    jets = ak.to_packed(ak.zip({f: events.FatJet[f] for f in fields}))
    constituents = ak.to_packed(constituents)
    model = OnnxModel(image_model_path)
    eager = model(jets, constituents)
    # dask-awkward 2025.3's column optimisation fails with dask 2026.8 (see test_onnx_model)
    with dask.config.set({"awkward.optimization.enabled": False}):
        lazy = model(dak.from_awkward(jets, 3), dak.from_awkward(constituents, 3))
        assert lazy.compute().tolist() == eager.tolist()


def test_score_real_pfnano_events(cms_files, image_model_path):
    from coffea.nanoevents import NanoAODSchema, NanoEventsFactory

    events = NanoEventsFactory.from_root(
        {str(cms_files["pfnano"]): "Events"}, schemaclass=NanoAODSchema, mode="virtual"
    ).events()
    scores = score(events, image_model_path)
    assert ak.num(scores, axis=1).tolist() == ak.num(events.FatJet, axis=1).tolist()
    assert ak.sum(ak.num(scores, axis=1)) > 0
    assert np.isfinite(ak.flatten(scores).to_numpy()).all()
