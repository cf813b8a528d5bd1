"""``coffea-anomaly inspect MODEL.onnx``: print a model's card."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..inference.card import read_card
from ..inference.describe import describe_model

__all__ = ["command"]


@click.command("inspect")
@click.argument("model", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the card as JSON instead.")
def command(model: Path, as_json: bool) -> None:
    """Print the model card stored in MODEL (an ONNX file)."""
    if as_json:
        click.echo(json.dumps(read_card(model).to_dict(), indent=2, sort_keys=True))
    else:
        click.echo(describe_model(model))
