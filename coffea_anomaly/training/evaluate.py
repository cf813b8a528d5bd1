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

from ..errors import ModelCardError
from .metrics import roc_auc, roc_curve

__all__ = ["Evaluation", "evaluate_model", "plot_roc", "training_selection"]

@dataclass
class Evaluation:
    """Result of :func:`evaluate_model`.

    Attributes:
        auc: area under the ROC curve (signal vs background; larger score = signal).
        n_signal, n_background: items scored.
        signal_scores, background_scores: the scores.
        signal_weights, background_weights: per-item weights used (None: unweighted).
        roc_png: where the ROC plot was written (None: not written).
    """

    auc: float
    n_signal: int
    n_background: int
    signal_scores: np.ndarray
    background_scores: np.ndarray
    signal_weights: np.ndarray | None = None
    background_weights: np.ndarray | None = None
    roc_png: Path | None = None


def training_selection(
    model_path: str | Path, pt_min: float | None = None, pt_max: float | None = None
) -> Any:
    """The selection a model was trained with (from its card), optionally another pT window.

    Returns:
        a :class:`~coffea_anomaly.training.settings.SelectionConfig` (defaults when the card
        records none).
    """
    import dataclasses

    from ..config import config_from_dict
    from ..inference.card import read_card
    from .settings import SelectionConfig

    card = read_card(model_path)
    sel = config_from_dict(SelectionConfig, card.training.get("selection") or {})
    changes = {k: v for k, v in (("pt_min", pt_min), ("pt_max", pt_max)) if v is not None}
    return dataclasses.replace(sel, **changes) if changes else sel


def plot_roc(curves: dict[str, tuple[np.ndarray, np.ndarray]], path: str | Path) -> Path:
    """Plot ROC curves as background rejection 1/eps_B against signal efficiency eps_S.

    Args:
        curves: legend label -> (fpr, tpr).
        path: PNG to write.
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
    ax.legend()
    label(ax)
    return save(fig, path)


def evaluate_model(
    model_path: str | Path,
    signal: Any,
    background: Any,
    out: str | Path | None = None,
    progress: bool | None = None,
) -> Evaluation:
    """Score a signal and a background sample with an exported model; AUC and ROC plot.

    The input representation and its config come from the model's card; the samples are
    read and selected exactly as in training (:func:`coffea_anomaly.training.data.load_inputs`).

    Args:
        model_path: the ``.onnx`` file (with its model card).
        signal: a :class:`~coffea_anomaly.training.settings.SampleSpec` for the signal.
        background: a :class:`~coffea_anomaly.training.settings.SampleSpec` for the background.
        out: folder for ``roc.png`` (None: no plot).
        progress: show progress bars (default: when stderr is a terminal).

    Raises:
        ModelCardError: the model has no valid card, or its input does not match the data.
    """
    from ..inference.onnx_model import OnnxModel
    from .data import load_inputs
    from .settings import RepresentationChoice

    model = OnnxModel(model_path)
    card = model.card
    if len(card.score_names) != 1:
        raise ModelCardError(f"model '{card.name}' returns {len(card.score_names)} scores; "
                             "evaluate handles single-score models")  # fmt: skip
    rep = RepresentationChoice(card.representation.kind, dict(card.representation.config))
    scores: dict[str, tuple[np.ndarray, np.ndarray | None]] = {}
    for what, spec in (("signal", signal), ("background", background)):
        data = load_inputs(spec, rep, card.level, progress=progress)
        scores[what] = (model.score_numpy(data.x)[card.score_names[0]], data.weights)
    (s, ws), (b, wb) = scores["signal"], scores["background"]
    auc = roc_auc(s, b, ws, wb)
    roc_png = None
    if out is not None:
        fpr, tpr, _ = roc_curve(s, b, ws, wb)
        name = f"{card.name} (AUC {auc:.3f})"
        roc_png = plot_roc({name: (fpr, tpr)}, Path(out) / "roc.png")
    return Evaluation(auc, len(s), len(b), s, b, ws, wb, roc_png)
