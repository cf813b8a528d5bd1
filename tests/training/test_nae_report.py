"""The symmetric-tagging report: tops in QCD and QCD in tops, scored through score()."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

pytest.importorskip("torch")

from click.testing import CliRunner

from coffea_anomaly.cli.main import cli

SEL = {"pt_min": 300.0, "pt_max": 2000.0, "eta_max": 2.5}
IMAGE = {"npix": 40, "eta_range": 0.58, "phi_range": 0.70, "flip": "half", "quadrant": "lower_left",
         "gaussian_sigma": 1.0}  # fmt: skip
TINY = {"pretrain_epochs": 1, "pretrain_batch_size": 32, "epochs": 1, "batch_size": 16, "steps_per_epoch": 1,
        "z_steps": 2, "x_steps": 2, "buffer_size": 40, "val_negatives": 16}  # fmt: skip


def test_empty_reconstruction_energy_by_hand() -> None:
    import numpy as np

    from coffea_anomaly.training.nae_report import empty_reconstruction_energy

    one_prong = np.array([[1.0, 0.0], [0.0, 0.0]])
    three = np.array([[0.5, 0.25], [0.25, 0.0]])
    e = empty_reconstruction_energy(np.stack([one_prong, three])[:, None])  # (n, channel, h, w)
    np.testing.assert_allclose(e, [1.0 / 4, (0.25 + 0.0625 + 0.0625) / 4])
    assert e[0] > e[1]  # the peakier image has the higher energy
    assert empty_reconstruction_energy(np.zeros((0, 1, 4, 4))).shape == (0,)
    with pytest.raises(ValueError, match="needs images"):
        empty_reconstruction_energy(np.ones(3))


def _train(tmp_path: Path, name: str, train: Path, other: Path, top_is_train: bool, energy: bool) -> Path:
    truth = {**SEL, "truth_match": True}
    cfg = {
        "name": name, "level": "jet",
        "model": {"kind": "nae", "params": {"channels": 2, "dense": 8},
                  "training": {**TINY, "epochs": 1 if energy else 0}},
        "representation": {"kind": "jet_image", "config": IMAGE},
        "train": {"path": str(train), "selection": truth if top_is_train else SEL},
        "signals": [{"path": str(other), "label": "qcd" if top_is_train else "top",
                     "selection": SEL if top_is_train else truth}],
        "loop": {"validation_fraction": 0.2, "test_fraction": 0.0, "seed": 1},
    }  # fmt: skip
    (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(cfg))
    out = tmp_path / f"{name}.onnx"
    result = CliRunner().invoke(cli, ["train", str(tmp_path / f"{name}.yaml"), "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    return out


@pytest.mark.slow
def test_symmetric_tagging_figure_and_numbers(tmp_path: Path, generated) -> None:
    from coffea_anomaly.training.nae_report import REFERENCE, plot_energy_curves, symmetric_tagging

    qcd, top = generated["qcd_jets"], generated["top_jets"]
    models = {
        "AE": (_train(tmp_path, "ae_q", qcd, top, False, False), _train(tmp_path, "ae_t", top, qcd, True, False)),
        "NAE": (_train(tmp_path, "nae_q", qcd, top, False, True), _train(tmp_path, "nae_t", top, qcd, True, True)),
    }
    result = symmetric_tagging(models, qcd=qcd, top=top, out_dir=tmp_path / "report", progress=False)
    assert list(result) == ["AE", "NAE", REFERENCE]
    for dirs in result.values():
        assert set(dirs) == {"top_in_qcd", "qcd_in_top"}
        for r in dirs.values():
            assert 0.0 <= r["auc"] <= 1.0
            assert r["rejection"] >= 1.0
            assert r["n_signal"] > 0
    # the yardstick is one score for both directions, on the models' selected jets
    ref = result[REFERENCE]
    assert ref["top_in_qcd"]["auc"] + ref["qcd_in_top"]["auc"] == pytest.approx(1.0, abs=1e-9)
    assert ref["qcd_in_top"]["n_signal"] == result["NAE"]["qcd_in_top"]["n_signal"]
    assert ref["qcd_in_top"]["n_background"] == result["NAE"]["qcd_in_top"]["n_background"]
    saved = json.loads((tmp_path / "report" / "symmetric_tagging.json").read_text())
    assert saved["models"][REFERENCE]["qcd_in_top"]["model"] is None
    assert saved["scored_with"] == "coffea_anomaly.score"
    assert saved["eps_s"] == 0.2
    assert (tmp_path / "report" / "symmetric_tagging.png").stat().st_size > 10_000
    assert plot_energy_curves(models["NAE"][0], tmp_path / "e.png").exists()


@pytest.mark.slow
def test_density_report_on_a_config_and_its_checkpoint(tmp_path: Path, generated, capsys) -> None:
    """nae_diagnostics' command line on a training config (tops as background, QCD as the
    anomaly) and the checkpoint its training wrote: every yardstick, numbers in the JSON."""
    from coffea_anomaly.training.nae_diagnostics import main

    qcd, top = generated["qcd_jets"], generated["top_jets"]
    ckpt = tmp_path / "nae_t.ckpt"
    cfg = {
        "name": "nae_t", "level": "jet",
        "model": {"kind": "nae", "params": {"npix": 12, "channels": 2, "dense": 8},
                  "training": {**TINY, "checkpoint": str(ckpt)}},
        "representation": {"kind": "jet_image", "config": {**IMAGE, "npix": 12}},
        "train": {"path": str(top), "selection": SEL},
        "test": {"path": str(top), "selection": SEL},
        "signals": [{"path": str(qcd), "label": "qcd", "selection": SEL}],
        "loop": {"validation_fraction": 0.2, "test_fraction": 0.0, "seed": 1},
    }  # fmt: skip
    path = tmp_path / "nae_t.yaml"
    path.write_text(yaml.safe_dump(cfg))
    result = CliRunner().invoke(cli, ["train", str(path), "--out", str(tmp_path / "nae_t.onnx"), "--quiet"])
    assert result.exit_code == 0, result.output
    args = [str(path), str(ckpt), "-k", "3", "--scan", "1", "3", "--json", str(tmp_path / "d.json")]
    assert main([*args, "--plot", str(tmp_path / "scan.png")]) == 0
    assert (tmp_path / "scan.png").stat().st_size > 0
    out = capsys.readouterr().out
    r = json.loads((tmp_path / "d.json").read_text())
    assert r["n_reference"] > 3
    assert r["n_background"] - r["n_reference"] in (0, 1)
    assert r["n_signal"] > 0
    c = r["checkpoints"][str(ckpt)]
    for v in (r["mean_pixel2"], r["pixel_knn"], c["energy"], c["latent_knn"], c["latent_separability"]):
        assert 0.0 <= v <= 1.0
    assert f"AUC {r['pixel_knn']:.3f}" in out
    assert f"energy AUC {c['energy']:.3f}" in out
    assert list(r["pixel_scan"]) == ["1", "3", "mean"]
    assert r["pixel_scan"]["3"] == r["pixel_knn"]
    assert f"3-NN {r['pixel_knn']:.3f}, mean {r['pixel_scan']['mean']:.3f}" in out
    # the training jets as the reference, cut to 6 of them: the whole test sample is the background
    train_ref = ["--reference", "train", "--max-reference", "6", "--pca", "2", "9", "--json", args[-1]]
    assert main([*args[:2], "-k", "3", *train_ref]) == 0
    t = json.loads((tmp_path / "d.json").read_text())
    assert (t["reference"], t["n_reference"]) == ("train", 6)
    assert t["n_background"] == r["n_reference"] + r["n_background"]
    assert t["n_signal"] == r["n_signal"]
    assert list(t["pixel_pca"]) == ["2"]  # 9 is not below the rank of 6 jets: skipped
    out = capsys.readouterr().out
    assert "reference density: 6 training jets" in out
    assert f"2: {t['pixel_pca']['2']['projection']:.3f} / {t['pixel_pca']['2']['residual']:.3f}" in out
    assert main([str(path), "--max-reference", "0"]) == 2
    assert capsys.readouterr().err.strip() == "error: max_reference must be >= 1, got 0"
    assert main([str(path), "--pca", "0"]) == 2
    assert capsys.readouterr().err.strip() == "error: every PCA dimension must be >= 1, got [0]"
    # a config without an anomaly to compare is one line on stderr, exit 2
    del cfg["signals"]
    path.write_text(yaml.safe_dump(cfg))
    assert main([str(path)]) == 2
    assert capsys.readouterr().err.strip().endswith("needs a test sample and a signals sample")
