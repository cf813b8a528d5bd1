"""The QUAK-space plot (paper Fig. 3 style) on small hand-made quak_<A>__<B> histograms, and
its section in the demo report."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import hist
import numpy as np

from coffea_anomaly.runner.report import (
    MAX_QUAK_PLOTS,
    plot_dijet,
    plot_quak,
    quak_pairs,
    quak_scores,
)

NAME = "quak_quak.background__quak.wprime_2prong"


def _quak_hist(signal: int = 400, labels: tuple[int, ...] = (0, 1), seed: int = 4) -> hist.Hist:
    """Two losses spanning decades (log-spaced edges, as the model cards' quantiles are);
    background at small background loss, signal at large background and small signal loss."""
    edges = np.geomspace(1e-3, 10.0, 31)
    h = hist.Hist(hist.axis.StrCategory(["data", "sim"], name="dataset"), hist.axis.Variable(edges, name="score1"),
                  hist.axis.Variable(edges, name="score2"), hist.axis.IntCategory([-1, 0, 1], name="label"),
                  storage=hist.storage.Weight())
    rng = np.random.default_rng(seed)
    n = 3000
    bkg_label, sig_label = labels
    h.fill(dataset="sim", score1=10 ** rng.normal(-1.5, 0.4, n), score2=10 ** rng.normal(-0.5, 0.4, n),
           label=bkg_label)
    if signal:
        h.fill(dataset="data", score1=10 ** rng.normal(0.0, 0.2, signal), score2=10 ** rng.normal(-2.0, 0.2, signal),
               label=sig_label)
    return h


def _legend(fig) -> list[str]:
    return [t.get_text() for t in fig.axes[0].get_legend().get_texts()]


def test_background_density_and_signal_contours(tmp_path: Path, saved: list) -> None:
    (path,) = plot_quak({NAME: _quak_hist()}, tmp_path)
    assert path == tmp_path / f"{NAME}.png"
    assert path.stat().st_size > 10_000
    ax = saved[0].axes[0]
    texts = _legend(saved[0])
    assert any(t.startswith("background (2999 events)") for t in texts)  # one of 3000 in a flow bin
    assert any(t.startswith("signal (400 events): 68 % / 95 %") for t in texts)
    assert ax.get_xscale() == "log"
    assert ax.get_yscale() == "log"
    assert ax.get_xlabel() == "quak.background loss"
    assert ax.get_ylabel() == "quak.wprime_2prong loss"
    from matplotlib.collections import QuadMesh
    from matplotlib.contour import ContourSet

    assert any(isinstance(c, QuadMesh) for c in ax.collections)  # the background density
    (contours,) = [c for c in ax.collections if isinstance(c, ContourSet)]
    # the signal's 68 % contour lies around its centre (1, 0.01), far from the background's
    verts = np.concatenate([p.vertices for p in contours.get_paths() if len(p.vertices)])
    assert 0.2 < np.median(verts[:, 0]) < 5
    assert 0.002 < np.median(verts[:, 1]) < 0.05


def test_data_without_truth_is_the_density_and_a_sparse_signal_is_drawn_as_bins(tmp_path: Path, saved: list) -> None:
    plot_quak({NAME: _quak_hist(signal=0, labels=(-1, 1))}, tmp_path)
    assert _legend(saved[0]) == ["data (no truth label) (2999 events)"]
    plot_quak({NAME: _quak_hist(signal=3)}, tmp_path)
    texts = _legend(saved[1])
    assert "signal (3 events)" in texts
    assert any(t.startswith("background") for t in texts)


def test_pairs_background_loss_first_and_capped() -> None:
    names = ["mjj", "quak_a__b", "quak_a__c", "mjj_quak_a__b"] + [f"quak_m.background__m.s{i}" for i in range(8)]
    chosen = quak_pairs(names)
    assert len(chosen) == MAX_QUAK_PLOTS
    assert all("background" in n for n in chosen)
    assert quak_pairs(["quak_a__b", "mjj_quak_a__b"]) == ["quak_a__b"]
    assert quak_scores(NAME) == ("quak.background", "quak.wprime_2prong")


def test_run_plots_include_quak_space(tmp_path: Path) -> None:
    paths = plot_dijet({NAME: _quak_hist()}, tmp_path)
    assert [p.name for p in paths] == [f"{NAME}.png"]


def test_demo_report_has_a_quak_section_only_when_the_run_has_quak_plots(tmp_path: Path) -> None:
    from coffea_anomaly.demo import _sections

    summary = {"events_read": 10, "items_scored": 12, "wall_time_s": 1.0, "items_scored_per_s": 12.0,
               "all_events_accounted": True, "datasets": {}, "models": {"quak": {}}}
    jets = SimpleNamespace(out_dir=tmp_path / "jets", summary={**summary, "plots": []})
    plain = SimpleNamespace(out_dir=tmp_path / "dijet", summary={**summary, "plots": ["plots/mjj.png"]})
    assert [s["title"] for s in _sections(tmp_path, {}, jets, plain)] == ["Jet processor (quak)",
                                                                          "Dijet processor (quak)"]
    quak = SimpleNamespace(out_dir=tmp_path / "dijet",
                           summary={**summary, "plots": ["plots/mjj.png", f"plots/{NAME}.png"]})
    secs = _sections(tmp_path, {}, jets, quak)
    assert [s["title"] for s in secs][-1] == "QUAK space"
    assert secs[1]["figures"] == ["dijet/plots/mjj.png"]
    assert secs[2]["figures"] == [f"dijet/plots/{NAME}.png"]
    assert "`quak.background` vs `quak.wprime_2prong`" in " ".join(secs[2]["bullets"])


def test_demo_report_has_the_symmetric_tagging_section_when_it_ran(tmp_path: Path) -> None:
    from coffea_anomaly.demo import SYMMETRIC_MODELS, _sections
    from coffea_anomaly.resources import model_path

    summary = {"events_read": 10, "items_scored": 12, "wall_time_s": 1.0, "items_scored_per_s": 12.0,
               "all_events_accounted": True, "datasets": {}, "models": {"m": {}}, "plots": []}
    run = SimpleNamespace(out_dir=tmp_path / "jets", summary=summary)
    headline = {"symmetric_tagging": {"aucs": {"NAE qcd_in_top": 0.85}, "figures": ["nae/symmetric_tagging.png"]}}
    secs = _sections(tmp_path, headline, run, run)
    sym = next(s for s in secs if s["title"].startswith("Symmetric tagging"))
    assert sym["figures"] == ["nae/symmetric_tagging.png"] and sym["bullets"] == ["NAE qcd in top: AUC 0.850"]
    assert all(s["title"] != sym["title"] for s in _sections(tmp_path, {}, run, run))
    # every model the demo compares is shipped
    for pair in SYMMETRIC_MODELS.values():
        assert all(model_path(m).is_file() for m in pair if m)
