"""``coffea-anomaly bumphunt INPUT --out DIR``: fit m_jj, scan for a resonance, significances.

INPUT is a ROOT file with a single TH1 of m_jj (no other option needed), or the output of
``coffea-anomaly run`` (its folder, ``hists.root`` or ``hists.json``): choose the histogram
with ``--hist``, the dataset with ``--dataset``, a selection with ``--score-cut`` and
categories with ``--categories``; ``--qr-keep`` makes the selection and the categories
mass-decorrelated (thresholds fitted vs m_jj by quantile regression). Writes
``bumphunt.json`` and PNG plots into DIR.
"""

from __future__ import annotations

import dataclasses
import sys
from typing import Any

import click

from ..errors import ConfigError

__all__ = ["command"]


def _sizes(text: str | None) -> tuple[int, ...] | None:
    if text is None:
        return None
    try:
        return tuple(int(v) for v in text.replace(" ", "").split(",") if v)
    except ValueError as err:
        raise ConfigError(f"--params expects comma-separated integers, got {text!r}") from err


def _categories(text: str | None) -> tuple[int, ...] | None:
    if text is None:
        return None
    if text.lower() in ("none", "1", ""):
        return ()
    try:
        return tuple(int(v) for v in text.lower().split("x"))
    except ValueError as err:
        raise ConfigError(f"--categories expects N or N1xN2 (e.g. 3x3), got {text!r}") from err


def _template(spec: str, mass: float | None) -> Any:
    import numpy as np

    from ..stats.config import SignalTemplateConfig
    from ..stats.io import read_template

    path, _, name = spec.partition(":")
    edges, counts = read_template(path, name or None)
    if mass is None:
        cum = np.cumsum(counts) / counts.sum()
        mass = float(np.interp(0.5, cum, edges[1:]))
    return SignalTemplateConfig(tuple(map(float, edges)), tuple(map(float, counts)), float(mass))


@click.command("bumphunt")
@click.argument("input_path", metavar="INPUT", type=click.Path(path_type=str))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Output folder.")
@click.option("--hist", "hist_name", default=None, help="Histogram name (e.g. mjj_score_<model>).")
@click.option("--dataset", multiple=True, help="Dataset to use (repeat to sum several; 'all' sums all).")
@click.option("--score-cut", "score_cuts", multiple=True, help="Selection such as 'score>0.01' (repeatable).")
@click.option("--categories", default=None, help="Uniformly populated categories: N or N1xN2 (QUAK: 3x3).")
@click.option("--qr-keep", "qr_keep", multiple=True,
              help="Mass-decorrelated selection (VAE-QR): keep this share at every m_jj, e.g. '0.05' (highest "
                   "5% of the first score) or 'score2:low:0.5' (repeatable, one per score axis).")
@click.option("--qr-categories", is_flag=True,
              help="Categories equally populated at every m_jj (quantile regression) even without --qr-keep.")
@click.option("--qr-degree", type=int, default=None,
              help="Polynomial degree of the QR thresholds vs m_jj [automatic, up to 5].")
@click.option("--config", "config_path", default=None, type=click.Path(dir_okay=False),
              help="YAML file with BumpHuntConfig fields (options given here override it).")
@click.option("--background", type=click.Choice(["dijet", "bernstein"]), default=None, help="Background family.")
@click.option("--params", default=None, help="Candidate sizes: dijet parameters (3,4,5) or Bernstein orders.")
@click.option("--selection", type=click.Choice(["ftest", "lrt", "fixed"]), default=None,
              help="How to choose the number of background parameters.")
@click.option("--sqrt-s", type=float, default=None, help="Centre-of-mass energy in GeV [13000].")
@click.option("--mjj-range", nargs=2, type=float, default=None, help="Fit range LO HI in GeV.")
@click.option("--mass-range", nargs=2, type=float, default=None, help="Scanned masses LO HI in GeV.")
@click.option("--n-masses", type=int, default=None, help="Number of scanned masses [50].")
@click.option("--signal-width", type=float, default=None, help="Gaussian sigma/mass [0.03].")
@click.option("--signal-template", default=None, help="Signal template FILE[:HIST] (1-D m_jj histogram).")
@click.option("--template-mass", type=float, default=None, help="Mass of the template (default: its median).")
@click.option("--toys", "n_toys", type=int, default=None, help="Background-only pseudo-experiments [1000].")
@click.option("--seed", type=int, default=None, help="Seed of the pseudo-experiments [1].")
@click.option("--threads", type=int, default=None, help="Threads for the fits [all cores].")
@click.option("--headline", type=click.Choice(["joint", "fisher"]), default=None,
              help="Combination quoted first [joint].")
@click.option("--no-bumphunter", is_flag=True, help="Skip the BumpHunter cross-check.")
@click.option("--no-plots", is_flag=True, help="Write bumphunt.json only.")
@click.option("--quiet", is_flag=True, help="No progress bar, no summary.")
def command(input_path: str, out_dir: str, hist_name: str | None, dataset: tuple[str, ...],
            score_cuts: tuple[str, ...], categories: str | None, qr_keep: tuple[str, ...],
            qr_categories: bool, qr_degree: int | None, config_path: str | None,
            background: str | None, params: str | None, selection: str | None, sqrt_s: float | None,
            mjj_range: tuple[float, float] | None, mass_range: tuple[float, float] | None,
            n_masses: int | None, signal_width: float | None, signal_template: str | None,
            template_mass: float | None, n_toys: int | None, seed: int | None, threads: int | None,
            headline: str | None, no_bumphunter: bool, no_plots: bool, quiet: bool) -> None:
    """Fit m_jj, scan for a resonance and compute local and global significances."""
    from ..config import config_from_dict, load_yaml
    from ..stats.config import BumpHuntConfig
    from ..stats.io import read_input
    from ..stats.pipeline import run_bumphunt
    from ..stats.report import write_report

    config = config_from_dict(BumpHuntConfig, load_yaml(config_path)) if config_path else BumpHuntConfig()
    family = background or config.background
    sizes = _sizes(params)
    changes: dict[str, Any] = {
        "background": background,
        "dijet_params" if family == "dijet" else "bernstein_orders": sizes,
        "selection": selection,
        "sqrt_s": sqrt_s,
        "mjj_range": tuple(mjj_range) if mjj_range else None,
        "mass_range": tuple(mass_range) if mass_range else None,
        "n_masses": n_masses,
        "signal_width": signal_width,
        "categories": _categories(categories),
        "score_cuts": tuple(score_cuts) or None,
        "qr_keep": tuple(qr_keep) or None,
        "qr_categories": True if qr_categories else None,
        "qr_degree": qr_degree,
        "n_toys": n_toys,
        "seed": seed,
        "threads": threads,
        "headline": headline,
        "bumphunter": False if no_bumphunter else None,
        "signal_template": _template(signal_template, template_mass) if signal_template else None,
    }
    try:
        config = dataclasses.replace(config, **{k: v for k, v in changes.items() if v is not None})
    except (TypeError, ValueError) as err:
        raise ConfigError(str(err)) from err
    hist = read_input(input_path, hist_name, list(dataset) or None)
    result = run_bumphunt(hist, config, progress=not quiet)
    paths = write_report(result, out_dir, plots=not no_plots)
    if not quiet:
        g = result.headline
        s, ds = result.signal_yield
        lines = [
            f"best mass        {result.best_mass:.0f} GeV  (signal yield {s:.1f} ± {ds:.1f})",
            f"local  ({config.headline:6s}) {g.local_z:.2f} sigma",
            f"global ({g.method}) {g.global_z:.2f} sigma"
            + (f"  [pseudo-experiments: > {g.toys_z:.2f}]" if g.toys_z_is_limit else ""),
            f"fisher local {result.fisher.local_z:.2f}, global {result.fisher.global_z:.2f} sigma; "
            f"joint local {result.joint.local_z:.2f}, global {result.joint.global_z:.2f} sigma",
            f"wrote {paths['json']}",
        ]
        for w in result.warnings:
            lines.append(f"warning: {w}")
        click.echo("\n".join(lines), file=sys.stdout)
