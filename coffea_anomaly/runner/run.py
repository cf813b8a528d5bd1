"""``run_analysis``: check files, run the processor, write histograms, summary and plots."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._version import __version__
from ..errors import ConfigError, InputDataError, ModelCardError
from ..fileio import write_json
from ..selection import selection_to_dict
from .config import RunConfig, load_fileset
from .execute import dask_client, execute, preflight
from .files import configure_remote_timeouts, load_checks, run_checks, save_checks, usable_fileset
from .outputs import write_hists
from .report import background_dataset, jet_metrics, plot_dijet, plot_jet

__all__ = ["RunResult", "build_processor", "run_analysis"]


@dataclass
class RunResult:
    """What a run produced: the merged output, its summary, and where files went."""

    output: dict[str, Any]
    summary: dict[str, Any]
    out_dir: Path
    files: dict[str, Path] = field(default_factory=dict)

    @property
    def hists(self) -> dict[str, Any]:
        return self.output.get("hists", {})


def build_processor(cfg: RunConfig) -> Any:
    """The configured processor instance (its models are loaded, their cards checked)."""
    from ..processors import DijetAnomalyProcessor, JetAnomalyProcessor

    models = cfg.models
    if isinstance(models, str):
        models = [models]
    # the selection the models were trained with (their cards), with the config's options
    if cfg.processor == "jet":
        proc = JetAnomalyProcessor(models, cfg.selection, cfg.model_options)
        want = "jet"
    else:
        proc = DijetAnomalyProcessor(models, cfg.selection, tuple(cfg.mjj_range), cfg.model_options)
        want = "event"
    for name, model in proc.models.items():
        check_representation(name, model.card)
        if model.card.level != want:
            raise ConfigError(
                f"model {name!r} is {model.card.level}-level but the {cfg.processor} processor needs "
                f"{want}-level models"
            )
    return proc


def check_representation(name: str, card: Any) -> None:
    """The card's representation kind is registered and its config is valid for it.

    Raises:
        ModelCardError: naming the model and what is wrong.
    """
    from ..config import config_from_dict
    from ..representations.registry import config_class

    rep = card.representation
    try:
        config_from_dict(config_class(rep.kind), dict(rep.config))
    except ConfigError as err:
        raise ModelCardError(f"model {name!r}: its card's representation cannot be built: {err}") from err


def run_analysis(
    cfg: RunConfig, out_dir: str | Path, *, progress: bool = False, client: Any = None
) -> RunResult:
    """Run ``cfg`` and write ``hists.root``, ``hists.json``, ``summary.json`` and plots to ``out_dir``.

    The files are checked where they are read (:mod:`coffea_anomaly.runner.files`): on the
    Dask workers for the ``dask`` and ``dask-awkward`` executors, so this process opens
    no input file; checks saved with ``cfg.save_preprocessed`` are reused from
    ``cfg.preprocessed``.
    """
    configure_remote_timeouts()  # before a LocalCluster starts: its workers inherit them
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    fileset = load_fileset(cfg.fileset)
    proc = build_processor(cfg)
    known = load_checks(cfg.preprocessed) if cfg.preprocessed else {}

    with _workers(cfg, client) as (dask, pool):
        todo = list(dict.fromkeys((p, t) for spec in fileset.values() for p, t in spec["files"].items()
                                  if (p, t) not in known))  # fmt: skip
        results = {**known, **run_checks(todo, client=dask, pool=pool, progress=progress)} if todo else known
        if cfg.save_preprocessed:
            save_checks(cfg.save_preprocessed, fileset, results)
        usable, checks = usable_fileset(fileset, results, cfg.skip_bad_files)
        # errors of the models, cards or configuration stop the run here, whatever skip_bad_files says
        preflight(proc, usable, client=dask)

        t0 = time.perf_counter()
        output = execute(
            proc,
            usable,
            executor=cfg.executor,
            workers=cfg.workers,
            scheduler=cfg.scheduler,
            chunksize=cfg.chunksize,
            max_chunks=cfg.max_chunks,
            skip_bad_files=cfg.skip_bad_files,
            progress=progress,
            client=dask,
        )
    wall = time.perf_counter() - t0
    output = dict(output or {})
    output.setdefault("hists", {})
    output.setdefault("cutflow", {})

    summary = _summary(cfg, fileset, checks, output, proc, wall)
    files = write_hists(output["hists"], out) if output["hists"] else {}
    metadata = {ds: spec["metadata"] for ds, spec in fileset.items()}
    background = background_dataset(list(fileset), metadata)
    quantiles = _score_quantiles(proc)
    if cfg.processor == "jet":
        summary["metrics"] = jet_metrics(output["hists"], background, quantiles)
    summary["background_dataset"] = background
    if background is None and cfg.processor == "jet":
        summary["notes"] = ["no dataset has 'role: background' in its fileset metadata: AUCs and mass "
                            "sculpting are not computed"]  # fmt: skip
    if cfg.plots and output["hists"]:
        plots = (plot_jet(output["hists"], background, out / "plots", quantiles, metadata=metadata)
                 if cfg.processor == "jet"
                 else plot_dijet(output["hists"], out / "plots", quantiles, metadata=metadata))  # fmt: skip
        summary["plots"] = [str(p.relative_to(out)) for p in plots]
    files["summary"] = write_json(out / "summary.json", summary)
    if not output["hists"]:
        raise InputDataError(f"no histograms were produced: {_why_nothing(summary)}; see {out / 'summary.json'}")
    return RunResult(output=output, summary=summary, out_dir=out, files=files)


@contextlib.contextmanager
def _workers(cfg: RunConfig, client: Any) -> Iterator[tuple[Any, Any]]:
    """``(dask client, process pool)`` for the file checks and the job: the given or a new
    Dask client for the dask executors, a process pool for futures, neither for iterative."""
    if cfg.executor in ("dask", "dask-awkward"):
        if client is not None:
            yield client, None
            return
        with dask_client(cfg.workers, cfg.scheduler) as own:
            yield own, None
        return
    if cfg.executor == "futures":
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=cfg.workers) as pool:
            yield None, pool
        return
    yield None, None


def _why_nothing(summary: dict[str, Any]) -> str:
    """Why a run produced no histograms, from its summary (first reason of each kind)."""
    skipped = [(s["path"], s["reason"]) for d in summary["datasets"].values() for s in d["skipped_files"]]
    failed = [(w, r) for d in summary["datasets"].values() for w, r in d["failed_chunks"].items()]
    empty = [p for d in summary["datasets"].values() for p in d["empty_files"]]
    parts = []
    if skipped:
        parts.append(f"{len(skipped)} file(s) skipped (first: {skipped[0][0]}: {skipped[0][1]})")
    if failed:
        parts.append(f"{len(failed)} chunk(s) failed (first: {failed[0][0]}: {failed[0][1]})")
    if empty:
        parts.append(f"{len(empty)} file(s) hold no events")
    return "; ".join(parts) or "no events to process"


def _score_quantiles(proc: Any) -> dict[str, Any]:
    """Training-background quantile table per histogram score key ("<model>[.<score>]")."""
    out: dict[str, Any] = {}
    for name, model in proc.models.items():
        for key, s in model.card.score_keys(name).items():
            table = (model.card.background_quantiles or {}).get(s)
            if table:
                out[key] = table
    return out


def _summary(cfg: RunConfig, fileset: dict[str, Any], checks: dict[str, Any], output: dict[str, Any],
             proc: Any, wall: float) -> dict[str, Any]:
    datasets: dict[str, Any] = {}
    total_read = 0
    total_jets = 0
    accounted = True
    for ds, chks in checks.items():
        cut = {k: int(v) for k, v in (output["cutflow"].get(ds) or {}).items()}
        failed_n = int((output.get("events_failed") or {}).get(ds, 0))
        unknown = [c.path for c in chks if c.entries is None]
        in_files: int | str = "unknown" if unknown else sum(int(c.entries or 0) for c in chks)
        skipped = [{"path": c.path, "reason": c.error, "events": "unknown" if c.entries is None else c.entries}
                   for c in chks if not c.ok]  # fmt: skip
        skipped_entries: int | str = (
            "unknown" if unknown else sum(int(c.entries or 0) for c in chks if not c.ok)
        )
        read = cut.get("events", 0)
        total_read += read
        total_jets += cut.get("jets scored", cut.get("events scored", 0))
        ok = not unknown and read + failed_n + int(skipped_entries) == in_files
        if cfg.max_chunks is None:
            accounted &= ok
        datasets[ds] = {
            "files": len(chks),
            "events_in_files": in_files,
            "events_read": read,
            "events_in_skipped_files": skipped_entries,
            "events_in_failed_chunks": failed_n,
            "all_events_accounted": ok,
            "cutflow": cut,
            "skipped_files": skipped,
            "failed_chunks": (output.get("failed_chunks") or {}).get(ds, {}),
            "empty_files": [c.path for c in chks if c.ok and c.entries == 0],
            "files_with_unknown_events": unknown,
            "metadata": fileset[ds]["metadata"],
        }
    models = {}
    for name, model in proc.models.items():
        models[name] = {"source": model.source, "sha256": model.sha256, "card": model.card.to_dict()}
    return {
        "package_version": __version__,
        "processor": cfg.processor,
        "executor": cfg.executor,
        "workers": cfg.workers if cfg.executor in ("futures", "dask", "dask-awkward") else 1,
        "chunksize": cfg.chunksize,
        "max_chunks": cfg.max_chunks,
        "wall_time_s": wall,
        "events_read": total_read,
        "events_per_s": total_read / wall if wall > 0 else None,
        "items_scored": total_jets,
        "items_scored_per_s": total_jets / wall if wall > 0 else None,
        "all_events_accounted": accounted if cfg.max_chunks is None else None,
        "datasets": datasets,
        "models": models,
        "selection": selection_to_dict(proc.selection),
        "warnings": list(proc.selection_warnings),
        "config": cfg.to_dict(),
    }
