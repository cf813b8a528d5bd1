"""``coffea-anomaly inspect``: the card in words or JSON; bad input is one line, exit 1."""

from __future__ import annotations

import hashlib
import json

import onnx
import pytest
from click.testing import CliRunner
from onnx_toys import make_card, mse_model

from coffea_anomaly.cli.inspect import command
from coffea_anomaly.cli.main import main


@pytest.fixture
def model_path(tmp_path):
    path = tmp_path / "toy.onnx"
    onnx.save(mse_model((2, 2)), str(path))
    return path


def test_inspect_prints_the_card_in_words(model_path):
    result = CliRunner().invoke(command, [str(model_path)])
    assert result.exit_code == 0, result.output
    out = result.output
    assert hashlib.sha256(model_path.read_bytes()).hexdigest() in out
    assert "model: toy_mse  (autoencoder, jet-level)" in out
    assert "representation: toy_pt_image\n  npix = 2" in out
    assert "  x  (N, 2, 2) float32" in out
    assert "  score  (N,) float32  [score]  MSE to a constant; larger = more anomalous" in out
    assert "  score  0: 0, 0.5: 1, 0.9: 2, 0.99: 4" in out
    assert "  n_train  0\n" in out


def test_inspect_json_is_the_stored_card(model_path):
    result = CliRunner().invoke(command, [str(model_path), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == make_card((2, 2)).to_dict()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: None, "does not exist"),
        (lambda p: p.write_text("hello\n"), "is not an ONNX model"),
        (lambda p: onnx.save(mse_model((2, 2), card=False), str(p)), "has no model card"),
    ],
    ids=["missing", "not-onnx", "no-card"],
)
def test_bad_input_is_one_line_and_exit_1(tmp_path, capsys, make, message):
    path = tmp_path / "m.onnx"
    make(path)
    with pytest.raises(SystemExit) as exit_info:
        main(["inspect", str(path)])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("coffea-anomaly: error: ")
    assert message in err


def test_inspect_says_which_selection_the_model_was_trained_with():
    from coffea_anomaly.inference.describe import describe_card
    from coffea_anomaly.selection import JetSelection, selection_to_dict

    card = make_card((2, 2))
    assert "selection: not recorded" in describe_card(card)
    import dataclasses

    card = dataclasses.replace(card, selection=selection_to_dict(JetSelection(pt_min=550.0, pt_max=650.0)))
    assert "selection (jet, trained with): eta_max=2, max_jets=0, pt_max=650, pt_min=550" in describe_card(card)
