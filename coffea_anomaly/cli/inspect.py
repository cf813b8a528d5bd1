"""``coffea-anomaly inspect MODEL``: print a model's card (checked against its graph)."""

from __future__ import annotations

import json

import click

from ..inference.describe import checked_card, describe_model

__all__ = ["command"]


@click.command("inspect")
@click.argument("model")
@click.option("--json", "as_json", is_flag=True, help="Print the card as JSON instead.")
def command(model: str, as_json: bool) -> None:
    """Print the model card stored in MODEL (an ONNX file, or a shipped model's name such
    as image_cnn_ae); a card that contradicts the ONNX graph is an error."""
    if as_json:
        click.echo(json.dumps(checked_card(model)[0].to_dict(), indent=2, sort_keys=True))
    else:
        click.echo(describe_model(model))
