"""``coffea-anomaly train`` and ``evaluate`` end to end on tiny generated samples."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

pytest.importorskip("torch")

from coffea_anomaly.cli.main import cli, main
from coffea_anomaly.config import config_to_dict
from coffea_anomaly.inference.card import read_card
from coffea_anomaly.inference.onnx_model import OnnxModel
from coffea_anomaly.representations import FeatureConfig, ImageConfig
from coffea_anomaly.selection import DijetSelection, JetSelection
from coffea_anomaly.training.data import load_inputs
from coffea_anomaly.training.metrics import roc_auc
from coffea_anomaly.training.settings import RepresentationChoice, SampleSpec

pytestmark = pytest.mark.slow

WINDOW = {"pt_min": 550.0, "pt_max": 650.0, "eta_max": 2.0}
QUAK = ["mass", "tau1", "tau21", "tau32", "tau43", "n_charged"]


def _image_config(tmp_path: Path, generated: dict[str, Path], **loop) -> Path:
    cfg = {
        "name": "tiny_image_ae",
        "paper": "qcd_or_what_image_lola_adversarial_ae",
        "level": "jet",
        "model": {"kind": "image_cnn_ae", "params": {"bottleneck": 8, "channels": [4, 3]}},
        "representation": {"kind": "jet_image", "config": {}},
        "train": {"path": str(generated["qcd_jets"]), "label": "qcd", "selection": WINDOW},
        "signals": [{"path": str(generated["top_jets"]), "label": "top",
                     "selection": {**WINDOW, "truth_match": True}}],
        "loop": {"epochs": 2, "batch_size": 32, "seed": 3, **loop},
    }  # fmt: skip
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory, generated) -> tuple[Path, str]:
    tmp = tmp_path_factory.mktemp("train")
    out = tmp / "tiny_image_ae.onnx"
    result = CliRunner().invoke(
        cli, ["train", str(_image_config(tmp, generated)), "--out", str(out), "--quiet"]
    )
    assert result.exit_code == 0, result.output
    return out, result.output


def test_train_writes_a_model_whose_card_says_how_it_was_made(trained, generated) -> None:
    path, output = trained
    assert f"wrote {path}" in output
    card = read_card(path)
    assert (card.name, card.level, card.paper) == ("tiny_image_ae", "jet", "qcd_or_what_image_lola_adversarial_ae")
    assert card.representation.kind == "jet_image"
    assert card.representation.config == config_to_dict(ImageConfig())  # full config, defaults filled
    assert card.input.shape == (None, 40, 40)
    assert card.outputs[0].name == "score" and "MSE" in card.outputs[0].meaning
    assert card.trained_selection == JetSelection(**WINDOW)  # the processors default to it
    t = card.training
    assert t["sample"] == str(generated["qcd_jets"])
    assert t["n_train"] + t["n_validation"] + t["n_test"] == t["n_used"] > 200
    assert (t["seed"], t["epochs"]) == (3, 2)
    assert t["onnx_torch_max_rel_diff"] <= 1e-5
    assert 0.0 <= card.metrics["auc_top_vs_qcd"] <= 1.0
    q = card.background_quantiles["score"]
    from coffea_anomaly.training.metrics import DEFAULT_QUANTILES

    assert q["q"] == list(DEFAULT_QUANTILES)
    assert {0.5, 0.9, 0.99, 0.999} <= set(q["q"])
    assert q["value"] == sorted(q["value"]) and q["value"][0] > 0
    assert path.stat().st_size < 5e6


def test_two_epochs_lower_the_validation_loss(trained) -> None:
    card = read_card(trained[0])
    val = card.training["val_loss"]
    assert len(val) == 2
    # both epochs end well below the untrained network; the best epoch's weights are kept
    assert max(val) < 0.5 * card.training["val_loss_untrained"]
    assert card.metrics["val_loss"] == pytest.approx(min(val), rel=1e-5)


def test_evaluate_prints_the_auc_of_the_onnx_scores_and_plots_the_roc(trained, generated, tmp_path) -> None:
    path, _ = trained
    result = CliRunner().invoke(cli, [
        "evaluate", str(path), "--signal", str(generated["top_jets"]),
        "--background", str(generated["qcd_jets"]), "--signal-truth-match",
        "--out", str(tmp_path), "--quiet",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    auc = float(re.search(r"AUC = ([0-9.]+)", result.output).group(1))
    assert (tmp_path / "roc.png").stat().st_size > 1000
    facts = json.loads((tmp_path / "evaluation.json").read_text())
    assert facts["aucs"]["score"] == pytest.approx(auc, abs=1e-4)
    assert facts["model"]["name"] == "tiny_image_ae" and len(facts["model"]["sha256"]) == 64
    assert (facts["samples"]["signal"]["name"], facts["samples"]["background"]["name"]) == ("top_jets", "qcd_jets")
    assert facts["n_signal"] == facts["samples"]["signal"]["items"] > 0
    assert facts["n_background"] > 0 and facts["samples"]["signal"]["selection"]["truth_match"] is True
    # the same number from the shipped-model path: OnnxModel on the inputs of both samples
    model = OnnxModel(path)
    rep = RepresentationChoice("jet_image", model.card.representation.config)
    x = {
        name: load_inputs(SampleSpec(str(generated[name]), JetSelection(**WINDOW, truth_match=tm)),
                          rep, "jet", progress=False).x
        for name, tm in (("top_jets", True), ("qcd_jets", False))
    }  # fmt: skip
    scores = {k: model.score_numpy(v)["score"] for k, v in x.items()}
    assert auc == pytest.approx(roc_auc(scores["top_jets"], scores["qcd_jets"]), abs=1e-4)


def _dijet_config(generated: dict[str, Path]) -> dict:
    sel = {"jet_pt_min": 300.0, "eta_max": 2.5}
    return {
        "name": "tiny_dijet_ae", "level": "event",
        "model": {"kind": "dense_ae", "params": {"n_features": 12, "hidden": [8], "latent": 3}},
        "representation": {"kind": "dijet_features", "config": {"features": QUAK}},
        "train": {"path": str(generated["qcd_dijet"]), "label": "qcd", "selection": sel, "weighted": True},
        "signals": [{"path": str(generated["wprime_xy"]), "label": "wprime", "selection": sel}],
        "loop": {"epochs": 3, "batch_size": 16},
    }  # fmt: skip


def test_dijet_dense_ae_trains_on_the_twelve_quak_features(tmp_path, generated) -> None:
    sel = {"jet_pt_min": 300.0, "eta_max": 2.5}
    (tmp_path / "d.yaml").write_text(yaml.safe_dump(_dijet_config(generated)))
    out = tmp_path / "d.onnx"
    result = CliRunner().invoke(cli, ["train", str(tmp_path / "d.yaml"), "--out", str(out), "--quiet",
                                      "--test", str(generated["qcd_dijet"]), "--name", "my_dijet_ae"])  # fmt: skip
    assert result.exit_code == 0, result.output
    card = read_card(out)
    assert card.name == "my_dijet_ae"  # --name replaces the config's name in the card
    # the test sample is where the losses and quantiles come from; here it is the training
    # sample itself, and the card must not call it independent
    assert card.training["test_sample"] == str(generated["qcd_dijet"])
    held = card.training["quantiles_and_losses_from"]
    assert held.startswith("the training sample itself") and "independent sample" not in held
    assert "test_loss" in card.metrics
    assert card.level == "event" and card.input.shape == (None, 12)
    assert card.representation.config == config_to_dict(FeatureConfig(features=tuple(QUAK)))
    assert card.training["weighted"] is True
    assert "auc_wprime_vs_qcd" in card.metrics
    assert card.trained_selection == DijetSelection(jet_pt_min=300.0, eta_max=2.5)
    # the standardisation lives in the graph: raw features in, finite scores out
    raw = load_inputs(SampleSpec(str(generated["wprime_xy"]), DijetSelection(**sel)),
                      RepresentationChoice("dijet_features", {"features": QUAK}), "event",
                      progress=False).x  # fmt: skip
    scores = OnnxModel(out).score_numpy(raw)["score"]
    assert scores.shape == (len(raw),) and np.all(np.isfinite(scores)) and np.all(scores > 0)


def test_same_config_and_seed_give_the_same_model(tmp_path, generated) -> None:
    from coffea_anomaly.config import config_from_dict
    from coffea_anomaly.training.pipeline import train_from_config
    from coffea_anomaly.training.settings import TrainingConfig

    cfg = config_from_dict(TrainingConfig, _dijet_config(generated))
    a = train_from_config(cfg, tmp_path / "a.onnx", progress=False)
    b = train_from_config(cfg, tmp_path / "b.onnx", progress=False)
    assert a.card.training["val_loss_untrained"] == b.card.training["val_loss_untrained"]
    assert a.card.training["val_loss"] == b.card.training["val_loss"]
    assert a.metrics == b.metrics


def test_model_and_representation_that_do_not_fit_give_one_line(tmp_path, generated, capsys) -> None:
    cfg = yaml.safe_load(_image_config(tmp_path, generated).read_text())
    cfg["model"] = {"kind": "dense_ae", "params": {"n_features": 12}}
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(cfg))
    with pytest.raises(SystemExit) as info:
        main(["train", str(tmp_path / "bad.yaml"), "--out", str(tmp_path / "x.onnx"), "--quiet"])
    assert info.value.code == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert "takes items of shape (12,)" in err and "(40, 40)" in err
    assert not (tmp_path / "x.onnx").exists()


def test_device_cuda_without_a_gpu_is_one_line_before_any_sample_is_read(tmp_path, capsys) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    cfg = {"name": "x", "level": "jet", "model": {"kind": "dense_ae", "params": {"n_features": 12}},
           "representation": {"kind": "jet_image"}, "train": {"path": str(tmp_path / "not_generated")}}  # fmt: skip
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    with pytest.raises(SystemExit) as info:
        main(["train", str(tmp_path / "c.yaml"), "--out", str(tmp_path / "x.onnx"), "--device", "cuda"])
    assert info.value.code == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "no CUDA device" in err  # not the missing sample
    assert not (tmp_path / "x.onnx").exists()


def test_unknown_config_key_names_the_file(tmp_path, capsys) -> None:
    bad = tmp_path / "typo.yaml"
    bad.write_text("name: x\nlevel: jet\nmodel: {kind: dense_ae}\nrepresentation: {kind: jet_image}\n"
                   "train: {path: nowhere}\nloop: {epoch: 3}\n")  # fmt: skip
    with pytest.raises(SystemExit):
        main(["train", str(bad), "--out", str(tmp_path / "x.onnx")])
    err = capsys.readouterr().err
    assert "typo.yaml" in err and "epoch" in err and "epochs" in err


def test_shipped_training_configs_load() -> None:
    from coffea_anomaly.resources import config_path
    from coffea_anomaly.training.settings import load_training_config

    image = load_training_config(config_path("training", "image_cnn_ae.yaml"))
    dijet = load_training_config(config_path("training", "dijet_dense_ae.yaml"))
    assert image.model.params["bottleneck"] == 32 and image.train.selection == JetSelection(550.0, 650.0, 2.0)
    assert dijet.representation.config["features"] == QUAK and dijet.level == "event"
    assert dijet.train.selection == DijetSelection(jet_pt_min=300.0, lead_pt_min=1200.0, eta_max=2.5, deta_max=1.3)


def test_evaluate_seeds_gives_mean_and_spread_over_the_runs(trained, generated, tmp_path) -> None:
    path, _ = trained
    args = ["evaluate", str(path), "--signal", str(generated["top_jets"]), "--background", str(generated["qcd_jets"]),
            "--quiet"]  # fmt: skip
    single = CliRunner().invoke(cli, args)
    auc = float(re.search(r"AUC = ([0-9.]+)", single.output).group(1))
    # the same run twice: the mean is its value, the spread zero
    result = CliRunner().invoke(cli, [*args[:2], str(path), *args[2:], "--seeds", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert re.search(r"over 2 seeds \(score\): auc = ([0-9.]+) ± 0\b", result.output), result.output
    spread = json.loads((tmp_path / "seeds.json").read_text())["spread"]["score"]
    assert spread["auc"]["mean"] == pytest.approx(auc, abs=1e-4) and spread["auc"]["std"] == 0.0
    assert CliRunner().invoke(cli, [*args, "--seeds"]).exit_code != 0  # one run has no spread
