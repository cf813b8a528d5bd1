"""``coffea-anomaly evaluate MODEL.onnx --signal S --background B``: ROC and AUC of a model."""

from __future__ import annotations

import dataclasses

import click

__all__ = ["command"]


@click.command("evaluate")
@click.argument("model", type=click.Path(exists=True, dir_okay=False))
@click.option("--signal", required=True, help="Signal sample: fileset.json, its folder or a ROOT file.")
@click.option("--background", required=True, help="Background sample (same forms).")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Folder for roc.png and evaluation.json (AUCs, item counts, model, samples).")  # fmt: skip
@click.option("--signal-name", default=None, help="Signal name for the plot and JSON (default: from its path).")
@click.option("--background-name", default=None, help="Background name (default: from its path).")
@click.option("--pt-min", type=float, default=None,
              help="Fat-jet pT minimum; for dijet models of both jets (default: the card's training selection).")  # fmt: skip
@click.option("--pt-max", type=float, default=None, help="Fat-jet pT maximum, jet-level models (default: the card's).")
@click.option("--signal-truth-match/--no-signal-truth-match", default=False,
              help="Keep only truth-matched signal fat jets (FatJet_truthMatch == 1).")  # fmt: skip
@click.option("--max-items", type=int, default=0, help="At most this many jets/events per sample (0 = all).")
@click.option("--weighted", is_flag=True, help="Weight items by genWeight.")
@click.option("--progress/--quiet", default=None,
              help="Force progress bars on stderr, or none (default: when stderr is a terminal).")  # fmt: skip
def command(
    model: str,
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
    progress: bool | None,
) -> None:
    """Score a signal and a background sample with MODEL, print the AUC; with --out, write a
    ROC plot (naming both samples) and evaluation.json.

    Jets (or events) are selected as in the model's training (its card's selection),
    optionally with another pT window; truth matching applies to the signal only.
    """
    from ..training.evaluate import evaluate_model, training_selection
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
    result = evaluate_model(
        model,
        SampleSpec(signal, sig_sel, max_items, "signal", weighted),
        SampleSpec(background, bkg_sel, max_items, "background", weighted),
        out_dir=out,
        progress=progress,
        signal_name=signal_name,
        background_name=background_name,
    )
    click.echo(f"signal {result.signal_name}: {result.n_signal} items, "
               f"background {result.background_name}: {result.n_background} items")
    for name, auc in result.aucs.items():
        click.echo(f"AUC = {auc:.4f}" if len(result.aucs) == 1 else f"AUC ({name}) = {auc:.4f}")
    if result.roc_png is not None:
        click.echo(f"ROC curve: {result.roc_png}")
    if result.json_path is not None:
        click.echo(f"metrics: {result.json_path}")
