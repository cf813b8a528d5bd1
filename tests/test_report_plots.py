"""Quick-look plots and the demo's reports, on small hand-made histograms and fake results."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import hist
import numpy as np
import pytest

from coffea_anomaly.histograms.axes import mjj_axis
from coffea_anomaly.runner import report
from coffea_anomaly.runner.report import (
    MJJ_LABEL,
    _display_groups,
    _draw_counts,
    plot_dijet,
    plot_jet,
)

QUANTILES = {"q": [0.0, 0.5, 0.9, 0.99, 1.0], "value": [1e-6, 1e-5, 3e-5, 7e-5, 2e-4]}


def _jet_hists() -> dict[str, hist.Hist]:
    edges = np.geomspace(1e-6, 2e-4, 60)
    score = hist.Hist(hist.axis.StrCategory(["ttbar", "pfnano"], name="dataset"),
                      hist.axis.Variable(edges, name="score"), storage=hist.storage.Weight())
    mass = hist.Hist(hist.axis.StrCategory(["ttbar", "pfnano"], name="dataset"),
                     hist.axis.Regular(20, 0, 400, name="mass"), hist.axis.Variable(edges, name="score"),
                     storage=hist.storage.Weight())
    rng = np.random.default_rng(1)
    for ds, mu in (("ttbar", -4.5), ("pfnano", -5.2)):
        s = 10 ** rng.normal(mu, 0.4, 500)
        score.fill(dataset=ds, score=s)
        mass.fill(dataset=ds, mass=rng.uniform(0, 400, 500), score=s)
    return {"score_m": score, "mass_score_m": mass}


def _texts(fig) -> list[str]:
    out = []
    for ax in fig.axes:
        leg = ax.get_legend()
        if leg is not None:
            out += [t.get_text() for t in leg.get_texts()] + [leg.get_title().get_text()]
        out += [ax.get_xlabel(), ax.get_ylabel(), ax.get_title()]
    return out


def test_score_plot_is_a_density_labelled_by_dataset_name(tmp_path: Path, saved: list) -> None:
    paths = plot_jet(_jet_hists(), "ttbar", tmp_path, {"m": QUANTILES})
    assert [p.name for p in paths] == ["score_m.png", "mass_sculpting_m.png"]
    score_fig, mass_fig = saved
    texts = _texts(score_fig)
    assert "dN/d" in score_fig.axes[0].get_ylabel()  # a density, not a fraction per bin
    assert {"ttbar", "pfnano"} <= set(texts)
    # without fileset roles nothing is called background
    assert not any("background" in t for t in _texts(score_fig) + _texts(mass_fig))
    assert any(t.startswith("dataset: ttbar") for t in _texts(mass_fig))


def test_roles_come_from_the_fileset_metadata(tmp_path: Path, saved: list) -> None:
    meta = {"pfnano": {"role": "background"}, "ttbar": {}}
    plot_jet(_jet_hists(), "pfnano", tmp_path, {"m": QUANTILES}, metadata=meta)
    texts = _texts(saved[0]) + _texts(saved[1])
    assert "pfnano (background)" in texts and "ttbar" in texts
    assert any(t.startswith("background: pfnano") for t in texts)


def test_density_is_independent_of_the_binning() -> None:
    """The same events in fine quantile bins and in grouped display bins give one density."""
    edges = np.geomspace(1e-6, 1e-4, 121)
    groups = _display_groups(edges, 20)
    assert groups[0] == 0 and np.all(np.diff(groups) > 0) and len(groups) <= 21
    wide = np.append(edges[groups], edges[-1])
    counts = np.full(120, 10.0)  # flat in log(score)
    merged = np.add.reduceat(counts, groups)
    dens = merged / (counts.sum() * np.diff(np.log10(wide)))
    assert dens == pytest.approx(np.full(len(groups), 1 / 2))  # 1 over 2 decades


def test_no_error_bars_on_empty_bins() -> None:
    from matplotlib.figure import Figure

    ax = Figure().subplots()
    counts = np.array([0, 4, 0, 0, 9, 0])
    _draw_counts(ax, counts, np.arange(7.0), "x")
    (bars,) = ax.containers
    segments = bars.lines[2][0].get_segments()
    assert len(segments) == 2  # one per non-empty bin
    assert [s[0][0] for s in segments] == [1.5, 4.5]


def test_dijet_plots_use_one_mjj_label(tmp_path: Path, saved: list) -> None:
    h = hist.Hist(hist.axis.StrCategory(["data"], name="dataset"), mjj_axis(1000, 3000, 100),
                  hist.axis.Integer(-1, 2, name="label"), storage=hist.storage.Weight())
    h.fill(dataset="data", mjj=np.random.default_rng(2).uniform(1500, 2000, 300), label=0)
    assert mjj_axis().label == MJJ_LABEL == r"$m_{jj}$ [GeV]"
    plot_dijet({"mjj": h}, tmp_path)
    ax = saved[0].axes[0]
    assert ax.get_xlabel() == MJJ_LABEL
    # error bars only where there are events: the 5 bins from 1500 to 2000 GeV
    (bars,) = ax.containers
    assert len(bars.lines[2][0].get_segments()) == 5


def test_no_m_JJ_left_in_the_package() -> None:
    root = Path(report.__file__).parents[1]
    for p in root.rglob("*.py"):
        assert "m_{JJ}" not in p.read_text(), p


def test_roc_plot_names_its_samples(tmp_path: Path, saved: list) -> None:
    from coffea_anomaly.training.evaluate import plot_roc, sample_name

    fpr = np.linspace(0, 1, 11)
    plot_roc({"m (AUC 0.700)": (fpr, np.sqrt(fpr))}, tmp_path / "roc.png",
             signal_name="top_jets", background_name="qcd_jets")
    assert (tmp_path / "roc.png").stat().st_size > 1000
    assert "signal: top_jets\nbackground: qcd_jets" in _texts(saved[0])
    spec = SimpleNamespace(path="data/top_jets/fileset.json", label="signal")
    assert sample_name(spec) == "top_jets"
    assert sample_name(SimpleNamespace(path="x/ttbar.root", label="")) == "ttbar"
    assert sample_name(SimpleNamespace(path="x/", label="qcd")) == "qcd"


# --- the demo's report ----------------------------------------------------------------------

HEADLINE = {
    "wall_time_s": 61.0,
    "samples": {"qcd_jets": {"events": 10, "fileset": "data/qcd/fileset.json"}},
    "jets": {"events_read": 10, "items_scored": 12, "items_scored_per_s": 150.0,
             "metrics": {"m": {"auc_vs_qcd_jets": {"top_jets": 0.88}}}},
    "dijet": {"events_read": 20, "items_scored": 15, "items_scored_per_s": 90.0,
              "auc_signal_vs_background": {"d": 0.76, "quak.wprime_2prong": 0.21}},
    "bumphunt": {"best_mass": 3524.3, "local_z": 5.31, "global_z": 4.58, "headline": "best mass 3524 GeV",
                 "plots": ["results/demo/bumphunt/mjj_fit.png"]},
}


def _fake_demo(tmp_path: Path) -> tuple[SimpleNamespace, SimpleNamespace]:
    from coffea_anomaly.plotting.style import new_figure, save

    for rel in ("jets/plots/score_m.png", "dijet/plots/mjj.png", "bumphunt/mjj_fit.png"):
        fig, ax = new_figure(figsize=(2, 2))
        ax.plot([0, 1], [1, 0])
        save(fig, tmp_path / rel)
    summary = {"events_read": 10, "items_scored": 12, "wall_time_s": 1.0, "items_scored_per_s": 12.0,
               "all_events_accounted": True, "datasets": {"qcd_jets": {"cutflow": {"events": 10}}}}
    jets = SimpleNamespace(out_dir=tmp_path / "jets", summary={**summary, "plots": ["plots/score_m.png"]})
    dijets = SimpleNamespace(out_dir=tmp_path / "dijet", summary={**summary, "plots": ["plots/mjj.png"]})
    return jets, dijets


def test_report_numbers_hold_events_rates_aucs_and_significances() -> None:
    from coffea_anomaly.demo import report_numbers

    rows = dict(report_numbers(HEADLINE))
    assert rows["jet processor: jets scored per second"] == "150"
    assert rows["AUC m: top_jets vs qcd_jets"] == "0.880"
    assert rows["AUC d: injected signal vs background (truth label)"] == "0.760"
    # a QUAK signal prior's loss is low for signal-like events: the reversed AUC beside it
    assert rows["AUC quak.wprime_2prong: injected signal vs background (truth label)"] == (
        "0.210 (the signal scores lower: 1 − AUC = 0.790)")
    assert rows["bump hunt: best mass"] == "3524 GeV"
    assert rows["bump hunt: local significance"] == "5.31 σ"
    assert rows["bump hunt: global significance"] == "4.58 σ"


def test_html_report_is_self_contained(tmp_path: Path) -> None:
    import base64

    from coffea_anomaly.demo import _write_report

    jets, dijets = _fake_demo(tmp_path)
    _write_report(tmp_path, HEADLINE, jets, dijets)
    md = (tmp_path / "report.md").read_text()
    assert "| AUC m: top_jets vs qcd_jets | 0.880 |" in md
    page = (tmp_path / "report.html").read_text()
    # nothing is fetched: no external src/href, no stylesheet or script files
    assert not re.search(r"""\b(href|src)\s*=\s*["'](?!data:)""", page)
    assert "<script" not in page and "<link" not in page and "url(" not in page
    imgs = re.findall(r"<img\b[^>]*>", page)
    assert len(imgs) == 3
    for tag in imgs:
        data = re.search(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', tag).group(1)
        assert base64.b64decode(data).startswith(b"\x89PNG")
    for text in ("0.880", "5.31 σ", "4.58 σ", "3524 GeV", "<code>qcd_jets</code>"):
        assert text in page


def test_symmetric_section_reverses_the_yardsticks_low_auc(tmp_path: Path) -> None:
    from coffea_anomaly.demo import _sections

    jets, dijets = _fake_demo(tmp_path)
    sym = {"figures": ["nae/symmetric_tagging.png"],
           "aucs": {"NAE qcd_in_top": 0.832, "no model: mean pixel² top_in_qcd": 0.131}}  # fmt: skip
    section = next(s for s in _sections(tmp_path, {**HEADLINE, "symmetric_tagging": sym}, jets, dijets)
                   if s["title"].startswith("Symmetric"))  # fmt: skip
    assert section["bullets"] == ["NAE qcd in top: AUC 0.832",
                                  "no model: mean pixel² top in qcd: AUC 0.131 (the signal scores lower: 1 − AUC = 0.869)"]  # fmt: skip
    assert "no model" in " ".join(section["text"])
