"""Plots of a bump hunt, drawn the way dijet searches show them (mplhep CMS-like style).

* ``mjj_fit.png``: m_jj data with the background-only fit, the signal-plus-background fit
  at the best mass and the signal alone, the BumpHunter window shaded, and a pull panel
  ``(n - b)/sqrt(b)``; for several categories, the one most significant at the best mass.
* ``pvalue_scan.png``: local p-value versus mass per category and for the Fisher and
  joint-likelihood combinations, with 1-5 sigma lines.
* ``categories.png``: one panel (fit and pulls) per category, laid out like the categories.
* ``qr_selection.png`` (quantile-regression selections only): the first score's thresholds
  vs m_jj (per-bin quantiles and the fitted curves), and the share of the events each band
  keeps per m_jj bin, against its target and against one fixed threshold.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.special import ndtr

from ..plotting.style import label, new_figure, save, styled
from .combine import z_from_p

if TYPE_CHECKING:
    from .result import BumpHuntResult, CategoryResult

__all__ = ["plot_all", "plot_categories", "plot_fit", "plot_pvalue_scan", "plot_qr"]


def _draw_fit(ax: Any, pull_ax: Any, c: CategoryResult, mass: float, *, legend: bool = True) -> None:
    import mplhep

    edges, n, b = c.edges, c.counts, c.background
    centres = 0.5 * (edges[1:] + edges[:-1])
    width = np.diff(edges)
    nz = n > 0
    ax.errorbar(centres[nz], (n / width)[nz], yerr=(np.sqrt(n) / width)[nz], fmt="o", ms=3, color="black",
                label="data")
    mplhep.histplot(b / width, edges, ax=ax, color="tab:blue", label=f"background ({c.selection.chosen.model})")
    fit = c.fit_at_best
    if fit is not None:
        mplhep.histplot(fit.expected / width, edges, ax=ax, color="tab:red", ls="--",
                        label=f"S+B, m = {mass:.0f} GeV")
        sig = (fit.expected - fit.background) / width
        if fit.signal_yield and fit.signal_yield > 0:
            mplhep.histplot(np.where(sig > 0, sig, np.nan), edges, ax=ax, color="tab:green", ls=":",
                            label=f"signal, {fit.signal_yield:.0f} ± {fit.signal_error:.0f}")
    if c.bumphunter is not None:
        for a in (ax, pull_ax):
            a.axvspan(*c.bumphunter.mass_range, color="gold", alpha=0.25, lw=0,
                      label="BumpHunter window" if a is ax else None)
    ax.set_yscale("log")
    ax.set_ylabel("events / GeV")
    pos = b / width
    ax.set_ylim(max(pos[pos > 0].min() * 0.3, 1e-4), pos.max() * 5)
    if legend:
        ax.legend(fontsize="x-small", loc="upper right")
    pull = np.where(b > 0, (n - b) / np.sqrt(np.maximum(b, 1e-12)), 0.0)
    pull_ax.bar(centres, pull, width=width, color="gray", edgecolor="none")
    pull_ax.axhline(0, color="black", lw=0.8)
    pull_ax.set_ylim(-4, 4)
    pull_ax.set_ylabel("(n - b)/√b")
    pull_ax.set_xlabel(r"$m_{jj}$ [GeV]")
    pull_ax.set_xlim(edges[0], edges[-1])


@styled
def plot_fit(result: BumpHuntResult, path: Path) -> Path:
    """m_jj with fits, signal and pulls for the category most significant at the best mass."""
    best = result.best_index
    c = max(result.categories, key=lambda cr: cr.scan.q0[0, best])
    fig, (ax, pull_ax) = new_figure(nrows=2, sharex=True, figsize=(9, 8), gridspec_kw={"height_ratios": [3, 1]})
    fig.subplots_adjust(hspace=0.05)
    _draw_fit(ax, pull_ax, c, result.best_mass)
    title = "" if len(result.categories) == 1 else f"category {c.category.name}"
    label(ax, text="", rlabel=title)
    return save(fig, path)


@styled
def plot_pvalue_scan(result: BumpHuntResult, path: Path) -> Path:
    """Local p-value versus mass, per category and combined, with 1-5 sigma lines."""
    fig, ax = new_figure(figsize=(9, 6))
    m = result.masses
    many = len(result.categories) > 1
    for c in result.categories:
        name = f"cat {c.category.name}" if many else "local p-value"
        ax.plot(m, c.scan.p_local[0], lw=1 if many else 2, alpha=0.6 if many else 1,
                label=name if len(result.categories) <= 9 else None)
    if many:
        ax.plot(m, ndtr(-result.fisher_z), color="black", ls="--", lw=2, label="Fisher")
        ax.plot(m, ndtr(-result.joint_z), color="black", lw=2.5, label="joint likelihood")
    lowest = min(float(np.min(ndtr(-result.joint_z))), float(np.min(ndtr(-result.fisher_z))),
                 *(float(np.min(c.scan.p_local[0])) for c in result.categories))
    ax.set_yscale("log")
    ax.set_ylim(max(min(lowest * 0.3, 1e-7), 1e-30), 1.0)
    for z in range(1, 6):
        p = float(ndtr(-z))
        ax.axhline(p, color="red", ls=":", lw=0.8)
        ax.text(m[-1], p, f" {z}σ", color="red", va="center", fontsize="small")
    ax.axvline(result.best_mass, color="gray", ls="--", lw=0.8)
    ax.set_xlabel(r"$m_{X}$ [GeV]")
    ax.set_ylabel("local p-value")
    ax.set_xlim(m[0], m[-1])
    g = result.headline
    summary = f"best {result.best_mass:.0f} GeV: local {g.local_z:.1f}σ, global {result.global_z:.1f}σ"
    ax.legend(title=summary, title_fontsize="x-small", fontsize="x-small", ncol=2, loc="lower left")
    label(ax, text="")
    return save(fig, path)


@styled
def plot_categories(result: BumpHuntResult, path: Path) -> Path:
    """A grid of per-category fit panels (with pulls), laid out like the categories.

    Constrained layout, short panel titles (category and its local Z at the best mass, which
    the figure title names once), four ticks per axis, axis labels on the outer panels only.
    """
    from matplotlib.ticker import MaxNLocator

    cats = result.categories
    shape = result.config.categories
    ncol = shape[1] if len(shape) == 2 else min(len(cats), 3)
    nrow = int(np.ceil(len(cats) / ncol))
    fig, axes = new_figure(nrows=2 * nrow, ncols=ncol, figsize=(4.5 * ncol, 4.2 * nrow + 0.6), squeeze=False,
                           gridspec_kw={"height_ratios": [3, 1] * nrow}, layout="constrained")
    best = result.best_index
    for i in range(nrow * ncol):
        r, col = divmod(i, ncol)
        ax, pull_ax = axes[2 * r, col], axes[2 * r + 1, col]
        if i >= len(cats):
            ax.set_visible(False)
            pull_ax.set_visible(False)
            continue
        c = cats[i]
        _draw_fit(ax, pull_ax, c, result.best_mass, legend=False)
        z = max(float(z_from_p(np.array(c.scan.p_local[0, best]))), 0.0) + 0.0  # no "-0.0"
        ax.set_title(f"{c.category.name}: Z = {z:.1f}", fontsize="small")
        ax.set_xlim(c.edges[0], c.edges[-1])
        ax.tick_params(labelbottom=False, labelsize="x-small")
        pull_ax.tick_params(labelsize="x-small")
        pull_ax.xaxis.set_major_locator(MaxNLocator(4))
        pull_ax.set_yticks([-3, 0, 3])
        ax.set_ylabel("events / GeV" if col == 0 else "", fontsize="x-small")
        pull_ax.set_ylabel("pull" if col == 0 else "", fontsize="x-small")
        last_row = r == nrow - 1 or i + ncol >= len(cats)
        pull_ax.set_xlabel(r"$m_{jj}$ [GeV]" if last_row else "", fontsize="x-small")
    fig.suptitle(f"local significance per category at m = {result.best_mass:.0f} GeV", fontsize="medium")
    return save(fig, path)


@styled
def plot_qr(result: BumpHuntResult, path: Path) -> Path:
    """Thresholds of the first score vs m_jj and the share kept per m_jj bin (see module doc)."""
    qr = result.qr or {}
    axis = qr["axes"][0]
    edges = np.asarray(qr["mjj_edges"], dtype=float)
    centres = 0.5 * (edges[1:] + edges[:-1])
    fig, (ax_t, ax_k) = new_figure(ncols=2, figsize=(14, 6), layout="constrained")
    fits = [f for f in axis["fits"] if f is not None]
    for f in fits:
        meas = np.array([np.nan if v is None else v for v in f["measured"]], dtype=float)
        line = ax_t.plot(centres, np.asarray(f["threshold"], dtype=float), lw=2,
                         label=f"q = {f['quantile']:.3g}: degree {f['degree']}, "
                               rf"$\chi^2$/ndf = {f['chi2']:.1f}/{f['ndf']}")[0]
        used = np.asarray(f.get("used", np.isfinite(meas)), dtype=bool)
        ax_t.plot(centres[used], meas[used], "o", ms=3, color=line.get_color())
        ax_t.plot(centres[~used], meas[~used], "o", ms=3, mfc="none", color=line.get_color())
        if f["scale"] == "log":
            ax_t.set_yscale("log")
    ax_t.set_xlabel(r"$m_{jj}$ [GeV]")
    ax_t.set_ylabel(f"{axis['axis']} threshold")
    if fits:
        ax_t.legend(fontsize="x-small", title="per-bin quantiles (open: too few events), fits",
                    title_fontsize="x-small", loc="upper left")
    kept = np.array([[np.nan if v is None else v for v in row] for row in axis["kept_fraction"]], dtype=float)
    for b, (row, target) in enumerate(zip(kept, axis["target_fractions"], strict=True)):
        name = "selection" if kept.shape[0] == 1 else f"band {b + 1}"
        line = ax_k.stairs(row, edges, lw=2, label=f"{name} (target {target:.3g})")
        ax_k.axhline(target, color=line.get_edgecolor(), ls=":", lw=1)
    fixed = axis.get("fixed_cut")
    if fixed:
        row = np.array([np.nan if v is None else v for v in fixed["kept_fraction"]], dtype=float)
        ax_k.stairs(row, edges, color="grey", ls="--", lw=1.5,
                    label=f"fixed threshold {fixed['threshold']:.3g} (same overall share)")
    ax_k.set_xlabel(r"$m_{jj}$ [GeV]")
    ax_k.set_ylabel("share of the events kept per m_jj bin")
    ax_k.set_ylim(0, 1.6 if fixed else min(1.6, 3 * max(axis["target_fractions"])))
    ax_k.legend(fontsize="x-small", loc="upper left")
    label(ax_t, text="")
    return save(fig, path)


def plot_all(result: BumpHuntResult, out: Path) -> dict[str, Path]:
    """Draw every plot into ``out``."""
    paths = {
        "mjj_fit": plot_fit(result, out / "mjj_fit.png"),
        "pvalue_scan": plot_pvalue_scan(result, out / "pvalue_scan.png"),
    }
    if len(result.categories) > 1:
        paths["categories"] = plot_categories(result, out / "categories.png")
    if result.qr:
        paths["qr_selection"] = plot_qr(result, out / "qr_selection.png")
    return paths
