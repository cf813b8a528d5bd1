"""Training-step cost of the image CNNs in float32 vs ``loop.precision: bfloat16``.

Times full training steps (forward, MSE, backward, Adam) of a family's network on random
images, in the layout the loop uses (channels-last), first in float32 (the baseline), then
under CPU autocast to bfloat16, in the same process and on the same batches. Prints the
cost per jet and the ratio. The ratio depends on the CPU: ~2.4 on AVX512-BF16 (AMD Zen 4),
about 1 or worse where the CPU has no bfloat16 arithmetic.

``--family nae`` times one energy-phase iteration of the NAE instead (latent and pixel
chains, loss, update; the CPU recipe's 10 + 10 steps at batch 64 unless ``--batch``), the
float32 and bfloat16 iterations alternating so that both see the same machine load.

    python -m benchmarks bf16_training [--family farina_cnn_ae|image_cnn_ae|nae] [--batch 256] [--steps 3] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

__all__ = ["main", "nae_iteration_costs", "step_cost"]

#: family -> (module, class, input image size)
NETWORKS = {
    "farina_cnn_ae": ("coffea_anomaly.training.families.farina_cnn_ae", "FarinaCNNAutoencoder", 37),
    "image_cnn_ae": ("coffea_anomaly.training.families.image_cnn_ae", "ImageCNNAutoencoder", 40),
}


def step_cost(model: Any, x: Any, steps: int, bf16: bool) -> float:
    """Seconds per jet of a training step (one warm-up step, then ``steps`` timed)."""
    import torch

    opt = torch.optim.Adam(model.parameters(), 1e-3)
    target = model.target(x) if hasattr(model, "target") else x

    def step() -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = ((model(x).float() - target) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()

    step()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - t0) / (steps * x.shape[0])


def nae_iteration_costs(batch: int, steps: int) -> tuple[float, float]:
    """Seconds per NAE energy-phase iteration in float32 and in bfloat16 (``steps`` of each,
    alternating, after one warm-up of each), on unit-sum random 40x40 images."""
    import torch

    from coffea_anomaly.training.families._langevin import ReplayBuffer
    from coffea_anomaly.training.families.nae import NAEFamily, NAENetwork, _Sampler
    from coffea_anomaly.training.torch_family import Batch

    family = NAEFamily()
    o = family.options({"batch_size": batch, "z_steps": 10, "x_steps": 10, "learning_rate": 1e-4})
    model = NAENetwork().to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), lr=o.learning_rate)
    sampler = _Sampler(ReplayBuffer(o.buffer_size, model.latent_dim, o.replay_prob), torch.Generator().manual_seed(1))
    x = torch.rand(batch, 40, 40, generator=torch.Generator().manual_seed(0))
    data = Batch(x / x.sum(dim=(1, 2), keepdim=True), torch.ones(batch), {})
    cost = {False: 0.0, True: 0.0}
    for i in range(steps + 1):
        for bf16 in (False, True):
            t0 = time.perf_counter()
            family.energy_step(model, opt, data, o, sampler, e0=1e-5, low_precision=bf16)
            if i:  # the first of each is the warm-up
                cost[bf16] += (time.perf_counter() - t0) / steps
    return cost[False], cost[True]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks bf16_training", description=__doc__.splitlines()[0])
    ap.add_argument("--family", choices=[*sorted(NETWORKS), "nae"], default="farina_cnn_ae")
    ap.add_argument("--batch", type=int, default=None, help="images per step (256; nae: 64)")
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    if args.steps < 1 or (args.batch is not None and args.batch < 1):
        ap.error("--steps and --batch must be >= 1")

    import importlib

    import torch

    torch.set_num_threads(args.threads)
    if args.family == "nae":
        fp32, bf16 = nae_iteration_costs(args.batch or 64, args.steps)
        print(json.dumps({"family": "nae", "threads": args.threads, "batch": args.batch or 64,
                          "float32_s_per_iteration": round(fp32, 3), "bfloat16_s_per_iteration": round(bf16, 3),
                          "speed_ratio": round(fp32 / bf16, 2)}))  # fmt: skip
        return 0
    args.batch = args.batch or 256
    module, cls, npix = NETWORKS[args.family]
    torch.manual_seed(0)
    model = getattr(importlib.import_module(module), cls)().to(memory_format=torch.channels_last)
    x = torch.rand(args.batch, npix, npix)
    fp32 = step_cost(model, x, args.steps, bf16=False)
    bf16 = step_cost(model, x, args.steps, bf16=True)
    result = {"family": args.family, "threads": args.threads, "batch": args.batch,
              "float32_ms_per_jet": round(fp32 * 1e3, 3), "bfloat16_ms_per_jet": round(bf16 * 1e3, 3),
              "speed_ratio": round(fp32 / bf16, 2)}  # fmt: skip
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
