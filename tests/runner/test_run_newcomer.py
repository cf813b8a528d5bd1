"""A newcomer's first runs (issue 13, items 6 and 8): no AUC without a marked background,
``--quiet`` is quiet, progress goes to stderr, no FastJet banner, a slow cluster close is
not an error."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from handmade_events import write_handmade
from toy_models import image_toy

from coffea_anomaly.cli.main import main
from coffea_anomaly.runner import RunConfig, run_analysis
from coffea_anomaly.runner.execute import close_quietly

EVENTS = [[(600.0, 0.1, 100.0 + i), (620.0, 0.3, 200.0 + i)] for i in range(12)]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    base = tmp_path_factory.mktemp("newcomer")
    return {
        "ttbar": str(write_handmade(base / "ttbar.root", EVENTS)),
        "pfnano": str(write_handmade(base / "pfnano.root", EVENTS[:6])),
        "model": str(image_toy(base / "toy_image.onnx")),
    }


def _cfg(inputs: dict[str, str], metadata: dict[str, Any] | None = None) -> RunConfig:
    fileset = {ds: {"files": [inputs[ds]], "metadata": (metadata or {}).get(ds, {})} for ds in ("ttbar", "pfnano")}
    return RunConfig(fileset=fileset, models=[inputs["model"]], plots=False,
                     selection={"pt_min": 550.0, "pt_max": 650.0, "eta_max": 2.0})  # fmt: skip


def test_no_auc_without_a_background_in_the_metadata(inputs: dict[str, str], tmp_path: Path) -> None:
    res = run_analysis(_cfg(inputs), tmp_path / "a")
    assert res.summary["background_dataset"] is None and res.summary["metrics"] == {}
    assert "no dataset has 'role: background'" in res.summary["notes"][0]
    res = run_analysis(_cfg(inputs, {"pfnano": {"role": "background"}}), tmp_path / "b")
    assert res.summary["background_dataset"] == "pfnano"
    assert set(res.summary["metrics"]["toy_image"]["auc_vs_pfnano"]) == {"ttbar"}
    assert "notes" not in res.summary


def _yaml(inputs: dict[str, str], tmp_path: Path) -> Path:
    cfg = tmp_path / "run.yaml"
    cfg.write_text(f"fileset: {{ttbar: [{inputs['ttbar']}], pfnano: [{inputs['pfnano']}]}}\n"
                   f"models: [{inputs['model']}]\nchunksize: 5\nplots: false\n"
                   "selection: {pt_min: 550, pt_max: 650, eta_max: 2.0}\n")  # fmt: skip
    return cfg


def test_quiet_run_prints_no_bars_and_no_auc(inputs: dict[str, str], tmp_path: Path,
                                             capfd: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    main(["run", str(_yaml(inputs, tmp_path)), "--out", str(tmp_path / "q"), "--quiet"])
    out, err = capfd.readouterr()
    assert "Processing" not in out + err and "Preprocessing" not in out + err
    assert ": AUC " not in out and "note: no dataset has 'role: background'" in out
    assert "FastJet" not in out + err
    assert "outputs: " in out and "hists.root" in out


def test_progress_bars_go_to_stderr(inputs: dict[str, str], tmp_path: Path,
                                    capfd: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    main(["run", str(_yaml(inputs, tmp_path)), "--out", str(tmp_path / "p")])
    out, err = capfd.readouterr()
    assert "Processing" in err and "Processing" not in out


def test_fastjet_banner_is_silenced() -> None:
    cluster = (
        "import awkward as ak, fastjet\n"
        "arr = ak.Array([[{'px': 1.2, 'py': 3.2, 'pz': 5.4, 'E': 12.0}]])\n"
        "fastjet.ClusterSequence(arr, fastjet.JetDefinition(fastjet.antikt_algorithm, 0.8)).inclusive_jets()\n"
        "print('done')\n"
    )
    silence = "from coffea_anomaly.runner.execute import silence_fastjet_banner\nsilence_fastjet_banner()\n"
    loud = subprocess.run([sys.executable, "-c", cluster], capture_output=True, text=True, check=True)
    quiet = subprocess.run([sys.executable, "-c", silence + cluster], capture_output=True, text=True, check=True)
    assert "FastJet" in loud.stdout  # the check would see the banner
    assert quiet.stdout == "done\n" and "FastJet" not in quiet.stderr


class _SlowToClose:
    def __init__(self) -> None:
        self.timeout: float | None = None

    def close(self, timeout: float) -> None:
        self.timeout = timeout
        raise TimeoutError("closing the cluster took too long")


def test_a_slow_cluster_close_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    slow = _SlowToClose()
    with caplog.at_level(logging.WARNING):
        close_quietly(slow)
    assert slow.timeout == 60
    assert "took longer than 60 s" in caplog.text
