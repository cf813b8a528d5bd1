"""``coffea-anomaly characterise MODEL.onnx --data FILESET --out DIR``: latent characterisation of a VAE."""

from __future__ import annotations

import click

__all__ = ["command"]


@click.command("characterise")
@click.argument("model", type=click.Path(exists=True, dir_okay=False))
@click.option("--data", required=True, help="Events to characterise: fileset.json, its folder or a ROOT file.")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Output folder.")
@click.option("--max-events", type=int, default=0, help="At most this many selected events (0 = all).")
@click.option("--epochs", type=int, default=40, help="Maximum epochs of each decoder.")
@click.option("--grid", type=int, default=60, help="Points per axis of the (z, m_jj) scan.")
@click.option("--subsets", type=int, default=5, help="Background-only subsets for the bands (0 = none).")
@click.option("--seed", type=int, default=1, help="Seed of the decoders, the smearing and the subsets.")
@click.option("--progress/--quiet", default=None,
              help="Force progress bars on stderr, or none (default: when stderr is a terminal).")  # fmt: skip
def command(model: str, data: str, out: str, max_events: int, epochs: int, grid: int, subsets: int,
            seed: int, progress: bool | None) -> None:  # fmt: skip
    """Freeze MODEL's encoder, train decoders conditioned on m_jj, and draw what the latent
    space encodes over (m_jj, z): heat maps, marginal ratios with background-only bands,
    and the arrays (npz + JSON). Events are selected as in the model's training."""
    from ..training.characterise import CharacteriseConfig, characterise
    from ..training.evaluate import training_selection
    from ..training.settings import SampleSpec

    cfg = CharacteriseConfig(epochs=epochs, grid=grid, subsets=subsets, seed=seed)
    spec = SampleSpec(data, training_selection(model), max_events, "data")
    result = characterise(model, spec, out, cfg, progress=progress)
    a = result.arrays
    n_sig = int((a["event_label"] == 1).sum())
    click.echo(f"characterised {len(a['event_label'])} events ({n_sig} labelled signal) on a "
               f"{len(a['mjj'])} x {len(a['z'])} (m_jj, z) grid")  # fmt: skip
    for name, path in result.files.items():
        click.echo(f"  {name}: {path}")
