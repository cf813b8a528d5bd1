"""``coffea-anomaly bumphunt``: outputs, options, and one-line errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import hist
import numpy as np
import pytest
import uproot

from coffea_anomaly.cli.main import main

Spectrum = Callable[[float], np.ndarray]


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        main(args)
        code = 0
    except SystemExit as err:
        code = int(err.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def single_th1(tmp_path: Path, edges: np.ndarray, spectrum: Spectrum, gaussian: Callable) -> Path:
    counts = np.random.default_rng(1).poisson(spectrum(3e4) + gaussian(3500.0, 120.0))
    h = hist.Hist(hist.axis.Variable(edges, name="mjj", label="m_{jj} [GeV]"))
    h.view()[:] = counts
    path = tmp_path / "mjj.root"
    with uproot.recreate(path) as f:
        f["mjj"] = h
    return path


@pytest.mark.slow
def test_single_th1_end_to_end(single_th1: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "bh"
    code, stdout, stderr = _run(["bumphunt", str(single_th1), "--out", str(out), "--toys", "50",
                                 "--n-masses", "25", "--quiet"], capsys)
    assert code == 0, stderr
    data = json.loads((out / "bumphunt.json").read_text())
    assert abs(data["best"]["mass"] / 3500.0 - 1) < 0.03
    assert data["best"]["local_significance"] > 3
    assert data["method"]["background"]["family"] == "dijet"
    assert data["pseudo_experiments"]["n"] == 50
    assert sorted(data["plots"]) == ["mjj_fit.png", "pvalue_scan.png"]
    for name in data["plots"]:
        assert (out / name).stat().st_size > 10_000
    assert stdout == ""


def test_options_and_summary(single_th1: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "bh.yaml"
    cfg.write_text("n_masses: 15\nseed: 9\ndijet_params: [3, 4]\n")
    out = tmp_path / "bh"
    code, stdout, stderr = _run(["bumphunt", str(single_th1), "--out", str(out), "--config", str(cfg),
                                 "--toys", "0", "--selection", "lrt", "--no-plots", "--no-bumphunter"], capsys)
    assert code == 0, stderr
    data = json.loads((out / "bumphunt.json").read_text())
    assert data["config"]["n_masses"] == 15
    assert data["config"]["seed"] == 9
    assert data["config"]["dijet_params"] == [3, 4]
    assert data["config"]["selection"] == "lrt"
    assert data["plots"] == []
    assert data["categories"][0]["bumphunter"] is None
    assert "best mass" in stdout
    assert "Gross-Vitells" in stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["/nonexistent/file.root"], "no such file"),
        (["{tmp}/bad.root"], "cannot read"),
        (["{th1}", "--categories", "3x3"], "score axes"),
        (["{th1}", "--categories", "3y3"], "--categories"),
    ],
)
def test_errors_are_one_line(
    single_th1: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    (tmp_path / "bad.root").write_text("garbage")
    args = [a.format(tmp=tmp_path, th1=single_th1) for a in args]
    code, _, stderr = _run(["bumphunt", *args, "--out", str(tmp_path / "o"), "--toys", "0"], capsys)
    assert code == 1
    assert stderr.startswith("coffea-anomaly: error:")
    assert message in stderr
    assert stderr.count("\n") == 1


def test_run_output_with_categories(tmp_path: Path, edges: np.ndarray, spectrum: Spectrum,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(2)
    h = hist.Hist(hist.axis.Variable(edges, name="mjj"), hist.axis.Regular(10, 0.0, 1.0, name="score"))
    h.view()[:] = rng.poisson(spectrum(4e4)[:, None] / 10 * np.ones((1, 10)))
    with uproot.recreate(tmp_path / "hists.root") as f:
        f["qcd/mjj_score_ae"] = h
        f["qcd/mjj"] = h[:, sum]
    code, _, stderr = _run(["bumphunt", str(tmp_path), "--out", str(tmp_path / "o"), "--hist", "mjj_score_ae",
                            "--dataset", "qcd", "--score-cut", "score>0.2", "--categories", "4", "--toys", "0",
                            "--n-masses", "10", "--no-plots", "--quiet"], capsys)
    assert code == 0, stderr
    data = json.loads((tmp_path / "o" / "bumphunt.json").read_text())
    assert [c["name"] for c in data["categories"]] == ["1", "2", "3", "4"]
    assert data["categories"][0]["score_ranges"] == [[0.2, 0.4]]
    assert data["categories"][-1]["score_ranges"][0][1] is None  # +inf (overflow kept) becomes null
