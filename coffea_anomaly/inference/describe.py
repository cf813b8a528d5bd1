"""Human-readable text of a model card, for ``coffea-anomaly inspect`` and reports."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from .card import ModelCard, TensorSpec, read_card

__all__ = ["describe_card", "describe_model"]


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


def describe_model(path: str | Path) -> str:
    """File facts (size, sha256) followed by :func:`describe_card` of the model at ``path``.

    Raises:
        InputDataError: the file cannot be read.
        ModelCardError: not an ONNX model, or no valid card.
    """
    card = read_card(path)
    data = Path(path).read_bytes()
    head = f"file: {path}  ({len(data) / 1024:.1f} KiB, sha256 {hashlib.sha256(data).hexdigest()})"
    return head + "\n" + describe_card(card)
