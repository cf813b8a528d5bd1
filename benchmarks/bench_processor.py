"""End-to-end jets/s of the JetAnomalyProcessor vs bare onnxruntime on precomputed images.

Three measurements on the same generated jets and the same model (the shipped image CNN
autoencoder by default), onnxruntime limited to one thread everywhere:

* baseline: bare ``InferenceSession.run`` on images precomputed for exactly the jets the
  processor scores (only the ONNX calls are timed);
* end to end, iterative executor: reading, constituents, images, scoring, histograms;
* end to end on a Dask LocalCluster with 1 and with 2 worker processes (cluster start-up
  not timed).

Targets (issue 4): end-to-end >= 70 % of bare throughput; 2 workers >= 1.6x one.

    python -m benchmarks processor [--sample data/train/qcd_jets] [--model image_cnn_ae]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from coffea_anomaly.inference import OnnxModel
from coffea_anomaly.runner import RunConfig, load_fileset, run_analysis
from coffea_anomaly.runner.execute import dask_client

__all__ = ["main"]

ROOT = Path(__file__).resolve().parents[1]


def _fileset(sample: Path, max_files: int | None) -> dict[str, Any]:
    fs = load_fileset(sample / "fileset.json")
    (name, spec), = fs.items()
    files = dict(list(spec["files"].items())[:max_files] if max_files else spec["files"])
    return {name: {"files": files, "metadata": {}}}


def _bare(model_spec: str, fileset: dict[str, Any], selection: dict[str, float], repeats: int) -> tuple[int, float]:
    """Jets/s of bare onnxruntime on images precomputed for the processor's jets."""
    import onnxruntime as ort

    from coffea_anomaly.nanoaod import open_events
    from coffea_anomaly.representations import build_input, fatjet_constituents

    model = OnnxModel(model_spec)
    images = []
    for path in next(iter(fileset.values()))["files"]:
        ev = open_events(path, mode="eager")
        jets = ev.FatJet
        mask = (jets.pt >= selection["pt_min"]) & (jets.pt < selection["pt_max"]) & (abs(jets.eta) < selection["eta_max"])
        cons = fatjet_constituents(ev)[mask]
        rep = model.card.representation
        images.append(build_input(rep.kind, rep.config, jets[mask], cons))
    x = np.concatenate(images)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(model._model_bytes, opts, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        for i in range(0, len(x), model.batch_size):
            sess.run(None, {name: x[i : i + model.batch_size]})
        best = min(best, time.perf_counter() - t0)
    return len(x), len(x) / best


def _e2e(cfg: RunConfig, out: Path, client: Any = None) -> tuple[int, float]:
    res = run_analysis(cfg, out, client=client)
    n = res.summary["items_scored"]
    return n, n / res.summary["wall_time_s"]


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks processor", description=__doc__.splitlines()[0])
    ap.add_argument("--sample", type=Path, default=ROOT / "data" / "train" / "qcd_jets")
    ap.add_argument("--model", default="image_cnn_ae")
    ap.add_argument("--max-files", type=int, default=8, help="files of the sample to use")
    ap.add_argument("--chunksize", type=int, default=10_000)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "bench_processor")
    args = ap.parse_args(argv)

    fileset = _fileset(args.sample, args.max_files)
    selection = {"pt_min": 550.0, "pt_max": 650.0, "eta_max": 2.0}
    n_bare, bare = _bare(args.model, fileset, selection, args.repeats)
    base = RunConfig(processor="jet", fileset=fileset, models=[args.model], chunksize=args.chunksize,
                     selection=selection, plots=False, model_options={"intra_op_threads": 1, "inter_op_threads": 1})
    n_it, iterative = _e2e(base.with_overrides(executor="iterative"), args.out / "iterative")
    dask = {}
    for workers in (1, 2):
        with dask_client(workers, None) as client:
            cfg = base.with_overrides(executor="dask", workers=workers)
            _e2e(cfg, args.out / f"warm{workers}", client)  # warm-up: imports and sessions in the workers
            dask[workers] = _e2e(cfg, args.out / f"dask{workers}", client)[1]
    assert n_it == n_bare, f"processor scored {n_it} jets, baseline {n_bare}"
    result = {
        "jets": n_bare,
        "bare_onnxruntime_jets_per_s": bare,
        "iterative_jets_per_s": iterative,
        "iterative_over_bare": iterative / bare,
        "dask1_jets_per_s": dask[1],
        "dask2_jets_per_s": dask[2],
        "dask2_over_dask1": dask[2] / dask[1],
    }
    print(json.dumps(result, indent=2))
    print(f"end-to-end iterative / bare onnxruntime = {iterative / bare:.2f} (target >= 0.70); "
          f"Dask 2 workers / 1 worker = {dask[2] / dask[1]:.2f} (target >= 1.6)")
    return 0
