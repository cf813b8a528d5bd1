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
import os
import sys
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from coffea import processor
from coffea.nanoevents import NanoAODSchema

from ..errors import CoffeaAnomalyError, InputDataError
from ..fastjet_banner import silence_fastjet_banner

__all__ = [
    "GuardedProcessor",
    "QuietNanoAODSchema",
    "WorkerDiedError",
    "dask_client",
    "execute",
    "is_file_error",
    "preflight",
    "silence_fastjet_banner",
]

#: events of the first usable file the processor runs on before the job (see :func:`preflight`)
PREFLIGHT_EVENTS = 50
#: outputs merged per task in the Dask executor's reduction tree (never one growing list)
TREE_REDUCTION = 8
#: files per graph in the dask-awkward executor (each graph traces the processor once on the client)
FILES_PER_GRAPH = 100
#: seconds a LocalCluster gets to shut down; a slower close is logged, not raised
CLUSTER_CLOSE_TIMEOUT = 60

log = logging.getLogger(__name__)


class WorkerDiedError(CoffeaAnomalyError, RuntimeError):
    """A worker process died (killed, out of memory, crashed) while processing a chunk."""


class QuietNanoAODSchema(NanoAODSchema):
    """NanoAODSchema without the warnings about cross-references to collections a file does
    not have (e.g. ``Electron_genPartIdx => GenPart`` in skimmed or generated files): they
    say nothing about the collections the processors use, and drown the run's output."""

    warn_missing_crossrefs = False


#: code that only runs while reading a file: an exception raised inside it is the file's
_READING_CODE = (f"{os.sep}uproot{os.sep}", f"{os.sep}nanoevents{os.sep}mapping{os.sep}")


def _chain(err: BaseException | None) -> Iterator[BaseException]:
    seen: set[int] = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        yield err
        err = err.__cause__ or err.__context__


def is_file_error(err: BaseException) -> bool:
    """True when ``err`` is about the input file (unreadable, truncated, corrupt basket,
    a collection missing in it), False for errors of the model, card, configuration or code.

    Our own errors say what they are: :class:`~coffea_anomaly.errors.InputDataError` is
    about the data, every other ``CoffeaAnomalyError`` is not. Other exceptions are the
    file's when they are I/O or decompression errors, or were raised while uproot (or
    NanoEvents' uproot mapping) was reading.
    """
    for e in _chain(err):
        if isinstance(e, WorkerDiedError):
            return False
        if isinstance(e, CoffeaAnomalyError):
            return isinstance(e, InputDataError)
    for e in _chain(err):
        if isinstance(e, (OSError, EOFError, zlib.error)) or type(e).__module__.startswith("uproot"):
            return True
        tb = e.__traceback__
        while tb is not None:
            if any(part in tb.tb_frame.f_code.co_filename for part in _READING_CODE):
                return True
            tb = tb.tb_next
    return False


def first_line(err: BaseException) -> str:
    """``Type: first line of the message`` (at most 300 characters)."""
    lines = str(err).strip().splitlines()
    text = lines[0] if lines else ""
    return f"{type(err).__name__}: {text[:300]}"


class GuardedProcessor(processor.ProcessorABC):
    """Wrap a processor so a failing chunk is named (file and entry range); with ``skip``,
    a chunk that fails because of its *file* (:func:`is_file_error`) is recorded in the
    output instead of stopping the run. Every other error stops the run."""

    def __init__(self, inner: processor.ProcessorABC, skip: bool) -> None:
        self.inner = inner
        self.skip = skip

    def process(self, events: Any) -> Any:
        silence_fastjet_banner()
        meta = getattr(events, "metadata", None) or {}
        where = f"{meta.get('filename', '?')} entries {meta.get('entrystart', '?')}-{meta.get('entrystop', '?')}"
        try:
            return self.inner.process(events)
        except Exception as err:
            if not (self.skip and is_file_error(err)):
                if isinstance(err, CoffeaAnomalyError):
                    raise
                raise InputDataError(f"{where}: {first_line(err)}") from err
            dataset = str(meta.get("dataset", "unknown"))
            n = int(meta.get("entrystop", 0)) - int(meta.get("entrystart", 0))
            return {
                "failed_chunks": {dataset: {where: first_line(err)}},
                "events_failed": {dataset: n},
            }

    def postprocess(self, accumulator: Any) -> Any:
        return self.inner.postprocess(accumulator)


def preflight(proc: processor.ProcessorABC, fileset: dict[str, dict[str, Any]], client: Any = None) -> None:
    """Run ``proc`` on the first :data:`PREFLIGHT_EVENTS` events of the first usable file.

    Errors of the model, its card or the configuration show here, before any work and
    whatever ``skip_bad_files`` says, instead of failing every chunk of the job. An error
    of the file itself is left to the job (which skips or stops on it). With a Dask
    ``client`` it runs as one task on a worker (the client opens no file).

    Raises:
        CoffeaAnomalyError: the processor cannot process these events (the error as
            raised, or a ``ConfigError`` naming the file when it is not one of ours).
    """
    first = _first_file(fileset)
    if first is None:
        return
    if client is not None:
        client.submit(_preflight_here, proc, first, pure=False, retries=0).result()
        return
    _preflight_here(proc, first)


def _first_file(fileset: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]] | None:
    """The fileset cut to its first file with events (as ``{ds: {"files": {path: tree}, "entries"}}``)."""
    for ds, spec in fileset.items():
        entries = spec.get("entries") or {}
        for path, tree in spec["files"].items():
            if entries.get(path, 1) != 0:
                return {ds: {"files": {path: tree}, "entries": {path: entries[path]} if path in entries else {}}}
    return None


def _preflight_here(proc: processor.ProcessorABC, fileset: dict[str, dict[str, Any]]) -> None:
    from coffea.nanoevents import NanoEventsFactory

    from ..errors import ConfigError

    for ds, spec in fileset.items():
        entries = spec.get("entries") or {}
        for path, tree in spec["files"].items():
            n = entries.get(path)
            stop = PREFLIGHT_EVENTS if n is None else min(PREFLIGHT_EVENTS, int(n))
            if stop == 0:
                continue
            meta = {"dataset": ds, "filename": path, "entrystart": 0, "entrystop": stop}
            try:
                events = NanoEventsFactory.from_root(
                    {path: tree}, entry_stop=stop, schemaclass=QuietNanoAODSchema, metadata=meta, mode="virtual"
                ).events()
                silence_fastjet_banner()
                proc.process(events)
            except Exception as err:
                if is_file_error(err):
                    return
                if isinstance(err, CoffeaAnomalyError):
                    raise
                raise ConfigError(
                    f"the processor fails on the first {stop} events of {path} (a model, card or "
                    f"configuration error, checked before the job): {first_line(err)}"
                ) from err
            return


@contextlib.contextmanager
def dask_client(workers: int, scheduler: str | None) -> Iterator[Any]:
    """A distributed Client: on ``scheduler`` if given, else a LocalCluster of worker processes.

    Closing a LocalCluster on a loaded machine can take longer than distributed's default
    timeout; the results are in hand by then, so a slow close is logged, not raised.
    """
    from distributed import Client, LocalCluster

    if scheduler:
        with Client(scheduler) as client:
            yield client
        return
    cluster = LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",  # a free port: no "port 8787 in use" warnings beside other clusters
        silence_logs=logging.ERROR,
    )
    try:
        client = Client(cluster)
        try:
            yield client
        finally:
            close_quietly(client)
    finally:
        close_quietly(cluster)


def close_quietly(obj: Any, timeout: float = CLUSTER_CLOSE_TIMEOUT) -> None:
    """``obj.close(timeout=...)`` of a distributed Client or cluster; a timeout is logged."""
    try:
        obj.close(timeout=timeout)
    except (TimeoutError, OSError) as err:  # asyncio/distributed timeouts are TimeoutError
        log.warning("closing %s took longer than %s s (%s); going on", type(obj).__name__, timeout, err)


@contextlib.contextmanager
def coffea_bars(progress: bool) -> Iterator[None]:
    """coffea's rich progress bars: on stderr with ``progress``, silenced without.

    coffea's executors draw them on its console (stdout) whatever their ``status``.
    """
    try:
        from coffea.util import coffea_console
    except ImportError:  # pragma: no cover - older coffea
        yield
        return
    quiet, file = coffea_console.quiet, coffea_console.file
    coffea_console.quiet = not progress
    coffea_console.file = sys.stderr
    try:
        yield
    finally:
        coffea_console.quiet, coffea_console.file = quiet, file


def _worker_died(err: BaseException) -> WorkerDiedError | None:
    """Our one-line error for a worker that died (futures: BrokenProcessPool; Dask: KilledWorker)."""
    from concurrent.futures.process import BrokenProcessPool

    for e in _chain(err):
        name = type(e).__name__
        if isinstance(e, WorkerDiedError):
            return e
        if isinstance(e, BrokenProcessPool) or name == "KilledWorker" or "KilledWorker" in str(e):
            return WorkerDiedError(
                "a worker process died while processing (killed, out of memory or crashed); nothing "
                "was written. Rerun with fewer --workers or a smaller --chunksize if memory is short"
            )
    return None


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
    """Run ``proc`` over ``fileset``; return the merged accumulator.

    With ``skip_bad_files`` a chunk (dask-awkward: a file) that fails because of its file
    is recorded under ``failed_chunks`` / ``events_failed``; every other error stops the run.

    Raises:
        WorkerDiedError: a worker process died.
        CoffeaAnomalyError: a chunk failed (naming its file and entries).
    """
    if not fileset:
        return {}
    silence_fastjet_banner()  # forked workers (futures) inherit it
    try:
        with coffea_bars(progress):
            return _execute(proc, fileset, executor, workers, scheduler, chunksize, max_chunks, skip_bad_files,
                            progress, client)  # fmt: skip
    except CoffeaAnomalyError:
        raise
    except Exception as err:
        died = _worker_died(err)
        if died is not None:
            raise died from err
        raise


def _execute(
    proc: processor.ProcessorABC,
    fileset: dict[str, dict[str, Any]],
    executor: str,
    workers: int,
    scheduler: str | None,
    chunksize: int,
    max_chunks: int | None,
    skip: bool,
    progress: bool,
    client: Any,
) -> dict[str, Any]:
    if executor == "dask-awkward":
        return _run_dask_awkward(proc, fileset, workers, scheduler, chunksize, max_chunks, client, skip, progress)
    guarded = GuardedProcessor(proc, skip)
    runner_fileset = {ds: {"files": list(spec["files"]), "metadata": spec["metadata"], "treename": _tree(spec)}
                      for ds, spec in fileset.items()}  # fmt: skip
    cache = _metadata_cache(fileset)
    if executor == "iterative":
        ex: Any = processor.IterativeExecutor(status=progress, retries=0)
        return _runner(ex, chunksize, max_chunks, cache)(runner_fileset, guarded)
    if executor == "futures":
        ex = processor.FuturesExecutor(workers=workers, status=progress, retries=0)
        return _runner(ex, chunksize, max_chunks, cache)(runner_fileset, guarded)
    if executor == "dask":
        with contextlib.ExitStack() as stack:
            if client is None:
                client = stack.enter_context(dask_client(workers, scheduler))
            ex = processor.DaskExecutor(client=client, status=progress, retries=0, treereduction=TREE_REDUCTION)
            return _runner(ex, chunksize, max_chunks, cache)(runner_fileset, guarded)
    raise ValueError(f"unknown executor {executor!r}")


def _tree(spec: dict[str, Any]) -> str:
    trees = set(spec["files"].values())
    return trees.pop() if len(trees) == 1 else "Events"


def _metadata_cache(fileset: dict[str, dict[str, Any]]) -> dict[Any, dict[str, Any]]:
    """coffea's Runner metadata (entries and file UUID) from our file checks, so that the
    Runner does not open every file again to learn them (its "Preprocessing" step)."""
    from coffea.processor.executor import FileMeta

    cache: dict[Any, dict[str, Any]] = {}
    for ds, spec in fileset.items():
        entries, uuids, tree = spec.get("entries") or {}, spec.get("uuids") or {}, _tree(spec)
        for path in spec["files"]:
            if path in entries and uuids.get(path):
                meta = {**(spec.get("metadata") or {}), "numentries": int(entries[path]),
                        "uuid": bytes.fromhex(uuids[path])}  # fmt: skip
                cache[FileMeta(ds, path, tree, meta)] = meta
    return cache


def _runner(ex: Any, chunksize: int, max_chunks: int | None, cache: dict[Any, dict[str, Any]] | None = None) -> Any:
    from .files import OPEN_TIMEOUT_S

    run = processor.Runner(executor=ex, schema=QuietNanoAODSchema, chunksize=chunksize, maxchunks=max_chunks,
                           metadata_cache=cache if cache is not None else {},
                           xrootdtimeout=OPEN_TIMEOUT_S)  # fmt: skip

    def call(fileset: dict[str, Any], proc: processor.ProcessorABC) -> Any:
        try:
            return run(fileset, processor_instance=proc, treename="Events",
                       uproot_options={"timeout": OPEN_TIMEOUT_S})  # fmt: skip
        except Exception as err:
            # coffea wraps a chunk's error as Exception("Failed processing file: ..."):
            # surface our own error (it already names the file and entries)
            ours = _our_error(err) or _worker_died(err)
            if ours is not None and ours is not err:
                raise ours from err
            raise

    return call


def _our_error(err: BaseException | None) -> CoffeaAnomalyError | None:
    return next((e for e in _chain(err) if isinstance(e, CoffeaAnomalyError)), None)


def _run_dask_awkward(
    proc: processor.ProcessorABC,
    fileset: dict[str, dict[str, Any]],
    workers: int,
    scheduler: str | None,
    chunksize: int,
    max_chunks: int | None,
    client: Any,
    skip: bool,
    progress: bool,
) -> dict[str, Any]:
    """``apply_to_fileset`` on groups of :data:`FILES_PER_GRAPH` files, computed together on the cluster.

    One graph per group (not per file: building a graph traces the processor on the
    client, ~0.5 s each) keeps the client's work small. A group that fails because of a
    file is run again one file per graph, so that the bad file is named and, with
    ``skip``, only it is skipped. Outputs are added up as groups finish (one running sum, not a list), and a
    progress bar (stderr) counts files and chunks done.
    """
    from coffea.dataset_tools import apply_to_fileset, preprocess
    from coffea.dataset_tools import max_chunks as limit_chunks
    from dask.base import unpack_collections
    from distributed import as_completed
    from tqdm.auto import tqdm

    from .files import OPEN_TIMEOUT_S

    failed: dict[str, dict[str, str]] = {}
    events_failed: dict[str, int] = {}

    def fail(ds: str, path: str, n: int, why: str) -> None:
        failed.setdefault(ds, {})[path] = why
        events_failed[ds] = events_failed.get(ds, 0) + n

    with contextlib.ExitStack() as stack:
        if client is None:
            client = stack.enter_context(dask_client(workers, scheduler))
        client.run(silence_fastjet_banner)
        spec = {
            ds: {"files": {p: {"object_path": t} for p, t in s["files"].items()}, "metadata": s["metadata"]}
            for ds, s in fileset.items()
        }
        with coffea_bars(False):  # also silences coffea's advertisement for DataGroupSpec
            # the form is saved so that apply_to_fileset builds the graphs without
            # opening the files on the client
            available, _ = preprocess(spec, step_size=chunksize, align_clusters=False, skip_bad_files=skip,
                                      save_form=True, scheduler=client,
                                      uproot_options={"timeout": OPEN_TIMEOUT_S})  # fmt: skip
        for ds, s in fileset.items():  # files preprocess could not open (only with skip)
            kept = (available.get(ds) or {}).get("files") or {}
            for path in s["files"]:
                if path not in kept:
                    fail(ds, path, int((s.get("entries") or {}).get(path) or 0), "unreadable (dask-awkward preprocess)")
        if max_chunks is not None:
            available = limit_chunks(available, max_chunks)
        items = [_FileItem(ds, path, finfo) for ds, s in available.items() for path, finfo in s["files"].items()]

        def submit(group: list[_FileItem]) -> Any:
            graph = apply_to_fileset(proc, _group_fileset(available, group), schemaclass=QuietNanoAODSchema)
            # the collections themselves, optimised together as dask.compute does (column
            # projection: only the branches used are read); dask.delayed(graph) would skip
            # that and read every branch (twice the time)
            collections, repack = unpack_collections(graph, traverse=True)
            parts = client.compute(list(collections))
            fut = client.submit(_together, *parts, pure=False)
            pending[fut] = (group, repack, parts)
            return fut

        pending: dict[Any, tuple[list[_FileItem], Any, list[Any]]] = {}
        done = as_completed([submit(items[i : i + FILES_PER_GRAPH]) for i in range(0, len(items), FILES_PER_GRAPH)])
        total_chunks = sum(len(it.finfo.get("steps") or []) for it in items)
        chunks_done = 0
        out: Any = None
        bar = tqdm(total=len(items), desc="dask-awkward", unit="file", disable=not progress, file=sys.stderr)
        try:
            for fut in done:
                group, repack, parts = pending.pop(fut)
                try:
                    (result,) = repack(fut.result())
                except Exception as err:
                    file_error = is_file_error(err)
                    if file_error and len(group) > 1:  # find the bad file(s): one graph per file
                        for it in group:
                            done.add(submit([it]))
                        continue
                    if not (skip and file_error):
                        died = _worker_died(err)
                        if died is not None:
                            raise died from err
                        if isinstance(err, CoffeaAnomalyError):
                            raise
                        where = group[0].path if len(group) == 1 else f"one of {len(group)} files from {group[0].path}"
                        raise InputDataError(f"{where}: {first_line(err)}") from err
                    fail(group[0].ds, group[0].path, group[0].events, first_line(err))
                    result = {}
                finally:
                    for f in (fut, *parts):
                        f.release()
                out = processor.accumulate(result.values(), out)
                chunks_done += sum(len(it.finfo.get("steps") or []) for it in group)
                bar.update(len(group))
                bar.set_postfix_str(f"chunks {chunks_done}/{total_chunks}", refresh=False)
        finally:
            bar.close()
            client.cancel([f for fut, (_, _, parts) in pending.items() for f in (fut, *parts) if not f.done()])
    out = dict(out or {})
    if failed:
        out["failed_chunks"] = processor.accumulate([out.get("failed_chunks") or {}, failed])
        out["events_failed"] = processor.accumulate([out.get("events_failed") or {}, events_failed])
    return out


def _together(*parts: Any) -> tuple[Any, ...]:
    """The computed collections of one graph, as one result (a task on a worker)."""
    return parts


@dataclass(frozen=True)
class _FileItem:
    """One file of a preprocessed fileset: its dataset, path and coffea file info (steps, ...)."""

    ds: str
    path: str
    finfo: dict[str, Any]

    @property
    def events(self) -> int:
        return sum(int(b) - int(a) for a, b in self.finfo.get("steps") or [])


def _group_fileset(available: dict[str, dict[str, Any]], group: list[_FileItem]) -> dict[str, dict[str, Any]]:
    """The preprocessed fileset cut to ``group``'s files (each dataset keeps its form and metadata)."""
    out: dict[str, dict[str, Any]] = {}
    for it in group:
        ds = out.setdefault(it.ds, {**{k: v for k, v in available[it.ds].items() if k != "files"}, "files": {}})
        ds["files"][it.path] = it.finfo
    return out
