"""``coffea-anomaly generate``: make a Pythia 8 sample as NanoAOD-style ROOT files."""

from __future__ import annotations

import click

__all__ = ["command"]


@click.command("generate")
@click.argument("process")
@click.option("--events", "-n", "n_events", type=int, required=True, help="Accepted events to generate.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), required=True, help="Output folder.")
@click.option("--seed", type=int, default=1, show_default=True, help="Random seed of the sample.")
@click.option("--workers", "-j", type=int, default=1, show_default=True, help="Worker processes.")
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE",
              help="Override a recipe option, e.g. --set m_wprime=3000 --set filter.pt_min=500.")
@click.option("--reuse", is_flag=True, help="Keep an existing complete sample with the same settings.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def command(process: str, n_events: int, out_dir: str, seed: int, workers: int,
            settings: tuple[str, ...], reuse: bool, quiet: bool) -> None:
    """Generate PROCESS (qcd_jets, top_jets, qcd_dijet, wprime_xy, ...) into --out.

    Writes one ROOT file per block of events and, last, fileset.json (coffea format).
    """
    from ..errors import ConfigError
    from ..generation import ensure_sample, generate_sample, parse_overrides

    for option, value, minimum in (("--events", n_events, 1), ("--workers", workers, 1), ("--seed", seed, 0)):
        if value < minimum:
            raise ConfigError(f"{option} must be >= {minimum}, got {value}")
    overrides = parse_overrides(settings)
    make = ensure_sample if reuse else generate_sample
    result = make(process, n_events, out_dir, seed=seed, workers=workers,
                  overrides=overrides, progress=not quiet)
    meta = result.metadata
    if result.reused:
        click.echo(f"reused {result.n_events} {process} events in {result.fileset}")
        return
    click.echo(
        f"wrote {result.n_events} {process} events in {len(result.files)} file(s) to "
        f"{result.fileset.parent} ({result.events_per_s:.1f} events/s, "
        f"acceptance {meta.get('acceptance', 0.0):.3g}, xsec {meta.get('xsec_pb', 0.0):.4g} pb)"
    )
    click.echo(f"fileset: {result.fileset}")
