"""Library entry points: :func:`generate_sample` and the cached :func:`ensure_sample`."""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from .. import __version__
from ..config import config_to_dict
from ..errors import ConfigError, InputDataError
from .blocks import BlockResult, BlockTask, plan_blocks, run_block
from .recipes import load_recipe, recipe_hash
from .settings import SampleRecipe
from .writer import FILESET_NAME, write_fileset

__all__ = ["GenerationResult", "ensure_sample", "generate_sample"]


@dataclass(frozen=True)
class GenerationResult:
    """What a generation run produced.

    Attributes:
        fileset: path of ``fileset.json``.
        files: the ROOT files, in block order.
        n_events: events written.
        events_per_s: accepted events per wall-clock second (0 when reused from cache).
        metadata: the dataset metadata written to ``fileset.json``.
        reused: True when :func:`ensure_sample` found a matching complete sample.
    """

    fileset: Path
    files: tuple[Path, ...]
    n_events: int
    events_per_s: float
    metadata: dict[str, Any]
    reused: bool = False


def _check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


def _prepare_out_dir(out_dir: Path) -> None:
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InputDataError(f"cannot create output folder {out_dir}: {err.strerror or err}") from err
    if not os.access(out_dir, os.W_OK | os.X_OK):
        raise InputDataError(f"output folder {out_dir} is not writable")


def _block_path(out_dir: Path, dataset: str, block: int) -> Path:
    return out_dir / f"{dataset}_{block:05d}.root"


def _run_blocks(tasks: list[BlockTask], workers: int, progress: bool, desc: str) -> Iterator[BlockResult]:
    total = sum(t.n_events for t in tasks)
    bar = tqdm(total=total, desc=desc, unit="ev", disable=not progress, file=sys.stderr, smoothing=0.1)
    try:
        if workers == 1 or len(tasks) == 1:
            for task in tasks:
                result = run_block(task)
                bar.update(result.n_events)
                yield result
            return
        context = multiprocessing.get_context("spawn")
        with context.Pool(processes=min(workers, len(tasks))) as pool:
            for result in pool.imap_unordered(run_block, tasks):
                bar.update(result.n_events)
                yield result
    finally:
        bar.close()


def _combine(results: list[BlockResult]) -> dict[str, dict[str, Any]]:
    """Per-process totals: cross section (generated-weighted mean over blocks) and acceptance."""
    out: dict[str, dict[str, Any]] = {}
    for comp in (c for r in results for c in r.components):
        acc = out.setdefault(comp.process, {"n_accepted": 0, "n_generated": 0, "sw_acc": 0.0,
                                            "sw_gen": 0.0, "sigma_sum": 0.0, "err2_sum": 0.0})
        acc["n_accepted"] += comp.n_accepted
        acc["n_generated"] += comp.n_generated
        acc["sw_acc"] += comp.sum_weights_accepted
        acc["sw_gen"] += comp.sum_weights_generated
        acc["sigma_sum"] += comp.sigma_pb * comp.n_generated
        acc["err2_sum"] += (comp.sigma_err_pb * comp.n_generated) ** 2
    summary = {}
    for process, acc in out.items():
        n_gen = max(acc["n_generated"], 1)
        sigma = acc["sigma_sum"] / n_gen
        weighted_acceptance = acc["sw_acc"] / acc["sw_gen"] if acc["sw_gen"] else 0.0
        summary[process] = {
            "xsec_pb": sigma,
            "xsec_err_pb": acc["err2_sum"] ** 0.5 / n_gen,
            "n_generated": acc["n_generated"],
            "n_accepted": acc["n_accepted"],
            "acceptance": acc["n_accepted"] / n_gen,
            "acceptance_weighted": weighted_acceptance,
            "xsec_accepted_pb": sigma * weighted_acceptance,
        }
    return summary


def _metadata(recipe: SampleRecipe, process: str, n_events: int, seed: int,
              overrides: dict[str, Any], results: list[BlockResult], seconds: float) -> dict[str, Any]:
    per_process = _combine(results)
    meta: dict[str, Any] = {
        "process": process,
        "n_events": n_events,
        "seed": seed,
        "overrides": overrides,
        "recipe": config_to_dict(recipe),
        "recipe_hash": recipe_hash(recipe),
        "block_size": recipe.block_size,
        "truth_label": recipe.truth_label,
        "generator": "pythia8mc 8.317.2",
        "package_version": __version__,
        "wall_seconds": round(seconds, 3),
    }
    if recipe.mix is None:
        meta.update(per_process[recipe.process])
    else:
        meta["signal_fraction"] = recipe.mix.signal_fraction
        meta["components"] = per_process
        meta["xsec_pb"] = per_process[recipe.mix.background]["xsec_pb"]
        meta["acceptance"] = per_process[recipe.mix.background]["acceptance"]
    return meta


def generate_sample(
    process: str,
    n_events: int,
    out_dir: str | Path,
    *,
    seed: int = 1,
    workers: int = 1,
    overrides: Mapping[str, Any] | None = None,
    progress: bool = True,
    dataset: str | None = None,
) -> GenerationResult:
    """Generate ``n_events`` accepted events of ``process`` into ``out_dir``.

    The same ``seed`` gives identical events for any ``workers``. Files are
    ``<dataset>_<block>.root``; ``fileset.json`` is written last.

    Args:
        process: a recipe name (see :func:`~coffea_anomaly.generation.recipes.known_processes`).
        n_events: accepted events to write (>= 1).
        out_dir: output folder (created if needed).
        seed: the sample's seed (>= 0).
        workers: worker processes (>= 1).
        overrides: ``--set`` style overrides, e.g. ``{"m_wprime": 3000}``.
        progress: show a tqdm progress bar on stderr.
        dataset: dataset name in the fileset (default: the process name).

    Returns:
        The files, fileset path and speed.

    Raises:
        ConfigError: unknown process or invalid option.
        InputDataError: the output folder cannot be written.
    """
    n_events = _check_int("n_events", n_events, 1)
    seed = _check_int("seed", seed, 0)
    workers = _check_int("workers", workers, 1)
    overrides = dict(overrides or {})
    recipe = load_recipe(process, overrides)
    dataset = dataset or process
    out = Path(out_dir)
    _prepare_out_dir(out)
    fileset_path = out / FILESET_NAME
    fileset_path.unlink(missing_ok=True)
    ours = re.compile(rf"\.?{re.escape(dataset)}_\d{{5}}\.root(\.\d+\.tmp)?")
    for stale in out.iterdir():
        if ours.fullmatch(stale.name):
            stale.unlink()

    tasks = [
        BlockTask(recipe, seed, block, n, _block_path(out, dataset, block))
        for block, n in enumerate(plan_blocks(n_events, recipe.block_size))
    ]
    start = time.perf_counter()
    results = sorted(_run_blocks(tasks, workers, progress, f"generate {process}"), key=lambda r: r.block)
    seconds = time.perf_counter() - start
    metadata = _metadata(recipe, process, n_events, seed, overrides, results, seconds)
    files = tuple(r.path for r in results)
    write_fileset(fileset_path, dataset, list(files), metadata)
    return GenerationResult(fileset_path, files, n_events, n_events / max(seconds, 1e-9), metadata)


def ensure_sample(
    process: str,
    n_events: int,
    out_dir: str | Path,
    *,
    seed: int = 1,
    workers: int = 1,
    overrides: Mapping[str, Any] | None = None,
    progress: bool = True,
    dataset: str | None = None,
) -> GenerationResult:
    """Like :func:`generate_sample`, but reuse a complete matching sample in ``out_dir``.

    A sample matches when its ``fileset.json`` names the same process, number of
    events, seed, overrides and recipe hash, and all its files exist.
    """
    overrides = dict(overrides or {})
    dataset = dataset or process
    fileset_path = Path(out_dir) / FILESET_NAME
    recipe = load_recipe(process, overrides)
    try:
        entry = json.loads(fileset_path.read_text())[dataset]
        meta = entry["metadata"]
        files = tuple(Path(f) for f in entry["files"])
    except (OSError, ValueError, KeyError, TypeError):
        entry = None
    if entry is not None and (
        meta.get("process") == process
        and meta.get("n_events") == n_events
        and meta.get("seed") == seed
        and meta.get("overrides") == json.loads(json.dumps(overrides))
        and meta.get("recipe_hash") == recipe_hash(recipe)
        and all(f.is_file() for f in files)
    ):
        return GenerationResult(fileset_path, files, n_events, 0.0, meta, reused=True)
    return generate_sample(process, n_events, out_dir, seed=seed, workers=workers,
                           overrides=overrides, progress=progress, dataset=dataset)
