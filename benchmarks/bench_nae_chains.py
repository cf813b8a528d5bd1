"""NAE energy-phase iteration: operations, host syncs and time, weights cached in the chains or not.

Inside the Langevin chains the weights are frozen, so each spectrally normalised weight is
built once for both chains (``parametrize.cached()``); the baseline, in the same process,
rebuilds it at every step (``cached`` replaced by a null context). Counts come from
``torch.profiler`` (operations dispatched from Python, ``aten::item`` calls = host syncs);
times alternate the two. On a CPU the arithmetic dominates and the times agree; on a GPU an
iteration of this small network is bound by launching operations, which is what the counts
measure -- run it there with ``--device cuda``::

    python -m benchmarks nae_chains [--batch 128] [--steps 30] [--iterations 1] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import time
from typing import Any

__all__ = ["iteration_profile", "main"]


def iteration_profile(batch: int, steps: int, iterations: int, device: str) -> dict[str, dict[str, float]]:
    """Per NAE iteration (``steps`` + ``steps`` chain steps, unit-sum random 40x40 images):
    dispatched operations, host syncs and seconds, with the chains' weights cached and not."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    from coffea_anomaly.training.families import nae as nae_module
    from coffea_anomaly.training.families._langevin import ReplayBuffer
    from coffea_anomaly.training.families.nae import NAEFamily, NAENetwork, _Sampler
    from coffea_anomaly.training.torch_family import Batch

    family = NAEFamily()
    o = family.options({"batch_size": batch, "z_steps": steps, "x_steps": steps, "learning_rate": 1e-4})
    x = torch.rand(batch, 40, 40, generator=torch.Generator().manual_seed(0))
    data = Batch((x / x.sum(dim=(1, 2), keepdim=True)).to(device), torch.ones(batch, device=device), {})
    cached = nae_module.parametrize.cached
    setups = {}
    for mode in ("cached", "baseline"):
        torch.manual_seed(0)
        model = NAENetwork().to(device)
        opt = torch.optim.Adam(model.parameters(), lr=o.learning_rate)
        sampler = _Sampler(ReplayBuffer(o.buffer_size, model.latent_dim, o.replay_prob), torch.Generator().manual_seed(1))
        setups[mode] = (model, opt, sampler)

    def step(mode: str) -> None:
        model, opt, sampler = setups[mode]
        nae_module.parametrize.cached = cached if mode == "cached" else contextlib.nullcontext  # type: ignore[assignment]
        try:
            family.energy_step(model, opt, data, o, sampler, e0=1e-5)
            if device == "cuda":
                torch.cuda.synchronize()
        finally:
            nae_module.parametrize.cached = cached  # type: ignore[assignment]

    out: dict[str, dict[str, float]] = {}
    for mode in setups:
        step(mode)  # warm-up
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            step(mode)
        ops = sum(1 for e in prof.events() if e.name.startswith("aten::") and e.cpu_parent is None)
        syncs = sum(1 for e in prof.events() if e.name == "aten::item")
        out[mode] = {"ops": ops, "syncs": syncs, "s_per_iteration": 0.0}
    for _ in range(iterations):
        for mode in setups:
            t0 = time.perf_counter()
            step(mode)
            out[mode]["s_per_iteration"] += (time.perf_counter() - t0) / iterations
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks nae_chains", description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=128, help="chains per iteration (Table 1: 128)")
    ap.add_argument("--steps", type=int, default=30, help="latent and pixel chain steps each (Table 1: 30)")
    ap.add_argument("--iterations", type=int, default=1, help="timed iterations of each")
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    if min(args.batch, args.steps, args.iterations, args.threads) < 1:
        ap.error("--batch, --steps, --iterations and --threads must be >= 1")

    import torch

    if args.device == "cuda" and not torch.cuda.is_available():
        ap.error("--device cuda: torch sees no CUDA device")
    torch.set_num_threads(args.threads)
    res = iteration_profile(args.batch, args.steps, args.iterations, args.device)
    c, b = res["cached"], res["baseline"]
    result: dict[str, Any] = {"device": args.device, "batch": args.batch, "steps": args.steps, **{
        f"{mode}_{k}": round(v, 4) if isinstance(v, float) else v for mode, r in res.items() for k, v in r.items()},
        "ops_ratio": round(b["ops"] / c["ops"], 2), "time_ratio": round(b["s_per_iteration"] / c["s_per_iteration"], 2)}
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
