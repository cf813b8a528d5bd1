"""``coffea-anomaly run`` end to end through the CLI, and its one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from coffea_anomaly.cli.main import main


def _config(tmp_path: Path, small_samples: dict[str, Path], model: Path, extra: str = "") -> Path:
    cfg = tmp_path / "run.yaml"
    cfg.write_text(
        f"processor: jet\nfileset: {small_samples['qcd_jets']}\nmodels: [{model}]\n"
        f"chunksize: 100\nselection: {{pt_min: 550, pt_max: 650, eta_max: 2.0}}\n{extra}"
    )
    return cfg


@pytest.mark.slow  # runs on generated (Pythia) samples
def test_run_writes_outputs_and_prints_summary(small_samples: dict[str, Path], toy_models: dict[str, Path],
                                               tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = _config(tmp_path, small_samples, toy_models["image"])
    main(["run", str(cfg), "--out", str(tmp_path / "out"), "--executor", "iterative", "--quiet"])
    out = capsys.readouterr().out
    assert "jet processor, executor iterative" in out and "qcd_jets: 200 events" in out
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["datasets"]["qcd_jets"]["events_read"] == 200
    assert summary["models"]["toy_image"]["sha256"]
    assert (tmp_path / "out" / "hists.root").exists()
    assert (tmp_path / "out" / "plots" / "score_toy_image.png").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--executor", "spark"], "Invalid value for '--executor'"),
        (["--workers", "0"], "Invalid value for '--workers'"),
    ],
)
def test_bad_options_one_line(args: list[str], message: str, toy_models: dict[str, Path], tmp_path: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:
    # the options are refused before the fileset is read: no generated sample needed
    cfg = _config(tmp_path, {"qcd_jets": tmp_path / "never_read.json"}, toy_models["image"])
    with pytest.raises(SystemExit) as exc:
        main(["run", str(cfg), "--out", str(tmp_path / "o"), *args])
    assert exc.value.code != 0
    assert message in capsys.readouterr().err


def test_bad_config_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "run.yaml"
    cfg.write_text("processor: jet\nfileset: missing.json\nmodels: [nope.onnx]\n")
    with pytest.raises(SystemExit) as exc:
        main(["run", str(cfg), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip()
    assert exc.value.code == 1
    assert err.startswith("coffea-anomaly: error:") and len(err.splitlines()) == 1
    assert "missing.json" in err
