"""OnnxModel: the card drives the input, scores are right, aligned, batched and picklable.

The model is the hand-built ``score = mean((x - c)**2)`` graph, so every expected score is
computed here from the input with numpy. The stand-in representation ``toy_image`` puts a
jet's summed constituent pT and constituent count in a 2x2 image (zero image when a jet
has no constituents).
"""

from __future__ import annotations

import pickle

import awkward as ak
import dask
import dask_awkward as dak
import numpy as np
import pytest
from onnx_toys import mse_model, toy_dijet, toy_image

from coffea_anomaly.errors import ModelCardError, ShapeMismatchError
from coffea_anomaly.inference.onnx_model import OnnxModel, SessionSettings, default_providers

C = np.array([[0.5, 1.0], [-1.0, 2.0]], dtype=np.float32)


def expected_mse(x: np.ndarray) -> np.ndarray:
    return ((x.astype(np.float64) - C) ** 2).mean(axis=(1, 2))


@pytest.fixture
def model() -> OnnxModel:
    return OnnxModel(mse_model((2, 2), C).SerializeToString(), input_builder=toy_image)


@pytest.fixture
def jets_and_constituents() -> tuple[ak.Array, ak.Array]:
    """3 events: two jets (the second without constituents), none, one jet."""
    jets = ak.Array([[{"pt": 10.0}, {"pt": 20.0}], [], [{"pt": 30.0}]])
    constituents = ak.Array(
        [[[{"pt": 1.0}, {"pt": 2.0}], []], [], [[{"pt": 4.0}, {"pt": 0.5}, {"pt": 0.25}]]]
    )
    return jets, constituents


@pytest.fixture
def no_column_optimization():
    # dask-awkward 2025.3's column optimisation fails on every graph with dask 2026.8
    # ("Missing dependency ... finalize"), independent of this code; switch it off here.
    with dask.config.set({"awkward.optimization.enabled": False}):
        yield


def test_numpy_scores_match_the_analytic_mse(model):
    x = np.random.default_rng(1).normal(size=(50, 2, 2)).astype(np.float32)
    out = model.score_numpy(x)
    assert list(out) == ["score"]
    assert out["score"].shape == (50,)
    np.testing.assert_allclose(out["score"], expected_mse(x), rtol=1e-6)


def test_float64_input_is_cast_to_the_declared_float32(model):
    x = np.random.default_rng(2).normal(size=(5, 2, 2))
    np.testing.assert_allclose(model.score_numpy(x)["score"], expected_mse(x), rtol=1e-6)


@pytest.mark.parametrize("batch_size", [1, 7, 100_000])
def test_batch_size_does_not_change_the_scores(batch_size):
    x = np.random.default_rng(3).normal(size=(23, 2, 2)).astype(np.float32)
    reference = OnnxModel(mse_model((2, 2), C)).score_numpy(x)["score"]
    batched = OnnxModel(mse_model((2, 2), C), batch_size=batch_size).score_numpy(x)["score"]
    np.testing.assert_array_equal(batched, reference)


def test_shape_mismatch_names_both_shapes(model):
    with pytest.raises(ShapeMismatchError, match=r"shape \(N, 2, 2\) but got \(5, 3, 3\)"):
        model.score_numpy(np.zeros((5, 3, 3), np.float32))
    with pytest.raises(ShapeMismatchError, match=r"shape \(N, 2, 2\) but got \(4,\)"):
        model.score_numpy(np.zeros(4, np.float32))
    with pytest.raises(ShapeMismatchError, match="dtype float32 but got complex64"):
        model.score_numpy(np.zeros((1, 2, 2), np.complex64))


def test_model_without_card_is_refused():
    with pytest.raises(ModelCardError, match="has no model card"):
        OnnxModel(mse_model((2, 2), card=False))


def test_scores_are_aligned_with_jagged_jets(model, jets_and_constituents):
    jets, constituents = jets_and_constituents
    scores = model(jets, constituents)
    assert ak.num(scores, axis=1).tolist() == [2, 0, 1]
    images = toy_image(jets, constituents)
    assert images[1].tolist() == [[0.0, 0.0], [0.0, 0.0]]  # no constituents: zero image
    np.testing.assert_allclose(ak.flatten(scores).to_numpy(), expected_mse(images), rtol=1e-6)
    # the jet without constituents still has a score: that of the zero image
    assert scores[0, 1] == pytest.approx(float((C.astype(np.float64) ** 2).mean()))


def test_flat_jets_give_flat_scores(model, jets_and_constituents):
    jets, constituents = jets_and_constituents
    flat = model(ak.flatten(jets), ak.flatten(constituents, axis=1))
    assert flat.ndim == 1
    assert flat.tolist() == ak.flatten(model(jets, constituents)).tolist()


def test_no_jets_give_empty_scores(model, jets_and_constituents):
    jets, constituents = jets_and_constituents
    scores = model(jets[1:2], constituents[1:2])  # the event without jets
    assert scores.tolist() == [[]]
    assert model.score_numpy(np.zeros((0, 2, 2), np.float32))["score"].shape == (0,)


def test_two_score_model_returns_a_record(jets_and_constituents):
    jets, constituents = jets_and_constituents
    model = OnnxModel(mse_model((2, 2), C, two_scores=True), input_builder=toy_image)
    out = model(jets, constituents)
    assert out.fields == ["score", "mean"]
    images = toy_image(jets, constituents)
    np.testing.assert_allclose(ak.flatten(out.score).to_numpy(), expected_mse(images), rtol=1e-6)
    np.testing.assert_allclose(ak.flatten(out.mean).to_numpy(), images.mean(axis=(1, 2)), rtol=1e-6)


@pytest.mark.usefixtures("no_column_optimization")
@pytest.mark.parametrize("npartitions", [1, 2, 3])
def test_dask_awkward_gives_the_eager_scores(model, jets_and_constituents, npartitions):
    jets, constituents = jets_and_constituents
    lazy = model(
        dak.from_awkward(jets, npartitions=npartitions),
        dak.from_awkward(constituents, npartitions=npartitions),
    )
    assert isinstance(lazy, dak.Array)
    assert lazy.compute().tolist() == model(jets, constituents).tolist()


@pytest.mark.usefixtures("no_column_optimization")
def test_dask_two_score_record_matches_eager(jets_and_constituents):
    jets, constituents = jets_and_constituents
    model = OnnxModel(mse_model((2, 2), C, two_scores=True), input_builder=toy_image)
    lazy = model(dak.from_awkward(jets, 2), dak.from_awkward(constituents, 2))
    assert lazy.compute().tolist() == model(jets, constituents).tolist()


def test_session_is_not_pickled_and_is_rebuilt(model, jets_and_constituents):
    jets, constituents = jets_and_constituents
    before = model(jets, constituents)
    assert model._session is not None
    blob = pickle.dumps(model)
    clone = pickle.loads(blob)
    assert clone._session is None
    assert clone.sha256 == model.sha256
    assert clone.card == model.card
    assert clone(jets, constituents).tolist() == before.tolist()


def test_one_session_per_model_and_settings_in_a_process():
    data = mse_model((2, 2), C).SerializeToString()
    a, b = OnnxModel(data), OnnxModel(data)
    assert a.session is b.session
    c = OnnxModel(data, intra_op_threads=1, inter_op_threads=2)
    assert c.session is not a.session
    options = c.session.get_session_options()
    assert (options.intra_op_num_threads, options.inter_op_num_threads) == (1, 2)
    assert a.session.get_providers()[0] == default_providers()[0]
    cpu = OnnxModel(data, providers=["CPUExecutionProvider"])
    assert cpu.session.get_providers() == ["CPUExecutionProvider"]
    other = OnnxModel(mse_model((2, 2), 0.0))
    assert other.session is not a.session


def test_session_settings_are_validated():
    with pytest.raises(ValueError, match="intra_op_threads must be an integer >= 0"):
        SessionSettings(intra_op_threads=-1)
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        OnnxModel(mse_model((2, 2)), batch_size=0)


def test_representation_with_wrong_item_count_is_caught(jets_and_constituents):
    jets, constituents = jets_and_constituents

    def one_short(j, c):
        return toy_image(j, c)[:-1]

    model = OnnxModel(mse_model((2, 2)), input_builder=one_short)
    with pytest.raises(ShapeMismatchError, match="built 2 inputs for 3 jets"):
        model(jets, constituents)


def test_event_level_model_scores_events():
    jets = ak.Array([[{"pt": 3.0}, {"pt": 1.0}], [{"pt": 2.0}, {"pt": 2.0}]])
    model = OnnxModel(mse_model((2, 2), level="event", kind="toy_dijet"), input_builder=toy_dijet)
    scores = model(jets)
    assert scores.ndim == 1
    np.testing.assert_allclose(scores.to_numpy(), [(9 + 1) / 4, (4 + 4) / 4], rtol=1e-6)


@pytest.mark.usefixtures("no_column_optimization")
def test_event_level_model_on_dask_without_constituents():
    jets = ak.Array([[{"pt": 3.0}, {"pt": 1.0}], [{"pt": 2.0}, {"pt": 2.0}], [{"pt": 1.0}, {"pt": 0.0}]])
    model = OnnxModel(mse_model((2, 2), level="event", kind="toy_dijet"), input_builder=toy_dijet)
    lazy = model(dak.from_awkward(jets, npartitions=2))
    np.testing.assert_allclose(lazy.compute().to_numpy(), [10 / 4, 8 / 4, 1 / 4], rtol=1e-6)


def test_dask_token_follows_the_model_not_the_object():
    data = mse_model((2, 2), C).SerializeToString()
    assert dask.base.tokenize(OnnxModel(data)) == dask.base.tokenize(OnnxModel(data))
    assert dask.base.tokenize(OnnxModel(data)) != dask.base.tokenize(OnnxModel(data, batch_size=3))
