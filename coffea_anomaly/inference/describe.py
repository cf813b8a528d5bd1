"""Human-readable text of a model card, for ``coffea-anomaly inspect`` and reports."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from ..errors import ModelCardError
from .card import ModelCard, TensorSpec, check_card_against_graph, load_onnx, read_card

__all__ = ["checked_card", "describe_card", "describe_model"]


def _value(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, (dict, list)):
        return json.dumps(v, sort_keys=True)
    return str(v)


def _mapping(title: str, data: dict[str, Any]) -> list[str]:
    if not data:
        return [f"{title}: none"]
    width = max(len(k) for k in data)
    return [f"{title}:"] + [f"  {k:<{width}}  {_value(data[k])}" for k in sorted(data)]


def _tensor(t: TensorSpec, scores: tuple[str, ...]) -> str:
    line = f"  {t.name}  {t.shape_str()} {t.dtype}"
    if t.name in scores:
        line += "  [score]"
    if t.meaning:
        line += f"  {t.meaning}"
    return line


def _selection(card: ModelCard) -> str:
    sel = dict(card.selection)
    if not sel:
        return "selection: not recorded (processors use their defaults)"
    kind = sel.pop("kind")
    return f"selection ({kind}, trained with): " + ", ".join(f"{k}={_value(sel[k])}" for k in sorted(sel))


def describe_card(card: ModelCard) -> str:
    """The card as a few aligned lines a physicist can read."""
    rep = card.representation
    lines = [
        f"model: {card.name}  ({card.family}, {card.level}-level)",
        f"paper: {card.paper or '-'}",
        f"representation: {rep.kind}",
        *(f"  {k} = {_value(rep.config[k])}" for k in sorted(rep.config)),
        _selection(card),
        "inputs:",
        *(_tensor(t, ()) for t in card.inputs),
        "outputs:",
        *(_tensor(t, card.score_names) for t in card.outputs),
        *_mapping("training", card.training),
        *_mapping("metrics", card.metrics),
    ]
    if card.background_quantiles:
        lines.append("background quantiles (fraction of training background below the score):")
        for name in sorted(card.background_quantiles):
            table = card.background_quantiles[name]
            pairs = ", ".join(
                f"{q:g}: {_value(v)}" for q, v in zip(table["q"], table["value"])
            )
            lines.append(f"  {name}  {pairs}")
    else:
        lines.append("background quantiles: none")
    lines.append(
        f"written by coffea-anomaly {card.package_version}, card version {card.card_version}, "
        f"created {card.created or '-'}"
    )
    return "\n".join(lines)


def checked_card(source: str | Path) -> tuple[ModelCard, bytes, str]:
    """The card of a model file or shipped model name, checked against the ONNX graph.

    Returns:
        The card, the model's bytes, and the path it was read from.

    Raises:
        InputDataError: the file cannot be read and names no shipped model.
        ModelCardError: not an ONNX model, no valid card, or a card whose inputs/outputs
            contradict the graph.
    """
    from .onnx_model import model_bytes

    data, label = model_bytes(source)
    proto = load_onnx(data)
    card = read_card(proto, label=label)
    try:
        check_card_against_graph(card, proto)
    except ModelCardError as err:
        raise ModelCardError(f"{label}: {err}") from err
    return card, data, label


def describe_model(path: str | Path) -> str:
    """File facts (size, sha256) followed by :func:`describe_card` of the model at ``path``
    (a file, or the name of a shipped model such as ``image_cnn_ae``).

    Raises:
        InputDataError: the file cannot be read.
        ModelCardError: not an ONNX model, no valid card, or the card contradicts the graph.
    """
    card, data, label = checked_card(path)
    head = f"file: {label}  ({len(data) / 1024:.1f} KiB, sha256 {hashlib.sha256(data).hexdigest()})"
    return head + "\n" + describe_card(card)
