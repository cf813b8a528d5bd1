"""Run a processor over a checked fileset with one of four executors.

* ``iterative`` and ``futures``: coffea's Runner in this process / a process pool;
* ``dask``: coffea's Runner with a DaskExecutor on a LocalCluster of worker *processes*
  (or on the cluster at ``scheduler``);
* ``dask-awkward``: ``coffea.dataset_tools.apply_to_fileset`` (dask-awkward arrays,
  ``hist.dask`` histograms) computed on the same kind of cluster.

All four give the same histograms: chunk boundaries are fixed by ``chunksize`` and every
count is exact; only the order of floating-point weight sums may differ.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

from coffea import processor
from coffea.nanoevents import NanoAODSchema

from ..errors import CoffeaAnomalyError, InputDataError

__all__ = ["GuardedProcessor", "QuietNanoAODSchema", "dask_client", "execute"]


class QuietNanoAODSchema(NanoAODSchema):
    """NanoAODSchema without the warnings about cross-references to collections a file does
    not have (e.g. ``Electron_genPartIdx => GenPart`` in skimmed or generated files): they
    say nothing about the collections the processors use, and drown the run's output."""

    warn_missing_crossrefs = False


class GuardedProcessor(processor.ProcessorABC):
    """Wrap a processor so a failing chunk is named (file and entry range), and with
    ``skip`` recorded in the output instead of stopping the run."""

    def __init__(self, inner: processor.ProcessorABC, skip: bool) -> None:
        self.inner = inner
        self.skip = skip

    def process(self, events: Any) -> Any:
        meta = getattr(events, "metadata", None) or {}
        where = f"{meta.get('filename', '?')} entries {meta.get('entrystart', '?')}-{meta.get('entrystop', '?')}"
        try:
            return self.inner.process(events)
        except Exception as err:
            if not self.skip:
                if isinstance(err, CoffeaAnomalyError):
                    raise
                raise InputDataError(f"{where}: {type(err).__name__}: {err}") from err
            dataset = str(meta.get("dataset", "unknown"))
            n = int(meta.get("entrystop", 0)) - int(meta.get("entrystart", 0))
            return {
                "failed_chunks": {dataset: {where: f"{type(err).__name__}: {err}"}},
                "events_failed": {dataset: n},
            }

    def postprocess(self, accumulator: Any) -> Any:
        return self.inner.postprocess(accumulator)


@contextlib.contextmanager
def dask_client(workers: int, scheduler: str | None) -> Iterator[Any]:
    """A distributed Client: on ``scheduler`` if given, else a LocalCluster of worker processes."""
    from distributed import Client, LocalCluster

    if scheduler:
        with Client(scheduler) as client:
            yield client
        return
    with LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=logging.ERROR,
    ) as cluster, Client(cluster) as client:
        yield client


def execute(
    proc: processor.ProcessorABC,
    fileset: dict[str, dict[str, Any]],
    *,
    executor: str = "iterative",
    workers: int = 2,
    scheduler: str | None = None,
    chunksize: int = 50_000,
    max_chunks: int | None = None,
    skip_bad_files: bool = False,
    progress: bool = False,
    client: Any = None,
) -> dict[str, Any]:
    """Run ``proc`` over ``fileset``; return the merged accumulator."""
    if not fileset:
        return {}
    if executor == "dask-awkward":
        return _run_dask_awkward(proc, fileset, workers, scheduler, chunksize, max_chunks, client)
    guarded = GuardedProcessor(proc, skip_bad_files)
    runner_fileset = {ds: {"files": list(spec["files"]), "metadata": spec["metadata"], "treename": _tree(spec)}
                      for ds, spec in fileset.items()}
    if executor == "iterative":
        return _runner(processor.IterativeExecutor(status=progress, retries=0), chunksize, max_chunks)(runner_fileset, guarded)
    if executor == "futures":
        return _runner(processor.FuturesExecutor(workers=workers, status=progress, retries=0), chunksize, max_chunks)(
            runner_fileset, guarded
        )
    if executor == "dask":
        with contextlib.ExitStack() as stack:
            if client is None:
                client = stack.enter_context(dask_client(workers, scheduler))
            ex = processor.DaskExecutor(client=client, status=progress, retries=0, treereduction=4)
            return _runner(ex, chunksize, max_chunks)(runner_fileset, guarded)
    raise ValueError(f"unknown executor {executor!r}")


def _tree(spec: dict[str, Any]) -> str:
    trees = set(spec["files"].values())
    return trees.pop() if len(trees) == 1 else "Events"


def _runner(ex: Any, chunksize: int, max_chunks: int | None) -> Any:
    run = processor.Runner(executor=ex, schema=QuietNanoAODSchema, chunksize=chunksize, maxchunks=max_chunks)

    def call(fileset: dict[str, Any], proc: processor.ProcessorABC) -> Any:
        try:
            return run(fileset, processor_instance=proc, treename="Events")
        except Exception as err:
            # coffea wraps a chunk's error as Exception("Failed processing file: ..."):
            # surface our own error (it already names the file and entries)
            ours = _our_error(err)
            if ours is not None and ours is not err:
                raise ours from err
            raise

    return call


def _our_error(err: BaseException | None) -> CoffeaAnomalyError | None:
    seen = set()
    while err is not None and id(err) not in seen:
        if isinstance(err, CoffeaAnomalyError):
            return err
        seen.add(id(err))
        err = err.__cause__ or err.__context__
    return None


def _run_dask_awkward(
    proc: processor.ProcessorABC,
    fileset: dict[str, dict[str, Any]],
    workers: int,
    scheduler: str | None,
    chunksize: int,
    max_chunks: int | None,
    client: Any,
) -> dict[str, Any]:
    import dask
    from coffea.dataset_tools import apply_to_fileset, preprocess
    from coffea.dataset_tools import max_chunks as limit_chunks

    with contextlib.ExitStack() as stack:
        if client is None:
            client = stack.enter_context(dask_client(workers, scheduler))
        spec = {
            ds: {"files": {p: {"object_path": t} for p, t in s["files"].items()}, "metadata": s["metadata"]}
            for ds, s in fileset.items()
        }
        available, _ = preprocess(spec, step_size=chunksize, align_clusters=False, skip_bad_files=False,
                                  save_form=False, scheduler=client)
        if max_chunks is not None:
            available = limit_chunks(available, max_chunks)
        graphs = apply_to_fileset(proc, available, schemaclass=QuietNanoAODSchema)
        (outputs,) = dask.compute(graphs, scheduler=client)
    return processor.accumulate(outputs.values())
