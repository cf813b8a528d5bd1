"""Plots of the latent characterisation: (m_jj, z) heat maps and marginal ratios (torch-free)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..plotting.style import save, styled

__all__ = ["plot_heatmaps", "plot_marginal"]


def _contours(ax: Any, mjj: np.ndarray, z: np.ndarray, ms: np.ndarray, zs: np.ndarray,
              color: str, name: str) -> None:  # fmt: skip
    """68 % (dashed) and 95 % (dotted) highest-density regions of the events in the (m_jj, z) plane."""
    if len(mjj) < 20:
        return
    from scipy.ndimage import gaussian_filter

    h, _, _ = np.histogram2d(mjj, z, bins=[np.linspace(ms[0], ms[-1], 31), np.linspace(zs[0], zs[-1], 31)])
    h = gaussian_filter(h, 1.2)  # a smooth density, not the statistical noise of the bins
    flat = np.sort(h.ravel())[::-1]
    cum = np.cumsum(flat) / max(flat.sum(), 1)
    levels = sorted({float(flat[min(np.searchsorted(cum, q), len(flat) - 1)]) for q in (0.68, 0.95)})
    if len(levels) < 1 or levels[-1] <= 0:
        return
    cx = 0.5 * (np.linspace(ms[0], ms[-1], 31)[1:] + np.linspace(ms[0], ms[-1], 31)[:-1])
    cy = 0.5 * (np.linspace(zs[0], zs[-1], 31)[1:] + np.linspace(zs[0], zs[-1], 31)[:-1])
    ax.contour(cx / 1000.0, cy, h.T, levels=levels, colors=color, linewidths=2.0,
               linestyles=["dotted", "dashed"][: len(levels)])  # fmt: skip


@styled
def plot_heatmaps(result: Any, path: Path, model_name: str) -> Path:
    """One panel per observable: the decoded value over the (m_jj, z) grid, with contours
    of where background (black) and signal (red) events sit."""
    import matplotlib.figure

    a = result.arrays
    n = len(result.features)
    cols = min(3, n)
    rows = int(np.ceil(n / cols))
    fig = matplotlib.figure.Figure(figsize=(5.2 * cols, 4.4 * rows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    ms, zs = a["mjj"], a["z"]
    label_ = a["event_label"]
    for i, (ax, feat) in enumerate(zip(axes, result.features)):
        mesh = ax.pcolormesh(ms / 1000.0, zs, a["grid"][:, :, i].T, shading="auto", cmap="viridis")
        fig.colorbar(mesh, ax=ax, label=feat)
        for lab, color, name in ((0, "black", "background"), (1, "red", "signal")):
            sel = label_ == lab
            _contours(ax, a["event_mjj"][sel], a["event_z_mean"][sel], ms, zs, color, name)
        ax.set_xlabel(r"$m_{jj}$ [TeV]", fontsize=15)
        ax.set_ylabel(r"latent $\bar z$", fontsize=15)
        ax.set_title(feat, fontsize=14)
    for ax in axes[n:]:
        ax.set_visible(False)
    fig.suptitle(f"{model_name}: decoded observables over (m_jj, z); contours 68/95 % of "
                 "background (black) and signal (red) events", fontsize=13)  # fmt: skip
    return save(fig, path)


@styled
def plot_marginal(result: Any, path: Path, model_name: str) -> Path:
    """<O>_z / <O>_{z,m_jj} against m_jj: the data (lines) and background-only subsets (bands)."""
    import matplotlib.figure

    a = result.arrays
    n = len(result.features)
    cols = min(3, n)
    rows = int(np.ceil(n / cols))
    fig = matplotlib.figure.Figure(figsize=(5.2 * cols, 3.8 * rows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols, sharex=True)).ravel()
    ms = a["mjj"] / 1000.0
    bands = a["marginal_background_subsets"]
    for i, (ax, feat) in enumerate(zip(axes, result.features)):
        if len(bands):
            ax.fill_between(ms, bands[:, :, i].min(axis=0), bands[:, :, i].max(axis=0), color="grey",
                            alpha=0.4, label=f"background-only subsets ({len(bands)})")  # fmt: skip
        ax.plot(ms, a["marginal"][:, i], color="C3", label="data")
        ax.axhline(1.0, color="black", lw=0.8, ls=":")
        ax.set_title(feat, fontsize=14)
        ax.set_xlabel(r"$m_{jj}$ [TeV]", fontsize=15)
        ax.set_ylabel(r"$\langle O\rangle_z / \langle O\rangle_{z,m_{jj}}$", fontsize=15)
    axes[0].legend(fontsize=10)
    for ax in axes[n:]:
        ax.set_visible(False)
    fig.suptitle(f"{model_name}: marginalised reconstructed observables", fontsize=13)
    return save(fig, path)
