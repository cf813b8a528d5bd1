"""``coffea-anomaly evaluate MODEL.onnx [MODEL2.onnx ...] --signal S --background B``: ROC, AUC,
the papers' figures of merit and the background mass sculpting of one or several models."""

from __future__ import annotations

import dataclasses

import click

__all__ = ["command"]


@click.command("evaluate")
@click.argument("models", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--signal", required=True, help="Signal sample: fileset.json, its folder or a ROOT file.")
@click.option("--background", required=True, help="Background sample (same forms).")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Folder for roc.png, sculpting.png and evaluation.json (AUCs, figures of merit, item counts, "
                   "model, samples).")  # fmt: skip
@click.option("--signal-name", default=None, help="Signal name for the plot and JSON (default: from its path).")
@click.option("--background-name", default=None, help="Background name (default: from its path).")
@click.option("--pt-min", type=float, default=None,
              help="Fat-jet pT minimum; for dijet models of both jets (default: the card's training selection).")  # fmt: skip
@click.option("--pt-max", type=float, default=None, help="Fat-jet pT maximum, jet-level models (default: the card's).")
@click.option("--signal-truth-match/--no-signal-truth-match", default=False,
              help="Keep only truth-matched signal fat jets (FatJet_truthMatch == 1).")  # fmt: skip
@click.option("--max-items", type=int, default=0, help="At most this many jets/events per sample (0 = all).")
@click.option("--weighted", is_flag=True, help="Weight items by genWeight.")
@click.option("--through-score", is_flag=True,
              help="Score with coffea_anomaly.score on the selected NanoEvents jets (as a processor does).")  # fmt: skip
@click.option("--quak", "quak_spaces", multiple=True, metavar="BKG[,SIG1,...]",
              help="QUAK space of a bundle's losses (repeatable): the background loss (kept high), then "
                   "signal priors' losses (kept low); adds its envelope ROC (quak_roc.png), e.g. "
                   "--quak background --quak background,wprime_2prong.")  # fmt: skip
@click.option("--seeds", is_flag=True,
              help="The MODELS are runs of one model with different seeds: print the mean and spread of every "
                   "figure of merit (and write seeds.json with --out).")  # fmt: skip
@click.option("--progress/--quiet", default=None,
              help="Force progress bars on stderr, or none (default: when stderr is a terminal).")  # fmt: skip
def command(
    models: tuple[str, ...],
    signal: str,
    background: str,
    out: str | None,
    signal_name: str | None,
    background_name: str | None,
    pt_min: float | None,
    pt_max: float | None,
    signal_truth_match: bool,
    max_items: int,
    weighted: bool,
    through_score: bool,
    quak_spaces: tuple[str, ...],
    seeds: bool,
    progress: bool | None,
) -> None:
    """Score a signal and a background sample with each MODEL, print the AUC and the figures
    of merit; with --out, write one ROC plot with every model (naming both samples), the
    background mass sculpting and evaluation.json.

    Jets (or events) are selected as in the (first) model's training (its card's selection),
    optionally with another pT window; truth matching applies to the signal only.
    """
    from ..training.evaluate import evaluate_model, evaluate_models

    if quak_spaces:
        _check_quak(models, quak_spaces)
    if seeds and len(models) < 2:
        from ..errors import ConfigError

        raise ConfigError("--seeds needs at least two runs of the model (one ONNX file per seed)")
    # several models: all on the samples selected as the first model was trained
    sig, bkg = _samples(models[0], signal, background, pt_min, pt_max, signal_truth_match, max_items, weighted)
    if through_score and len(models) > 1:
        from ..errors import ConfigError

        raise ConfigError("--through-score takes one model at a time")
    if len(models) == 1:
        results = [evaluate_model(models[0], sig, bkg, out_dir=out, progress=progress, signal_name=signal_name,
                                  background_name=background_name, through_score=through_score)]  # fmt: skip
    else:
        results = evaluate_models(list(models), sig, bkg, out, progress, signal_name=signal_name,
                                  background_name=background_name)  # fmt: skip
    for result in results:
        if len(results) > 1:
            click.echo(f"model {result.model_name}:")
        _echo(result)
    if seeds:
        _seeds(results, models, out)
    if quak_spaces:
        _quak(results[0], quak_spaces, out)
    if results[0].roc_png is not None:
        click.echo(f"ROC curve: {results[0].roc_png}")
    if results[0].json_path is not None:
        click.echo(f"metrics: {results[0].json_path}")


def _seeds(results: list, models: tuple[str, ...], out: str | None) -> None:
    """Mean ± spread of the figures of merit over the runs; with ``out`` also seeds.json."""
    from ..training.evaluate import seed_spread

    spread = seed_spread(results)
    for name, merits in spread.items():
        click.echo(f"over {len(results)} seeds ({name}): " + ", ".join(
            f"{k} = {v['mean']:.4g} ± {v['std']:.2g}" for k, v in merits.items()))  # fmt: skip
    if out is not None:
        from pathlib import Path

        from ..fileio import write_json

        path = write_json(Path(out) / "seeds.json", {
            "runs": [{"name": r.model_name, "path": m} for r, m in zip(results, models, strict=True)],
            "spread": spread, "std": "sample standard deviation (ddof = 1) over the runs",
        })  # fmt: skip
        click.echo(f"seed spread: {path}")


def _check_quak(models: tuple[str, ...], spaces: tuple[str, ...]) -> None:
    """Refuse --quak before any sample is read: one model, and losses its card names."""
    from ..errors import ConfigError
    from ..inference.card import read_card

    if len(models) > 1:
        raise ConfigError("--quak takes one (bundle) model")
    known = read_card(models[0]).score_names
    for space in spaces:
        missing = [n.strip() for n in space.split(",") if n.strip() not in known]
        if missing:
            raise ConfigError(f"--quak {space}: {', '.join(missing)} is not a loss of {models[0]}; "
                              f"known: {', '.join(known)}")  # fmt: skip


def _quak(result: object, spaces: tuple[str, ...], out: str | None) -> None:
    """Envelope ROCs of QUAK spaces of one model's losses; with ``out`` a plot and a JSON."""
    from pathlib import Path

    from ..training.evaluate import plot_roc
    from ..training.quak_roc import quak_roc

    rocs = [quak_roc(result.signal_scores, result.background_scores, [n.strip() for n in space.split(",")],
                     signal_weights=result.signal_weights, background_weights=result.background_weights)
            for space in spaces]  # fmt: skip
    records = []
    for r in rocs:
        rej = r.rejection_at(0.2)
        click.echo(f"QUAK {len(r.space)}-D ({', '.join(r.space)}): AUC = {r.auc:.4f}, 1/eps_B(eps_S=0.2) = {rej:.4g}")
        records.append({"space": list(r.space), "auc": r.auc, "rejection_at_eps_s_0.2": rej})
    if out is not None:
        from ..fileio import write_json

        curves = {f"{len(r.space)}-D: {' + '.join(['', *r.space[1:]]).strip() or r.space[0]} (AUC {r.auc:.3f})": (r.fpr, r.tpr)
                  for r in rocs}  # fmt: skip
        png = plot_roc(curves, Path(out) / "quak_roc.png", signal_name=result.signal_name,
                       background_name=result.background_name)  # fmt: skip
        write_json(Path(out) / "quak_roc.json", {"model": result.model_name, "signal": result.signal_name,
                                                  "background": result.background_name, "spaces": records})  # fmt: skip
        click.echo(f"QUAK ROC: {png}")


def _samples(model: str, signal: str, background: str, pt_min: float | None, pt_max: float | None,
             signal_truth_match: bool, max_items: int, weighted: bool) -> tuple[object, object]:  # fmt: skip
    """The signal and background samples, selected as in the model's training."""
    from ..training.evaluate import training_selection
    from ..training.settings import SampleSpec

    window = {"pt_min": pt_min, "pt_max": pt_max}
    sel = training_selection(model)
    if sel.kind == "dijet":  # the window applies to both jets of the pair
        if pt_max is not None:
            from ..errors import ConfigError

            raise ConfigError("--pt-max applies to jet-level models; this model scores dijet events")
        window = {"jet_pt_min": pt_min}
    sel = training_selection(model, **window)
    sig_sel = dataclasses.replace(sel, truth_match=signal_truth_match)
    bkg_sel = dataclasses.replace(sel, truth_match=False)
    return (SampleSpec(signal, sig_sel, max_items, "signal", weighted),
            SampleSpec(background, bkg_sel, max_items, "background", weighted))  # fmt: skip


def _echo(result: object) -> None:
    from ..metrics import auc_text

    click.echo(f"signal {result.signal_name}: {result.n_signal} items, "
               f"background {result.background_name}: {result.n_background} items")
    for name, auc in result.aucs.items():
        click.echo(f"AUC = {auc_text(auc, 4)}" if len(result.aucs) == 1 else f"AUC ({name}) = {auc_text(auc, 4)}")
        m = (result.merits or {}).get(name)
        if m:
            line = (f"  1/eps_B(eps_S=0.2) = {m['rejection_at_eps_s_0.2']:.4g}, E10 = {m['e10']:.3f}, "
                    f"E100 = {m['e100']:.3f}, max SIC = {m['max_sic']['value']:.3g} "
                    f"(eps_B >= {m['max_sic']['eps_b_floor']:g})")  # fmt: skip
            if "jsd_top_0.05" in m:
                line += f", mass JSD top 5% = {m['jsd_top_0.05']:.4f}, top 1% = {m['jsd_top_0.01']:.4f}"
            click.echo(line)
