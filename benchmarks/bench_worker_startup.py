"""Time to the first scored chunk on a fresh Dask worker process (cold imports included).

Each repeat starts a new ``distributed.LocalCluster(n_workers=1, processes=True)``, waits
until its worker is up (cluster start-up is not timed), then times one task from
``client.submit`` to its result: the worker unpickles an :class:`OnnxModel` (which imports
coffea-anomaly's inference code there for the first time), builds its onnxruntime session
and scores a small batch. A second, identical task on the same worker gives the warm cost,
so ``first - warm`` is what a cold worker pays before its first chunk.

Variants, each on its own fresh clusters:

* ``torch-free``: only what unpickling the model imports (the code as it is);
* ``coffea-ml-tools``: the worker first imports ``coffea.ml_tools``, which imports its
  torch/tensorflow wrappers: the import chain ``OnnxModel`` had while it inherited from
  coffea's ``numpy_call_wrapper`` (before issue 8);
* ``torch``: the worker first imports ``torch`` (a plain stand-in for the old cost).

    python -m benchmarks worker_startup [--repeats 3] [--batch 64] [--variants torch-free,torch]
"""

from __future__ import annotations

import argparse
import json
import logging
import pickle
import statistics
import sys
import time
from typing import Any

import numpy as np

__all__ = ["VARIANTS", "first_chunk", "main"]

#: variant name -> module the worker imports before it unpickles the model (None: nothing)
VARIANTS: dict[str, str | None] = {
    "torch-free": None,
    "coffea-ml-tools": "coffea.ml_tools",
    "torch": "torch",
}


def first_chunk(blob: bytes, x: np.ndarray, preimport: str | None) -> dict[str, Any]:
    """Worker task: [import ``preimport``], unpickle the model, score ``x``; times in s.

    Kept in a module that imports only numpy at the top, so unpickling this function on a
    worker imports nothing that the model would not import itself.
    """
    import importlib

    t0 = time.perf_counter()
    if preimport:
        importlib.import_module(preimport)
    t1 = time.perf_counter()
    model = pickle.loads(blob)
    t2 = time.perf_counter()
    scores = model.score_numpy(x)
    t3 = time.perf_counter()
    return {
        "preimport_s": t1 - t0,
        "unpickle_s": t2 - t1,
        "score_s": t3 - t2,
        "n_scored": len(next(iter(scores.values()))),
        "torch_loaded": "torch" in sys.modules,
    }


def _one_cluster(blob: bytes, x: np.ndarray, preimport: str | None) -> dict[str, Any]:
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=1,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster) as client,
    ):
        client.wait_for_workers(1)
        t0 = time.perf_counter()
        cold = client.submit(first_chunk, blob, x, preimport, pure=False).result()
        first = time.perf_counter() - t0
        t0 = time.perf_counter()
        client.submit(first_chunk, blob, x, preimport, pure=False).result()
        warm = time.perf_counter() - t0
    return {"first_result_s": first, "warm_result_s": warm, **cold}


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks worker_startup", description=__doc__.splitlines()[0]
    )
    ap.add_argument("--model", default="image_cnn_ae", help="shipped model name or path")
    ap.add_argument("--batch", type=int, default=64, help="items in the scored batch")
    ap.add_argument("--repeats", type=int, default=3, help="fresh clusters per variant")
    ap.add_argument(
        "--variants",
        default=",".join(VARIANTS),
        help=f"comma-separated, from {', '.join(VARIANTS)}",
    )
    args = ap.parse_args(argv)
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        print(f"unknown variants {unknown}; choose from {list(VARIANTS)}", file=sys.stderr)
        return 2

    from coffea_anomaly.inference import OnnxModel

    model = OnnxModel(args.model, intra_op_threads=1, inter_op_threads=1)
    shape = [d or 1 for d in model.card.input.shape[1:]]
    x = np.random.default_rng(1).random((args.batch, *shape), dtype=np.float32)
    blob = pickle.dumps(model)

    result: dict[str, Any] = {"model": model.name, "batch": args.batch, "variants": {}}
    for variant in variants:
        runs = [_one_cluster(blob, x, VARIANTS[variant]) for _ in range(args.repeats)]
        summary = {
            key: statistics.median(r[key] for r in runs)
            for key in ("first_result_s", "warm_result_s", "preimport_s", "unpickle_s", "score_s")
        }
        summary["torch_loaded"] = any(r["torch_loaded"] for r in runs)
        summary["first_result_s_all"] = [round(r["first_result_s"], 3) for r in runs]
        result["variants"][variant] = summary
    print(json.dumps(result, indent=2))
    for variant, s in result["variants"].items():
        print(
            f"{variant:16s} first result {s['first_result_s']:6.2f} s (median of {args.repeats}), "
            f"warm {s['warm_result_s']:5.3f} s, torch loaded: {s['torch_loaded']}"
        )
    return 0
