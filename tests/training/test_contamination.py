"""``train --contaminate``: signal mixed into the training background (Farina et al. §III.C),
on tiny generated samples with the closed-form PCA (seconds, no torch needed)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from coffea_anomaly.cli.main import cli
from coffea_anomaly.inference.card import read_card

pytestmark = pytest.mark.slow

WINDOW = {"pt_min": 550.0, "pt_max": 650.0, "eta_max": 2.0}


def _train(tmp_path: Path, generated: dict[str, Path], name: str, *extra: str):
    cfg = {
        "name": name, "level": "jet", "paper": "farina_nakai_shih_deep_autoencoders",
        "model": {"kind": "pca", "params": {"k": 3}},
        "representation": {"kind": "jet_image", "config": {"npix": 37}},
        "train": {"path": str(generated["qcd_jets"]), "label": "qcd", "selection": WINDOW},
        "signals": [{"path": str(generated["top_jets"]), "label": "top", "selection": {**WINDOW, "truth_match": True}}],
        "loop": {"validation_fraction": 0.2, "seed": 4},
    }  # fmt: skip
    (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(cfg))
    out = tmp_path / f"{name}.onnx"
    result = CliRunner().invoke(cli, ["train", str(tmp_path / f"{name}.yaml"), "--out", str(out), "--quiet", *extra])
    return result, out


def test_contamination_mixes_the_fraction_into_training_only_and_lowers_the_signal_loss(tmp_path, generated) -> None:
    clean, clean_out = _train(tmp_path, generated, "clean")
    assert clean.exit_code == 0, clean.output
    mixed, mixed_out = _train(tmp_path, generated, "mixed", "--contaminate", str(generated["top_jets"]),
                              "--contamination", "0.2")  # fmt: skip
    assert mixed.exit_code == 0, mixed.output
    c, m = read_card(clean_out), read_card(mixed_out)
    assert c.training["contamination"] is None
    facts = m.training["contamination"]
    n_bkg_train = c.training["n_train"]
    assert facts["fraction"] == 0.2 and facts["sample"] == str(generated["top_jets"])
    assert facts["n_signal_items"] == round(0.2 / 0.8 * n_bkg_train)
    # the signal went into the training part only: the same validation background
    assert m.training["n_train"] == n_bkg_train + facts["n_signal_items"]
    assert m.training["n_validation"] == c.training["n_validation"]
    # trained on tops too, the PCA reconstructs tops better: their loss falls, so does the AUC
    assert m.metrics["top_loss"] < c.metrics["top_loss"]
    assert m.metrics["auc_top_vs_qcd"] < c.metrics["auc_top_vs_qcd"]


def test_contamination_that_needs_more_signal_than_the_sample_holds_is_one_clear_error(tmp_path, generated) -> None:
    result, _ = _train(tmp_path, generated, "greedy", "--contaminate", str(generated["top_jets"]),
                       "--contamination", "0.95")  # fmt: skip
    assert result.exit_code != 0
    assert re.search(r"needs \d+ signal items; top_jets has \d+", str(result.exception))
    result, _ = _train(tmp_path, generated, "half", "--contamination", "0.1")
    assert result.exit_code != 0 and "needs --contaminate" in str(result.exception)
