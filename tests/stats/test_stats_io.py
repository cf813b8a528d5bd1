"""Reading m_jj histograms: a lone TH1, a run's hists.root / hists.json, hist objects."""

from __future__ import annotations

import json
from pathlib import Path

import hist
import numpy as np
import pytest
import uproot

from coffea_anomaly.errors import InputDataError
from coffea_anomaly.stats.io import MjjHistogram, as_mjj_histogram, read_input


def _run_hist(seed: int = 0) -> hist.Hist:
    """Like the dijet processor's m_jj x score histogram (dataset and label axes)."""
    h = hist.Hist(
        hist.axis.StrCategory([], growth=True, name="dataset"),
        hist.axis.Regular(20, 1000.0, 3000.0, name="mjj", label="$m_{JJ}$ [GeV]"),
        hist.axis.Variable([0.0, 0.1, 0.2, 0.5, 1.0], name="score", label="score (anomaly score)"),
        hist.axis.IntCategory([-1, 0, 1], name="label"),
        storage=hist.storage.Weight(),
    )
    rng = np.random.default_rng(seed)
    for ds, label, n in (("qcd", 0, 3000), ("signal", 1, 200), ("qcd", 1, 7)):
        h.fill(dataset=ds, mjj=rng.uniform(900, 3100, n), score=rng.uniform(-0.2, 1.5, n), label=label)
    return h


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    """A run output folder as the runner writes it (ROOT per dataset, JSON with all axes)."""
    from hist.serialization import to_uhi
    from uhi.io.json import default

    h = _run_hist()
    with uproot.recreate(tmp_path / "hists.root") as f:
        for ds in ("qcd", "signal"):
            f[f"{ds}/mjj_score_m"] = h[{"dataset": ds, "label": sum}]
            f[f"{ds}/mjj_score_m__label1"] = h[{"dataset": ds, "label": hist.loc(1)}]
            f[f"{ds}/mjj"] = h[{"dataset": ds, "label": sum, "score": sum}]
    (tmp_path / "hists.json").write_text(json.dumps({"mjj_score_m": to_uhi(h)}, default=default))
    return tmp_path


def test_single_th1_needs_no_option(tmp_path: Path) -> None:
    h = hist.Hist(hist.axis.Regular(5, 1000.0, 2000.0, name="mjj"))
    h.fill([1100.0, 1100.0, 1500.0, 2500.0])
    path = tmp_path / "one.root"
    with uproot.recreate(path) as f:
        f["whatever"] = h
    got = read_input(path)
    np.testing.assert_array_equal(got.counts, [2, 0, 1, 0, 0])  # overflow dropped from m_jj
    np.testing.assert_allclose(got.mjj_edges, np.linspace(1000, 2000, 6))
    assert got.score_edges == ()
    assert got.unit_weights


def test_run_output_root_and_json_agree(run_dir: Path) -> None:
    h = _run_hist()
    from_root = read_input(run_dir / "hists.root", "mjj_score_m", "qcd")
    from_json = read_input(run_dir / "hists.json", "mjj_score_m", "qcd")
    from_dir = read_input(run_dir, "mjj_score_m", "qcd")  # the folder finds hists.root
    expected = h[{"dataset": "qcd", "label": sum}].values(flow=True)[1:-1]
    for got in (from_root, from_json, from_dir):
        assert got.counts.shape == (20, 6)  # 4 score bins + both flow bins
        np.testing.assert_allclose(got.counts, expected)
        assert got.score_names == ("score",)
        assert got.score_edges[0][0] == -np.inf
        assert got.score_edges[0][-1] == np.inf
    both = read_input(run_dir / "hists.root", "mjj_score_m", ["qcd", "signal"])
    every = read_input(run_dir / "hists.json", "mjj_score_m", "all")
    np.testing.assert_allclose(both.counts, every.counts)
    assert both.counts.sum() == pytest.approx(h[{"label": sum}].sum(flow=True).value - _mjj_flow(h))


def _mjj_flow(h: hist.Hist) -> float:
    v = h[{"label": sum, "dataset": sum}].values(flow=True)
    return float(v[0].sum() + v[-1].sum())


def test_hist_objects_and_arrays() -> None:
    h = _run_hist()
    got = as_mjj_histogram(h, dataset="signal")
    assert got.counts.sum() == pytest.approx(h[{"dataset": "signal", "label": sum}].values(flow=True)[1:-1].sum())
    arrays = as_mjj_histogram((np.ones(3), np.array([1.0, 2.0, 3.0, 4.0])))
    assert isinstance(arrays, MjjHistogram)
    assert arrays.mjj_counts.sum() == 3
    np.testing.assert_array_equal(arrays.mjj_edges, [1.0, 2.0, 3.0, 4.0])
    with pytest.raises(InputDataError, match="several datasets"):
        as_mjj_histogram(h)
    with pytest.raises(InputDataError, match="no dataset axis"):
        as_mjj_histogram(h[{"dataset": sum}], dataset="qcd")


@pytest.mark.parametrize(
    ("what", "message"),
    [
        ("missing", "no such file"),
        ("not_root", "cannot read"),
        ("empty", "empty"),
        ("no_hist", "no TH1"),
        ("several", "several histograms"),
        ("unknown_name", "no histogram named"),
        ("unknown_dataset", "dataset"),
        ("several_datasets", "several datasets"),
    ],
)
def test_errors_are_one_clear_line(tmp_path: Path, run_dir: Path, what: str, message: str) -> None:
    h = hist.Hist(hist.axis.Regular(5, 1000.0, 2000.0, name="mjj"))
    args: tuple = ()
    if what == "missing":
        path = tmp_path / "nope.root"
    elif what == "not_root":
        path = tmp_path / "text.root"
        path.write_text("not a ROOT file\nat all\n")
    elif what == "empty":
        path = tmp_path / "empty.root"
        with uproot.recreate(path) as f:
            f["mjj"] = h
    elif what == "no_hist":
        path = tmp_path / "tree.root"
        with uproot.recreate(path) as f:
            f["events"] = {"x": np.arange(3.0)}
    elif what == "several":
        path = run_dir / "hists.root"
    elif what == "unknown_name":
        path, args = run_dir / "hists.json", ("nothing",)
    elif what == "unknown_dataset":
        path, args = run_dir / "hists.root", ("mjj", "ttbar")
    else:
        path, args = run_dir / "hists.root", ("mjj",)
    with pytest.raises(InputDataError, match=message) as info:
        read_input(path, *args)
    assert "\n" not in str(info.value)
