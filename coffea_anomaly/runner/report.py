"""After the job: sculpting and AUC numbers read off the merged histograms, and quick-look plots."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import hist
import numpy as np

from ..histograms.metrics import jensen_shannon, tail_slice_start
from ..metrics import auc_from_counts
from ..plotting.style import styled

__all__ = ["background_dataset", "jet_metrics", "plot_dijet", "plot_jet", "slice_start"]

SLICES = (0.5, 0.1, 0.01)


def slice_start(edges: np.ndarray, counts: np.ndarray, frac: float, quantiles: dict[str, Any] | None) -> int:
    """Flow-inclusive index of the first score bin of the 'least background-like ``frac``'.

    With the model card's background quantile table the threshold is fixed at training:
    score > q(1 - frac) of the training background, an edge of the axis. Without it the
    smallest upper tail of ``counts`` holding ``frac`` is used.
    """
    if quantiles:
        threshold = float(np.interp(1.0 - frac, quantiles["q"], quantiles["value"]))
        return int(np.searchsorted(edges, threshold - 1e-12 * abs(threshold), side="left")) + 1
    return tail_slice_start(counts, frac)


def _fraction(counts: np.ndarray, start: int) -> float:
    total = counts.sum()
    return float(counts[start:].sum() / total) if total > 0 else float("nan")


def background_dataset(datasets: list[str], metadata: dict[str, dict[str, Any]]) -> str | None:
    """The dataset taken as background: metadata ``role: background``, else a name with 'qcd'."""
    for ds in datasets:
        if (metadata.get(ds) or {}).get("role") == "background":
            return ds
    for ds in datasets:
        if "qcd" in ds.lower():
            return ds
    return datasets[0] if datasets else None


def _score_counts(h: hist.Hist, ds: str) -> np.ndarray:
    return h[{"dataset": ds}].values(flow=True)


def jet_metrics(hists: dict[str, hist.Hist], background: str | None,
                quantiles: dict[str, Any] | None = None) -> dict[str, Any]:
    """Per model score: AUC of every dataset against the background, and mass sculpting:
    JSD of the background mass shape in the least background-like slices (thresholds from
    the model card's training quantiles, ``quantiles[score key]``) vs all, and the fraction
    of the background each slice keeps."""
    quantiles = quantiles or {}
    out: dict[str, Any] = {}
    for name, h in hists.items():
        if not name.startswith("score_") or background is None:
            continue
        key = name[len("score_"):]
        datasets = list(h.axes["dataset"])
        if background not in datasets:
            continue
        bkg = _score_counts(h, background)
        res: dict[str, Any] = {"auc_vs_" + background: {}}
        for ds in datasets:
            if ds != background and _score_counts(h, ds).sum() > 0 and bkg.sum() > 0:
                res["auc_vs_" + background][ds] = auc_from_counts(_score_counts(h, ds), bkg)
        hm = hists.get(f"mass_score_{key}")
        if hm is not None and background in list(hm.axes["dataset"]):
            m2 = hm[{"dataset": background}].values(flow=True)  # mass × score (with flow)
            all_mass = m2.sum(axis=1)
            edges = hm.axes["score"].edges
            sculpt = {}
            for frac in SLICES:
                start = slice_start(edges, m2.sum(axis=0), frac, quantiles.get(key))
                sculpt[f"jsd_top_{frac:g}"] = jensen_shannon(m2[:, start:].sum(axis=1), all_mass)
                sculpt[f"kept_top_{frac:g}"] = _fraction(m2.sum(axis=0), start)
            res["sculpting_" + background] = sculpt
        out[key] = res
    return out


@styled
def plot_jet(hists: dict[str, hist.Hist], background: str | None, out_dir: Path,
             quantiles: dict[str, Any] | None = None) -> list[Path]:
    """Score distributions per dataset, and the background mass in score slices."""
    quantiles = quantiles or {}
    from ..plotting.style import label, new_figure, save

    paths = []
    for name, h in sorted(hists.items()):
        if not name.startswith("score_"):
            continue
        key = name[len("score_"):]
        fig, ax = new_figure()
        for ds in h.axes["dataset"]:
            hd = h[{"dataset": ds}]
            if hd.sum().value > 0:
                (hd / hd.sum().value).plot1d(ax=ax, label=ds)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_ylabel("fraction of jets")
        ax.set_xlabel(f"{key} score")
        ax.legend()
        label(ax)
        paths.append(save(fig, out_dir / f"score_{key}.png"))
        hm = hists.get(f"mass_score_{key}")
        if hm is None or background is None or background not in list(hm.axes["dataset"]):
            continue
        fig, ax = new_figure()
        hb = hm[{"dataset": background}]
        counts = hb.values(flow=True).sum(axis=0)
        edges = hb.axes["mass"].edges
        total = hb.values(flow=True).sum(axis=1)[1:-1]
        ax.stairs(total / max(total.sum(), 1e-300), edges, label=f"{background}: all")
        score_edges = hb.axes["score"].edges
        for frac in SLICES:
            start = slice_start(score_edges, counts, frac, quantiles.get(key))
            part = hb.values(flow=True)[1:-1, start:].sum(axis=1)
            if part.sum() > 0:
                ax.stairs(part / part.sum(), edges,
                          label=f"least bkg-like {100 * frac:g}% (keeps {100 * _fraction(counts, start):.2g}%)")
        ax.set_xlabel(r"$m_{J}$ [GeV]")
        ax.set_ylabel("normalised")
        ax.legend(fontsize="small")
        label(ax)
        paths.append(save(fig, out_dir / f"mass_sculpting_{key}.png"))
    return paths


@styled
def plot_dijet(hists: dict[str, hist.Hist], out_dir: Path, quantiles: dict[str, Any] | None = None) -> list[Path]:
    """m_jj per dataset (log scale), with the least background-like 10 % and 1 % per score
    (thresholds from the model card's training-background quantiles when it has them)."""
    quantiles = quantiles or {}
    from ..plotting.style import label, new_figure, save

    paths = []
    h = hists.get("mjj")
    if h is not None:
        fig, ax = new_figure()
        for ds in h.axes["dataset"]:
            hd = h[{"dataset": ds, "label": sum}]
            if hd.sum().value > 0:
                hd.plot1d(ax=ax, label=ds)
        ax.set_yscale("log")
        ax.set_ylabel("events")
        ax.legend()
        label(ax)
        paths.append(save(fig, out_dir / "mjj.png"))
    for name, hs in sorted(hists.items()):
        if not name.startswith("mjj_score_"):
            continue
        key = name[len("mjj_score_"):]
        fig, ax = new_figure()
        for ds in hs.axes["dataset"]:
            hd = hs[{"dataset": ds, "label": sum}]
            vals = hd.values(flow=True)
            if vals.sum() <= 0:
                continue
            edges = hd.axes["mjj"].edges
            ax.stairs(vals[1:-1].sum(axis=1), edges, label=f"{ds}: all")
            score_counts = vals.sum(axis=0)
            for frac in (0.1, 0.01):
                start = slice_start(hd.axes["score"].edges, score_counts, frac, quantiles.get(key))
                ax.stairs(vals[1:-1, start:].sum(axis=1), edges,
                          label=f"{ds}: score > bkg q{100 * (1 - frac):g} (keeps {100 * _fraction(score_counts, start):.2g}%)")
        ax.set_yscale("log")
        ax.set_xlabel(r"$m_{JJ}$ [GeV]")
        ax.set_ylabel("events")
        ax.legend(fontsize="x-small")
        label(ax)
        paths.append(save(fig, out_dir / f"mjj_score_{key}.png"))
    return paths
