"""``coffea-anomaly run CONFIG.yaml --out DIR``: a processor over a fileset."""

from __future__ import annotations

from pathlib import Path

import click

from ..runner import EXECUTORS, load_run_config, run_analysis

__all__ = ["command", "print_summary"]


def print_summary(summary: dict, out_dir: Path, written: list[str] | None = None) -> None:
    """A few lines a physicist reads: events, throughput, AUCs, where things went.

    Args:
        summary: the run's summary.
        out_dir: the output directory.
        written: names of the files the run wrote there (default: all the usual ones).
    """
    click.echo(
        f"{summary['processor']} processor, executor {summary['executor']} "
        f"({summary['workers']} worker(s)): {summary['events_read']} events in "
        f"{summary['wall_time_s']:.1f} s ({summary['events_per_s'] or 0:.0f} events/s, "
        f"{summary['items_scored_per_s'] or 0:.0f} scored/s)"
    )
    for ds, info in summary["datasets"].items():
        flow = " -> ".join(f"{k}: {v}" for k, v in info["cutflow"].items())
        click.echo(f"  {ds}: {info['events_in_files']} events in {info['files']} file(s); {flow}")
        for s in info["skipped_files"]:
            click.echo(f"    skipped {s['path']}: {s['reason']}")
        for where, why in info["failed_chunks"].items():
            click.echo(f"    failed chunk {where}: {why}")
        if info.get("files_with_unknown_events"):
            click.echo(f"    events unknown in {len(info['files_with_unknown_events'])} unreadable file(s): "
                       "not all events are accounted for")  # fmt: skip
    for model, m in (summary.get("metrics") or {}).items():
        for key, val in m.items():
            if key.startswith("auc_vs_"):
                for ds, auc in val.items():
                    click.echo(f"  {model}: AUC {ds} vs {key[7:]} = {auc:.3f}")
            if key.startswith("sculpting_"):
                txt = ", ".join(f"{k} {v:.3f}" for k, v in val.items())
                click.echo(f"  {model}: mass sculpting of {key[10:]} (JSD) {txt}")
    for note in summary.get("notes") or []:
        click.echo(f"  note: {note}")
    for warning in summary.get("warnings") or []:
        click.echo(f"  warning: {warning}")
    if summary.get("all_events_accounted") is False:
        click.echo("  warning: events read + skipped + failed != events in files (see summary.json)")
    names = written if written is not None else ["hists.root", "hists.json", "summary.json", "plots/"]
    click.echo(f"  outputs: {out_dir}/" + ", ".join(names))


@click.command("run")
@click.argument("config", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Output directory.")
@click.option("--executor", type=click.Choice(EXECUTORS), default=None,
              help="iterative, futures, dask (LocalCluster or --scheduler) or dask-awkward.")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Worker processes.")
@click.option("--scheduler", default=None, help="Address of an existing Dask scheduler.")
@click.option("--chunksize", type=click.IntRange(min=1), default=None, help="Events per chunk.")
@click.option("--max-chunks", type=click.IntRange(min=1), default=None, help="Chunks per dataset at most.")
@click.option("--skip-bad-files", is_flag=True, default=None, help="Skip unusable files (reported).")
@click.option("--save-preprocessed", type=click.Path(dir_okay=False), default=None,
              help="Write the checked fileset (entries, UUIDs, checks) to this JSON file.")
@click.option("--preprocessed", type=click.Path(dir_okay=False, exists=True), default=None,
              help="Reuse the checks of a fileset saved with --save-preprocessed (a rerun starts at once).")
@click.option("--no-plots", is_flag=True, help="Do not write PNG plots.")
@click.option("--quiet", is_flag=True, help="No progress bars (coffea's and dask-awkward's).")
def command(config: Path, out_dir: Path, executor: str | None, workers: int | None, scheduler: str | None,
            chunksize: int | None, max_chunks: int | None, skip_bad_files: bool | None,
            save_preprocessed: str | None, preprocessed: str | None, no_plots: bool, quiet: bool) -> None:
    """Run the processor of CONFIG.yaml over its fileset; write histograms, summary and plots."""
    cfg = load_run_config(config).with_overrides(
        executor=executor, workers=workers, scheduler=scheduler, chunksize=chunksize,
        max_chunks=max_chunks, skip_bad_files=skip_bad_files or None, plots=False if no_plots else None,
        save_preprocessed=save_preprocessed, preprocessed=preprocessed,
    )
    result = run_analysis(cfg, out_dir, progress=not quiet)
    written = [p.name for p in result.files.values()] + (["plots/"] if result.summary.get("plots") else [])
    print_summary(result.summary, out_dir, written)
