"""Many small files: our run (checks on the workers + accounting) against coffea's own preprocess + apply_to_fileset.

Writes ``--files`` hand-made NanoAOD-v15-style files of ``--events`` events each (fat jets
in the toy model's window with their constituents), starts one ``LocalCluster`` of
``--workers`` worker processes, and on it times, ``--repeats`` times each:

* ``coffea``: ``coffea.dataset_tools.preprocess`` (on the workers) then
  ``apply_to_fileset`` with the same ``JetAnomalyProcessor`` and ``dask.compute``;
* ``ours``: ``run_analysis`` with ``executor=dask-awkward`` on the same client (file
  checks as worker tasks, preflight, the job, the accounting; no plots).

Reported per variant (medians, and every run under ``runs``): ``first_chunk_s`` (time from
the start to the first chunk read by the job: the first ``from-uproot`` task done, seen by
a plugin on the in-process scheduler), ``setup_s`` (coffea: its preprocess; ours: the file
checks and the preflight, before ``run_analysis``'s timed job, which holds coffea's
preprocess), ``total_s`` (wall time to the merged histograms; ours
includes writing hists.root/json and summary.json) and the ratio ours / coffea, of the
medians and of each repeat (the two variants run back to back). The issue's size is ``--files 2000 --events 100``; the default is smaller.

    python -m benchmarks many_files [--files 200] [--events 100] [--workers 2] [--repeats 1]
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = ["main", "make_files"]


def make_files(folder: Path, n_files: int, n_events: int) -> list[str]:
    """``n_files`` copies of one hand-made file of ``n_events`` events (the checks and the
    reading cost the same as for distinct files)."""
    import numpy as np

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from handmade_events import write_handmade

    rng = np.random.default_rng(5)
    events = [[(float(rng.uniform(550, 650)), float(rng.uniform(-1.5, 1.5)), float(rng.uniform(30, 200)))
               for _ in range(int(rng.integers(1, 3)))] for _ in range(n_events)]  # fmt: skip
    first = write_handmade(folder / "f00000.root", events)
    paths = [str(first)]
    for i in range(1, n_files):
        paths.append(str(shutil.copyfile(first, folder / f"f{i:05d}.root")))
    return paths


def first_chunk_plugin() -> Any:
    """A scheduler plugin whose ``first`` is the time the first chunk-reading task finished."""
    from distributed.diagnostics.plugin import SchedulerPlugin

    class FirstChunk(SchedulerPlugin):
        name = "bench-first-chunk"

        def __init__(self) -> None:
            self.first: float | None = None

        def transition(self, key: Any, start: str, finish: str, *args: Any, **kwargs: Any) -> None:
            from dask.utils import key_split

            if self.first is None and finish == "memory" and key_split(key).startswith("from-uproot"):
                self.first = time.perf_counter()

    return FirstChunk()


def _timed(run: Any, first: Any) -> dict[str, float]:
    first.first = None
    t0 = time.perf_counter()
    times = run()
    assert first.first is not None, "no from-uproot task seen: the first-chunk timer is blind"
    return {"first_chunk_s": first.first - t0, **{k: v - t0 for k, v in times.items()}}


def _coffea(proc: Any, fileset: dict[str, Any], client: Any, chunksize: int) -> dict[str, float]:
    import dask
    from coffea.dataset_tools import apply_to_fileset, preprocess

    from coffea_anomaly.runner.execute import QuietNanoAODSchema

    spec = {ds: {"files": {p: "Events" for p in s["files"]}} for ds, s in fileset.items()}
    available, _ = preprocess(spec, step_size=chunksize, align_clusters=False, save_form=True, scheduler=client)
    t1 = time.perf_counter()
    graph = apply_to_fileset(proc, available, schemaclass=QuietNanoAODSchema)
    (out,) = dask.compute(graph, scheduler=client)
    t2 = time.perf_counter()
    assert out, "coffea produced no output"
    return {"setup_s": t1, "total_s": t2}


def _ours(cfg: Any, out_dir: Path, client: Any) -> dict[str, float]:
    from coffea_anomaly.runner import run_analysis

    res = run_analysis(cfg, out_dir, client=client)
    end = time.perf_counter()
    assert res.summary["all_events_accounted"], "accounting failed"
    return {"setup_s": end - res.summary["wall_time_s"], "total_s": end}


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks many_files", description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=200, help="number of files (the issue: 2000)")
    ap.add_argument("--events", type=int, default=100, help="events per file")
    ap.add_argument("--workers", type=int, default=2, help="LocalCluster worker processes")
    ap.add_argument("--repeats", type=int, default=1, help="timed runs per variant")
    ap.add_argument("--keep", type=Path, default=None, help="write the files here (kept) instead of a temp folder")
    args = ap.parse_args(argv)

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from toy_models import image_toy

    from coffea_anomaly.runner import RunConfig
    from coffea_anomaly.runner.execute import dask_client
    from coffea_anomaly.runner.run import build_processor

    folder = args.keep or Path(tempfile.mkdtemp(prefix="bench-many-files-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        paths = make_files(folder, args.files, args.events)
        model = image_toy(folder / "toy_image.onnx")
        fileset = {"many": {"files": {p: "Events" for p in paths}, "metadata": {"role": "background"}}}
        cfg = RunConfig(fileset=fileset, models=[str(model)], executor="dask-awkward", chunksize=10_000,
                        workers=args.workers, plots=False)  # fmt: skip
        proc = build_processor(cfg)
        times: dict[str, list[dict[str, float]]] = {"coffea": [], "ours": []}
        logging.getLogger("distributed").setLevel(logging.ERROR)
        with dask_client(args.workers, None) as client:
            first = first_chunk_plugin()
            client.cluster.scheduler.add_plugin(first)  # the LocalCluster's scheduler is in this process
            _coffea(proc, {"warm-up": {"files": paths[:2]}}, client, cfg.chunksize)  # imports on the workers
            for i in range(args.repeats):
                times["coffea"].append(_timed(lambda: _coffea(proc, fileset, client, cfg.chunksize), first))
                times["ours"].append(_timed(lambda i=i: _ours(cfg, folder / f"out{i}", client), first))
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)
    med = {v: {k: statistics.median(t[k] for t in runs) for k in runs[0]} for v, runs in times.items()}
    result = {
        "files": args.files,
        "events_per_file": args.events,
        "workers": args.workers,
        "repeats": args.repeats,
        **med,
        "ratio_total_ours_over_coffea": med["ours"]["total_s"] / med["coffea"]["total_s"],
        "ratio_setup_ours_over_coffea": med["ours"]["setup_s"] / med["coffea"]["setup_s"],
        "ratio_first_chunk_ours_over_coffea": med["ours"]["first_chunk_s"] / med["coffea"]["first_chunk_s"],
        "runs": times,
        "ratio_total_per_repeat": [o["total_s"] / c["total_s"] for c, o in zip(times["coffea"], times["ours"], strict=True)],
    }
    print(json.dumps(result, indent=2))
    return 0
