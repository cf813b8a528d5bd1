"""After the job: sculpting and AUC numbers read off the merged histograms, and quick-look plots."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import hist
import numpy as np

from ..histograms.metrics import jensen_shannon, tail_slice_start
from ..metrics import auc_from_counts
from ..plotting.style import styled

__all__ = [
    "MAX_QUAK_PLOTS",
    "background_dataset",
    "jet_metrics",
    "plot_dijet",
    "plot_jet",
    "plot_quak",
    "quak_pairs",
    "slice_start",
]

SLICES = (0.5, 0.1, 0.01)

#: the one axis label of the dijet invariant mass in every plot
MJJ_LABEL = r"$m_{jj}$ [GeV]"

#: at most this many QUAK-space plots per run (N scores make N(N-1)/2 pairs)
MAX_QUAK_PLOTS = 6

#: shares of the signal the QUAK-space contours enclose
QUAK_CONTOURS = (0.68, 0.95)

#: fewer signal events are drawn as filled bins, not contours
QUAK_MIN_CONTOUR_EVENTS = 200


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
    """The dataset the fileset metadata marks as background (``role: background``), or None.

    Nothing is guessed from dataset names or order: without a marked background no AUC
    is computed (a first dataset taken as "background" gave AUCs of ttbar vs PFNano).
    """
    for ds in datasets:
        if (metadata.get(ds) or {}).get("role") == "background":
            return ds
    return None


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


def _is_background(ds: str, metadata: dict[str, dict[str, Any]] | None) -> bool:
    return ((metadata or {}).get(ds) or {}).get("role") == "background"


def _dataset_label(ds: str, metadata: dict[str, dict[str, Any]] | None) -> str:
    """A dataset's legend entry: its name, plus its role when the fileset metadata gives one."""
    role = ((metadata or {}).get(ds) or {}).get("role")
    return f"{ds} ({role})" if role else ds


def _draw_counts(ax: Any, counts: np.ndarray, edges: np.ndarray, label: str,
                 scale: np.ndarray | float = 1.0, variances: np.ndarray | None = None,
                 **kwargs: Any) -> None:
    """A histogram as a step line with error bars (sqrt of ``variances``, default the counts),
    drawn only on non-empty bins: no comb of Poisson upper limits on empty bins. ``scale``
    multiplies counts and errors (normalisation, per-bin-width densities)."""
    counts = np.asarray(counts, dtype=float)
    vals = counts * scale
    color = ax.stairs(vals, edges, label=label, **kwargs).get_edgecolor()
    nz = counts > 0
    log_x = ax.get_xscale() == "log"
    centres = np.sqrt(edges[1:] * edges[:-1]) if log_x else 0.5 * (edges[1:] + edges[:-1])
    err = np.sqrt(counts if variances is None else np.asarray(variances, dtype=float)) * scale
    ax.errorbar(centres[nz], vals[nz], yerr=err[nz], fmt="none", ecolor=color, elinewidth=1)


def _headroom(ax: Any, log: bool = True) -> None:
    """Room above the highest point for the legend (a factor 30 on a log axis, 1.6 on a linear one)."""
    lo, hi = ax.get_ylim()
    if log:
        ax.set_ylim(lo, lo * (hi / lo) ** 1.5 if lo > 0 else hi * 30)
    else:
        ax.set_ylim(lo, lo + (hi - lo) * 1.6)


def _display_groups(edges: np.ndarray, n_bins: int = 40) -> np.ndarray:
    """Start indices (for ``np.add.reduceat``) grouping fine score bins into about ``n_bins``
    display bins of similar width in log10(score) (linear score if any edge is <= 0).

    The score axes have the training-background quantiles as edges, dense in the tail; for a
    density the grouping changes only the noise, not the shape.
    """
    x = np.log10(edges) if edges[0] > 0 else np.asarray(edges, dtype=float)
    targets = np.linspace(x[0], x[-1], n_bins + 1)
    idx = np.unique(np.searchsorted(x, targets, side="left").clip(0, len(x) - 1))
    idx = np.unique(np.concatenate([[0], idx, [len(x) - 1]]))
    return idx[:-1]


@styled
def plot_jet(hists: dict[str, hist.Hist], background: str | None, out_dir: Path,
             quantiles: dict[str, Any] | None = None,
             metadata: dict[str, dict[str, Any]] | None = None) -> list[Path]:
    """Score distributions per dataset, and a dataset's mass in score slices.

    The score plot is a density per unit log10(score) (the score axes have quantile bins,
    so counts per bin would show the binning), with the model card's training-background
    90 % and 99 % quantiles marked. Datasets are labelled by name, with their fileset
    ``role`` when ``metadata`` gives one; ``background`` (the reference dataset of the mass
    plot) is called background only when its metadata says ``role: background``.
    """
    quantiles = quantiles or {}
    from ..plotting.style import label, new_figure, save

    paths = []
    for name, h in sorted(hists.items()):
        if not name.startswith("score_"):
            continue
        key = name[len("score_"):]
        fig, ax = new_figure()
        ax.set_xscale("log")
        fine = h.axes["score"].edges
        groups = _display_groups(fine)
        edges = np.append(fine[groups], fine[-1])
        positive = edges[0] > 0
        for ds in h.axes["dataset"]:
            vals = _score_counts(h, ds)
            if vals.sum() <= 0:
                continue
            var = h[{"dataset": ds}].variances(flow=True)
            inner = np.add.reduceat(vals[1:-1], groups)
            var = None if var is None else np.add.reduceat(var[1:-1], groups)
            if positive:
                scale = 1.0 / (vals.sum() * np.diff(np.log10(edges)))
            else:  # a score axis reaching 0 or below: no log density, fraction per unit score
                scale = 1.0 / (vals.sum() * np.diff(edges))
            _draw_counts(ax, inner, edges, _dataset_label(ds, metadata), scale, var)
        table = quantiles.get(key)
        if table:
            for q, ls in ((0.9, "--"), (0.99, ":")):
                cut = float(np.interp(q, table["q"], table["value"]))
                ax.axvline(cut, color="grey", ls=ls, lw=1, label=f"training bkg. {100 * q:g}% quantile")
        if not positive:
            ax.set_xscale("linear")
        ax.set_yscale("log")
        _headroom(ax)
        ax.set_ylabel(r"$1/N\ dN/d\log_{10}(\mathrm{score})$" if positive
                      else r"$1/N\ dN/d\,\mathrm{score}$")
        ax.set_xlabel(f"{key} score")
        ax.legend(fontsize="small", loc="upper left")
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
        ax.stairs(total / max(total.sum(), 1e-300), edges, label="all jets")
        score_edges = hb.axes["score"].edges
        for frac in SLICES:
            start = slice_start(score_edges, counts, frac, quantiles.get(key))
            part = hb.values(flow=True)[1:-1, start:].sum(axis=1)
            if part.sum() > 0:
                ax.stairs(part / part.sum(), edges,
                          label=f"score > training-bkg. q{100 * (1 - frac):g} "
                                f"(keeps {100 * _fraction(counts, start):.2g}%)")
        ax.set_xlabel(r"$m_{J}$ [GeV]")
        ax.set_ylabel("fraction of jets per bin")
        _headroom(ax, log=False)
        what = "background" if _is_background(background, metadata) else "dataset"
        ax.legend(fontsize="small", title=f"{what}: {background}", title_fontsize="small")
        label(ax)
        paths.append(save(fig, out_dir / f"mass_sculpting_{key}.png"))
    return paths


@styled
def plot_dijet(hists: dict[str, hist.Hist], out_dir: Path, quantiles: dict[str, Any] | None = None,
               metadata: dict[str, dict[str, Any]] | None = None) -> list[Path]:
    """m_jj per dataset (log scale), with the least background-like 10 % and 1 % per score
    (thresholds from the model card's training-background quantiles when it has them), and
    the QUAK-space plots (:func:`plot_quak`)."""
    quantiles = quantiles or {}
    from ..plotting.style import label, new_figure, save

    paths = []
    h = hists.get("mjj")
    if h is not None:
        fig, ax = new_figure()
        for ds in h.axes["dataset"]:
            hd = h[{"dataset": ds, "label": sum}]
            if hd.sum().value > 0:
                _draw_counts(ax, hd.values(), hd.axes["mjj"].edges, _dataset_label(ds, metadata),
                             variances=hd.variances())
        ax.set_yscale("log")
        _headroom(ax)
        ax.set_xlabel(MJJ_LABEL)
        ax.set_ylabel("events / bin")
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
            ax.stairs(vals[1:-1].sum(axis=1), edges, label=f"{_dataset_label(ds, metadata)}: all")
            score_counts = vals.sum(axis=0)
            for frac in (0.1, 0.01):
                start = slice_start(hd.axes["score"].edges, score_counts, frac, quantiles.get(key))
                ax.stairs(vals[1:-1, start:].sum(axis=1), edges,
                          label=f"{ds}: score > training-bkg. q{100 * (1 - frac):g} "
                                f"(keeps {100 * _fraction(score_counts, start):.2g}%)")
        ax.set_yscale("log")
        _headroom(ax)
        ax.set_xlabel(MJJ_LABEL)
        ax.set_ylabel("events / bin")
        ax.legend(fontsize="x-small")
        label(ax)
        paths.append(save(fig, out_dir / f"mjj_score_{key}.png"))
    paths += plot_quak(hists, out_dir)
    return paths


def quak_pairs(names: list[str], max_plots: int = MAX_QUAK_PLOTS) -> list[str]:
    """The ``quak_<A>__<B>`` histograms to plot: pairs with a background loss first (a score
    key holding ``background``, e.g. ``quak.background``), then by name; at most ``max_plots``."""
    pairs = [n for n in names if n.startswith("quak_")]
    return sorted(pairs, key=lambda n: ("background" not in n, n))[:max_plots]


def quak_scores(name: str) -> tuple[str, str]:
    """The two score keys of ``quak_<A>__<B>`` (keys may hold dots: ``quak.background``)."""
    a, _, b = name[len("quak_"):].partition("__")
    return a, b


def _per_log_area(counts: np.ndarray, xe: np.ndarray, ye: np.ndarray, logx: bool, logy: bool) -> np.ndarray:
    """Counts per unit area of the plot (in log10 where an axis is logarithmic), normalised."""
    dx = np.diff(np.log10(xe) if logx else xe)
    dy = np.diff(np.log10(ye) if logy else ye)
    return counts / (counts.sum() * dx[:, None] * dy[None, :])


def _enclosing_levels(density: np.ndarray, counts: np.ndarray, shares: tuple[float, ...]) -> list[float]:
    """Density levels whose upper regions hold ``shares`` of the counts (highest density first)."""
    order = np.argsort(density, axis=None)[::-1]
    cum = np.cumsum(counts.ravel()[order]) / counts.sum()
    return [float(density.ravel()[order][min(np.searchsorted(cum, f), cum.size - 1)]) for f in shares]


def _label_counts(h: hist.Hist, label: int) -> np.ndarray | None:
    if "label" not in h.axes.name:
        return h.values() if label == -1 else None
    if label not in list(h.axes["label"]):
        return None
    vals = h[{"label": hist.loc(label)}].values()
    return vals if vals.sum() > 0 else None


@styled
def plot_quak(hists: dict[str, hist.Hist], out_dir: Path, max_plots: int = MAX_QUAK_PLOTS) -> list[Path]:
    """QUAK space, the QUAK paper's Fig. 3 style: per ``quak_<A>__<B>`` histogram (all
    datasets summed), the background (truth label 0) as a density per unit (log) area, the
    signal (label 1) as the contours holding 68 % and 95 % of it. Without a background label
    the unlabelled events (-1, data) are the density. Log axes where a loss spans more than
    two decades. At most ``max_plots`` pairs (:func:`quak_pairs`).
    """
    from matplotlib.colors import LogNorm
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    from ..plotting.style import label, new_figure, save

    paths = []
    for name in quak_pairs(list(hists), max_plots):
        h = hists[name]
        if "dataset" in h.axes.name:
            h = h[{"dataset": sum}]
        a, b = quak_scores(name)
        xe, ye = (np.asarray(ax_.edges, dtype=float) for ax_ in h.axes if ax_.name != "label")
        bkg, sig, unk = (_label_counts(h, k) for k in (0, 1, -1))
        ref, ref_name = (bkg, "background") if bkg is not None else (unk, "data (no truth label)")
        if ref is None and sig is None:
            continue
        logx, logy = (bool(e[0] > 0 and e[-1] / e[0] > 100) for e in (xe, ye))
        fig, ax = new_figure(figsize=(9, 8))
        handles: list[Any] = []
        if ref is not None:
            dens = _per_log_area(ref, xe, ye, logx, logy)
            masked = np.ma.masked_less_equal(dens.T, 0.0)
            mesh = ax.pcolormesh(xe, ye, masked, cmap="Blues", norm=LogNorm(vmin=masked.min(), vmax=masked.max()))
            fig.colorbar(mesh, ax=ax, label=f"{ref_name}: fraction per unit " + ("log area" if logx or logy else "area"))
            handles.append(Patch(color="tab:blue", alpha=0.6, label=f"{ref_name} ({ref.sum():.0f} events)"))
        if sig is not None:
            dens = _per_log_area(sig, xe, ye, logx, logy)
            levels = sorted(set(_enclosing_levels(dens, sig, QUAK_CONTOURS)))
            xc = np.sqrt(xe[1:] * xe[:-1]) if logx else 0.5 * (xe[1:] + xe[:-1])
            yc = np.sqrt(ye[1:] * ye[:-1]) if logy else 0.5 * (ye[1:] + ye[:-1])
            enough = sig.sum() >= QUAK_MIN_CONTOUR_EVENTS and np.count_nonzero(sig) >= 4
            if enough and levels[0] > 0 and levels[-1] < dens.max():
                ax.contour(xc, yc, dens.T, levels=levels, colors="tab:red", linewidths=[1.2, 2.0][: len(levels)])
                what = " / ".join(f"{100 * f:g} %" for f in QUAK_CONTOURS)
                handles.append(Line2D([], [], color="tab:red", label=f"signal ({sig.sum():.0f} events): {what}"))
            else:  # too few filled bins for contours: the bins themselves
                i, j = np.nonzero(sig)
                ax.scatter(xc[i], yc[j], s=20 + 80 * sig[i, j] / sig.max(), color="tab:red", marker="o")
                handles.append(Line2D([], [], color="tab:red", marker="o", ls="",
                                      label=f"signal ({sig.sum():.0f} events)"))
        ax.set_xscale("log" if logx else "linear")
        ax.set_yscale("log" if logy else "linear")
        ax.set_xlim(xe[0], xe[-1])
        ax.set_ylim(ye[0], ye[-1])
        ax.set_xlabel(f"{a} loss")
        ax.set_ylabel(f"{b} loss")
        ax.legend(handles=handles, fontsize="small", loc="upper left")
        label(ax)
        paths.append(save(fig, out_dir / f"{name}.png"))
    return paths
