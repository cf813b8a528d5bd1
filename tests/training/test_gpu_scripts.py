"""configs/training/gpu/: the scripts that train the NAE models on a lent GPU machine.

CI has no GPU and the lent machine is rare, so a broken script would be found only where it
costs the most. ``train_nae_gpu.sh``'s SMOKE mode runs its whole flow here: the CPU, tiny copies
of the GPU configs, 150-event samples, in a temporary folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GPU = ROOT / "configs" / "training" / "gpu"
CLI = f"{sys.executable} -m coffea_anomaly.cli.main"


def _run(script: str, *args: str, cwd: Path = ROOT, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(GPU / script), *args], cwd=cwd, env=os.environ | env, text=True,
                          capture_output=True, timeout=900)  # fmt: skip


def test_an_unknown_model_is_one_line_before_anything_runs(tmp_path: Path) -> None:
    res = _run("train_nae_gpu.sh", str(tmp_path / "out"), "nae_top", "vae_top", SMOKE="1", PY=sys.executable, CA=CLI)
    assert res.returncode == 2
    assert res.stderr.strip() == "train_nae_gpu.sh: unknown model 'vae_top' (nae_qcd, nae_top, wnae_qcd, ae_qcd, ae_top)"


def test_device_run_without_the_wheels_says_how_to_get_them(tmp_path: Path) -> None:
    res = _run("device_run.sh", cwd=tmp_path, OUT=str(tmp_path / "out"))
    assert res.returncode == 2
    assert "run configs/training/gpu/wheels.sh here and carry .whl" in res.stderr
    assert not (tmp_path / "out").exists()  # refused before anything was made


@pytest.mark.slow
def test_the_gpu_script_trains_the_five_models_in_order_and_tabulates_them(tmp_path: Path) -> None:
    from coffea_anomaly.inference.card import read_card

    out = tmp_path / "models"
    calls = tmp_path / "after_model"
    hook = tmp_path / "hook.sh"
    hook.write_text(f"ls {out} > /dev/null && echo model >> {calls}\n")
    res = _run("train_nae_gpu.sh", str(out), SMOKE="1", PY=sys.executable, CA=CLI, AFTER_MODEL=f"bash {hook}",
                  MAX_TIME="77")  # fmt: skip
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert sorted(p.name for p in out.glob("*.onnx")) == sorted(
        f"{m}.onnx" for m in ("nae_top", "ae_top", "nae_qcd", "wnae_qcd", "ae_qcd")
    )
    assert calls.read_text().count("model") == 5  # AFTER_MODEL after each model (device_run.sh packs there)
    order = [line.split()[3] for line in res.stdout.splitlines() if "] training " in line]
    assert order == ["nae_top", "ae_top", "nae_qcd", "wnae_qcd", "ae_qcd"]  # the open direction first

    # the plain AEs and the WNAE start from the NAE runs' pre-trained AEs of this run
    cards = {m: read_card(out / f"{m}.onnx").training for m in ("nae_top", "ae_top", "nae_qcd", "wnae_qcd", "ae_qcd")}
    assert cards["ae_top"]["model"]["training"]["init_from"] == "data/checkpoints/nae_top.pretrained.ckpt"
    assert cards["wnae_qcd"]["model"]["training"]["init_from"] == "data/checkpoints/nae_qcd.pretrained.ckpt"
    e0 = cards["nae_top"]["phases"][-1]["initial_val"]["e0"]  # the pre-trained AE's validation energy
    assert cards["ae_top"]["phases"][0]["val"]["mse"][0] == pytest.approx(e0, rel=1e-4)
    assert all(c["loop"]["device"] == "cpu" for c in cards.values())  # SMOKE: no CUDA needed
    assert cards["nae_top"]["loop"]["max_time_s"] == cards["wnae_qcd"]["loop"]["max_time_s"] == 77  # MAX_TIME

    table = [line.split() for line in res.stdout.splitlines() if " AUC " in line]
    rows = {(r[0], r[-5]) for r in table}
    assert {("AE", "top_in_qcd"), ("AE", "qcd_in_top"), ("NAE", "top_in_qcd"), ("NAE", "qcd_in_top"),
            ("WNAE", "top_in_qcd")} <= rows  # fmt: skip
    assert all(0.0 <= float(r[-3]) <= 1.0 for r in table)
    assert "shipped models/" not in res.stdout  # all five of this run


def test_the_table_refuses_a_folder_that_is_not_there(tmp_path: Path) -> None:
    res = subprocess.run([sys.executable, str(GPU / "table.py"), str(tmp_path / "missing")], capture_output=True,
                         text=True, cwd=ROOT)  # fmt: skip
    assert res.returncode == 2
    assert res.stderr.startswith("usage: table.py MODELS_DIR [OUT_DIR]")
