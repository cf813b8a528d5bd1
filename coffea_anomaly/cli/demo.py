"""``coffea-anomaly demo``: the whole chain on the embedded default sample."""

from __future__ import annotations

from pathlib import Path

import click

__all__ = ["command"]


@click.command("demo")
@click.option("--out", "out_dir", default="results/demo", show_default=True,
              type=click.Path(file_okay=False, path_type=Path), help="Where results go.")
@click.option("--data", "data_dir", default="data/demo", show_default=True,
              type=click.Path(file_okay=False, path_type=Path), help="Sample cache.")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(min=1),
              help="Worker processes (generation and Dask).")
@click.option("--quiet", is_flag=True, help="No progress bars.")
def command(out_dir: Path, data_dir: Path, workers: int, quiet: bool) -> None:
    """Generate small samples, run both processors on a LocalCluster, bump-hunt, report."""
    from ..demo import run_demo

    run_demo(out_dir, data_dir, workers=workers, progress=not quiet, echo=click.echo)
