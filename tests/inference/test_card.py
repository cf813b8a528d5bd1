"""The model card: construction, validation, round trips and ONNX metadata storage."""

from __future__ import annotations

import dataclasses
import json

import onnx
import pytest
from onnx_toys import make_card, mse_model

from coffea_anomaly.errors import InputDataError, ModelCardError
from coffea_anomaly.inference.card import (
    CARD_KEY,
    ModelCard,
    RepresentationSpec,
    TensorSpec,
    read_card,
    write_card,
)


def test_dict_and_json_round_trip_exactly():
    card = make_card((3, 3), config={"npix": 3, "r": (0.8, 1.2), "nested": {"a": [1, 2]}})
    d = card.to_dict()
    assert ModelCard.from_dict(d) == card
    assert ModelCard.from_dict(d).to_dict() == d
    assert ModelCard.from_json(card.to_json()) == card
    # tuples given in the representation config are stored as JSON lists, so they compare equal
    assert card.representation.config["r"] == [0.8, 1.2]
    assert d["inputs"] == [{"name": "x", "shape": [None, 3, 3], "dtype": "float32", "meaning": ""}]


def test_card_written_to_onnx_reads_back(tmp_path):
    model = mse_model((2, 2))
    path = tmp_path / "m.onnx"
    onnx.save(model, str(path))
    card = read_card(path)
    assert card == make_card((2, 2))
    assert read_card(path.read_bytes()) == card
    assert read_card(model) == card
    keys = [p.key for p in onnx.load(str(path)).metadata_props]
    assert keys == [CARD_KEY]


def test_write_card_replaces_the_old_card_and_saves_paths(tmp_path):
    path = tmp_path / "m.onnx"
    onnx.save(mse_model((2, 2), card=False), str(path))
    write_card(path, make_card((2, 2), name="first"))
    write_card(path, make_card((2, 2), name="second"))
    assert read_card(path).name == "second"
    assert [p.key for p in onnx.load(str(path)).metadata_props] == [CARD_KEY]


def test_missing_card_is_a_model_card_error(tmp_path):
    path = tmp_path / "bare.onnx"
    onnx.save(mse_model((2, 2), card=False), str(path))
    with pytest.raises(ModelCardError, match=r"bare\.onnx has no model card"):
        read_card(path)


def test_not_onnx_and_missing_file_are_clear(tmp_path):
    text = tmp_path / "notes.onnx"
    text.write_text("this is not a model\n")
    with pytest.raises(ModelCardError, match="is not an ONNX model"):
        read_card(text)
    with pytest.raises(InputDataError, match="does not exist"):
        read_card(tmp_path / "nowhere.onnx")


def test_invalid_json_or_missing_field_in_stored_card():
    model = mse_model((2, 2))
    model.metadata_props[0].value = "{not json"
    with pytest.raises(ModelCardError, match="not valid JSON"):
        read_card(model)
    d = make_card((2, 2)).to_dict()
    del d["level"], d["score_names"]
    model.metadata_props[0].value = json.dumps(d)
    with pytest.raises(ModelCardError, match="missing field.*level, score_names"):
        read_card(model)


def test_unknown_field_is_rejected():
    d = make_card((2, 2)).to_dict()
    d["colour"] = "blue"
    with pytest.raises(ModelCardError, match="unknown option.*colour"):
        ModelCard.from_dict(d)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"level": "jets"}, "level must be one of jet, event"),
        ({"score_names": ("loss",)}, "score name.*loss.*not outputs"),
        ({"score_names": ()}, "at least one output"),
        ({"card_version": 2}, "version 2 is not supported"),
        ({"name": ""}, "'name' must not be empty"),
        ({"metrics": {"auc": float("nan")}}, "'metrics' is not plain JSON"),
        ({"background_quantiles": {"score": {"q": [0.5, 0.4], "value": [1, 2]}}}, "increase"),
        ({"background_quantiles": {"score": {"q": [0.1, 0.4], "value": [2, 1]}}}, "not decrease"),
        ({"background_quantiles": {"score": {"q": [0.5], "value": [1, 2]}}}, "equal length"),
        ({"background_quantiles": {"other": {"q": [0.5], "value": [1]}}}, "names no score"),
        ({"background_quantiles": {"q": [0.5], "value": [1]}}, "names no score"),
    ],
)
def test_invalid_cards_are_rejected(change, message):
    with pytest.raises(ModelCardError, match=message):
        dataclasses.replace(make_card((2, 2)), **change)


def test_invalid_tensor_specs_are_rejected():
    with pytest.raises(ModelCardError, match="invalid dimension 0"):
        TensorSpec("x", (None, 0))
    with pytest.raises(ModelCardError, match="dtype 'complex64'"):
        TensorSpec("x", (None, 2), dtype="complex64")
    with pytest.raises(ModelCardError, match="non-empty 'kind'"):
        RepresentationSpec("", {})


def test_write_card_checks_the_card_against_the_graph():
    model = mse_model((2, 2), card=False)
    with pytest.raises(ModelCardError, match=r"shape \(N, 3, 3\) but the graph has \(N, 2, 2\)"):
        write_card(model, make_card((3, 3)))
    bad_name = dataclasses.replace(make_card((2, 2)), inputs=(TensorSpec("img", (None, 2, 2)),))
    with pytest.raises(ModelCardError, match="declares input 'img'.*inputs are: x"):
        write_card(model, bad_name)
    assert not model.metadata_props  # nothing was written


def test_threshold_interpolates_stored_background_quantiles():
    card = make_card((2, 2))  # q [0, .5, .9, .99] -> value [0, 1, 2, 4]
    assert card.threshold("score", 0.5) == 1.0
    assert card.threshold("score", 0.99) == 4.0
    assert card.threshold("score", 0.7) == pytest.approx(1.5)
    assert card.threshold("score", 0.945) == pytest.approx(3.0)
    with pytest.raises(ModelCardError, match=r"outside the range.*\[0\.0, 0\.99\]"):
        card.threshold("score", 0.999)
    with pytest.raises(ModelCardError, match="no background quantiles for 'mse'"):
        card.threshold("mse", 0.5)
