"""Score labelled samples with an exported model and measure how well it separates them.

Torch-free: the model runs in onnxruntime through
:class:`~coffea_anomaly.inference.onnx_model.OnnxModel` (which checks the input against the
card), its input is built from its own card (representation kind and config) by the
training data reader, and the ROC/AUC is computed in numpy. This is what
``coffea-anomaly evaluate`` calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..plotting.style import styled
from .metrics import roc_auc, roc_curve

__all__ = ["Evaluation", "evaluate_model", "plot_roc", "sample_name", "training_selection"]


@dataclass
class Evaluation:
    """Result of :func:`evaluate_model`.

    Attributes:
        aucs: score name -> area under the ROC curve (signal vs background; larger score
            = signal), for every score the model returns, in the card's order.
        n_signal, n_background: items scored.
        signal_scores, background_scores: score name -> the scores.
        signal_weights, background_weights: per-item weights used (None: unweighted).
        roc_png: where the ROC plot was written (None: not written).
        json_path: where ``evaluation.json`` was written (None: not written).
        signal_name, background_name: the samples' names (plot legend, JSON).
    """

    aucs: dict[str, float]
    n_signal: int
    n_background: int
    signal_scores: dict[str, np.ndarray]
    background_scores: dict[str, np.ndarray]
    signal_weights: np.ndarray | None = None
    background_weights: np.ndarray | None = None
    roc_png: Path | None = None
    json_path: Path | None = None
    signal_name: str = "signal"
    background_name: str = "background"

    @property
    def auc(self) -> float:
        """The AUC of the model's first (default) score."""
        return next(iter(self.aucs.values()))


def training_selection(model_path: str | Path, **changes: Any) -> Any:
    """The selection a model was trained with (from its card), with some options changed.

    Args:
        model_path: the ``.onnx`` file.
        **changes: selection options to replace (None values are ignored), e.g.
            ``pt_min=500``.

    Returns:
        a :class:`~coffea_anomaly.selection.JetSelection` or
        :class:`~coffea_anomaly.selection.DijetSelection` (the level's defaults when the
        card records none).
    """
    import dataclasses

    from ..inference.card import read_card
    from .settings import resolve_selection

    card = read_card(model_path)
    sel = card.trained_selection or resolve_selection({}, card.level)
    changes = {k: v for k, v in changes.items() if v is not None}
    try:
        return dataclasses.replace(sel, **changes) if changes else sel
    except TypeError as err:
        from ..errors import ConfigError

        raise ConfigError(f"the {sel.kind} selection of {card.name!r} has no option: {err}") from err


def sample_name(spec: Any) -> str:
    """A short name for a sample: its ``label`` unless generic, else from its path
    (``.../top_jets/fileset.json`` and ``.../top_jets/`` give ``top_jets``, ``a.root`` gives ``a``)."""
    if getattr(spec, "label", "") and spec.label not in ("signal", "background"):
        return str(spec.label)
    p = Path(str(getattr(spec, "path", spec)))
    if p.name == "fileset.json":
        p = p.parent
    return (p.stem if p.suffix == ".root" else p.name) or str(p)


def _sample_facts(spec: Any, name: str, n: int) -> dict[str, Any]:
    from ..selection import selection_to_dict

    sel = spec.selection
    return {"name": name, "path": str(spec.path), "items": n, "max_items": spec.max_items,
            "weighted": spec.weighted,
            "selection": selection_to_dict(sel) if hasattr(sel, "kind") else dict(sel or {})}


@styled
def plot_roc(curves: dict[str, tuple[np.ndarray, np.ndarray]], path: str | Path, *,
             signal_name: str | None = None, background_name: str | None = None) -> Path:
    """Plot ROC curves as background rejection 1/eps_B against signal efficiency eps_S.

    Args:
        curves: legend label -> (fpr, tpr).
        path: PNG to write.
        signal_name, background_name: the samples' names, shown as the legend title
            ("signal: S, background: B").
    """
    from ..plotting.style import label, new_figure, save

    fig, ax = new_figure()
    for name, (fpr, tpr) in curves.items():
        keep = fpr > 0
        ax.plot(tpr[keep], 1.0 / fpr[keep], label=name)
    ax.plot(np.linspace(0.01, 1, 100), 1.0 / np.linspace(0.01, 1, 100), ls=":", color="grey",
            label="random")  # fmt: skip
    ax.set_yscale("log")
    ax.set_xlim(0, 1)
    ax.set_xlabel(r"signal efficiency $\epsilon_S$")
    ax.set_ylabel(r"background rejection $1/\epsilon_B$")
    names = [f"{what}: {n}" for what, n in (("signal", signal_name), ("background", background_name)) if n]
    ax.legend(title="\n".join(names) or None, fontsize="small", title_fontsize="small", loc="upper right")
    label(ax)
    return save(fig, path)


def evaluate_model(
    model_path: str | Path,
    signal: Any,
    background: Any,
    out_dir: str | Path | None = None,
    progress: bool | None = None,
    *,
    signal_name: str | None = None,
    background_name: str | None = None,
) -> Evaluation:
    """Score a signal and a background sample with an exported model; AUCs and ROC plot.

    Every score the model returns is evaluated (one AUC and one ROC curve each).

    The input representation and its config come from the model's card; the samples are
    read and selected exactly as in training (:func:`coffea_anomaly.training.data.load_inputs`).

    Args:
        model_path: the ``.onnx`` file (with its model card).
        signal: a :class:`~coffea_anomaly.training.settings.SampleSpec` for the signal.
        background: a :class:`~coffea_anomaly.training.settings.SampleSpec` for the background.
        out_dir: folder for ``roc.png`` and ``evaluation.json`` (None: neither is written).
            ``evaluation.json`` holds the AUC per score, ``n_signal``, ``n_background``, the
            model (name, path, sha256) and both samples (name, path, selection).
        progress: show progress bars (default: when stderr is a terminal).
        signal_name, background_name: names for the plot and the JSON (default:
            :func:`sample_name` of each sample).

    Raises:
        ModelCardError: the model has no valid card, or its input does not match the data.
        InputDataError: unreadable samples, or nothing selected.
    """
    from ..inference.onnx_model import OnnxModel
    from .data import load_inputs
    from .settings import RepresentationChoice

    model = OnnxModel(model_path)
    card = model.card
    rep = RepresentationChoice(card.representation.kind, dict(card.representation.config))
    scores: dict[str, tuple[dict[str, np.ndarray], np.ndarray | None]] = {}
    for what, spec in (("signal", signal), ("background", background)):
        data = load_inputs(spec, rep, card.level, progress=progress)
        out = model.score_numpy(data.x)
        scores[what] = ({n: np.asarray(out[n]) for n in card.score_names}, data.weights)
    (s, ws), (b, wb) = scores["signal"], scores["background"]
    aucs = {n: roc_auc(s[n], b[n], ws, wb) for n in card.score_names}
    sig_name = signal_name or sample_name(signal)
    bkg_name = background_name or sample_name(background)
    n_sig, n_bkg = len(next(iter(s.values()))), len(next(iter(b.values())))
    roc_png = json_path = None
    if out_dir is not None:
        curves = {}
        for n in card.score_names:
            fpr, tpr, _ = roc_curve(s[n], b[n], ws, wb)
            label = card.name if len(card.score_names) == 1 else f"{card.name} {n}"
            curves[f"{label} (AUC {aucs[n]:.3f})"] = (fpr, tpr)
        roc_png = plot_roc(curves, Path(out_dir) / "roc.png", signal_name=sig_name, background_name=bkg_name)
        from ..fileio import write_json

        json_path = write_json(Path(out_dir) / "evaluation.json", {
            "model": {"name": card.name, "path": str(model_path), "sha256": model.sha256},
            "aucs": aucs,
            "n_signal": n_sig,
            "n_background": n_bkg,
            "samples": {"signal": _sample_facts(signal, sig_name, n_sig),
                        "background": _sample_facts(background, bkg_name, n_bkg)},
            "roc_png": roc_png.name,
        })
    return Evaluation(aucs, n_sig, n_bkg, s, b, ws, wb, roc_png, json_path, sig_name, bkg_name)
