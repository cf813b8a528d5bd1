"""The training loop shared by every torch family: phases, named loss terms, stopping rules.

For each phase of the family (:meth:`TorchFamily.phases`): a fresh optimiser, seeded
shuffled minibatches, the family's :meth:`~TorchFamily.train_step` on each, the
validation terms after each epoch, and the family's stopping rule deciding which epoch's
weights to keep and when to stop. Every loss term is logged per epoch, for training and
validation. The loop never names a family.

Importing this module needs torch (``pip install 'coffea-anomaly[train]'``).
"""

from __future__ import annotations

import copy
import math
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from ..errors import InputDataError
from ._torch import require_torch, training_device
from .family import FitData
from .history import FitResult, PhaseHistory
from .settings import LoopConfig
from .torch_family import Batch, Phase, TorchFamily

torch = require_torch()

__all__ = ["fit_tensors", "placed", "run_phases", "seed_everything", "to_device"]


def seed_everything(seed: int) -> None:
    """Seed torch and numpy's legacy global generator (our own code passes explicit RNGs)."""
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)


def _tensor(x: np.ndarray, what: str) -> Any:
    arr = np.ascontiguousarray(x, dtype=np.float32)
    if arr.shape[0] == 0:
        raise InputDataError(f"the {what} sample is empty")
    if not np.all(np.isfinite(arr)):
        raise InputDataError(f"the {what} sample contains NaN or infinite values")
    return torch.from_numpy(arr)


def _weights(w: np.ndarray | None, n: int) -> Any:
    if w is None:
        return torch.ones(n)
    t = torch.as_tensor(np.asarray(w, dtype=np.float32))
    if t.shape != (n,) or not bool(torch.isfinite(t).all()) or bool((t < 0).any()):
        raise InputDataError(f"weights must be {n} finite non-negative numbers")
    return t / t.mean()


def _aux(aux: dict[str, np.ndarray], n: int) -> dict[str, Any]:
    return {k: torch.as_tensor(np.asarray(v, dtype=np.float32)) for k, v in aux.items() if len(v) == n}


def run_phases(
    family: TorchFamily,
    model: Any,
    data: FitData,
    loop: LoopConfig,
    options: Any = None,
    progress: bool | None = None,
) -> FitResult:
    """Train ``model`` in place through every phase of ``family``.

    After each phase the weights of the epoch its stopping rule kept are restored.

    Args:
        family: the model's family (loss terms, phases, stopping rule, step).
        model: the module, built by ``family.build``.
        data: training and validation inputs, weights and auxiliary quantities.
        loop: epochs, batch size, learning rate, patience, seed, time limit, threads.
        options: the family's own training options.
        progress: show a tqdm bar on stderr (default: when stderr is a terminal).

    Raises:
        InputDataError: empty or non-finite inputs, or a phase whose validation loss was
            never finite.
    """
    seed_everything(loop.seed)
    torch.set_num_threads(loop.threads)
    device = training_device(loop.device)
    train, val = to_device(device, *fit_tensors(data))
    gen = torch.Generator().manual_seed(loop.seed)  # on the CPU whatever the device
    show = sys.stderr.isatty() if progress is None else progress
    result = FitResult()
    start = time.monotonic()
    with placed(model, device):
        for phase in family.phases(loop, options):
            hist = _run_phase(family, model, phase, loop, options, train, val, gen, show, start)
            result.phases.append(hist)
            if hist.stop_reason == "max_time":
                break
    return result


def fit_tensors(data: FitData) -> tuple[tuple[Any, Any, dict[str, Any]], tuple[Any, Any, dict[str, Any]]]:
    """``((x, w, aux) of training, (x, w, aux) of validation)`` as CPU tensors, checked
    (non-empty, finite inputs; finite non-negative weights, normalised to mean one)."""
    xt, xv = _tensor(data.x_train, "training"), _tensor(data.x_val, "validation")
    wt, wv = _weights(data.w_train, xt.shape[0]), _weights(data.w_val, xv.shape[0])
    at, av = _aux(data.aux_train, xt.shape[0]), _aux(data.aux_val, xv.shape[0])
    return (xt, wt, at), (xv, wv, av)


def to_device(device: Any, *parts: tuple[Any, Any, dict[str, Any]]) -> tuple[Any, ...]:
    """Each ``(x, w, aux)`` of :func:`fit_tensors` moved to ``device``; a no-op on the CPU."""
    return tuple((x.to(device), w.to(device), {k: v.to(device) for k, v in aux.items()}) for x, w, aux in parts)


@contextmanager
def placed(model: Any, device: Any) -> Iterator[None]:
    """Train ``model`` on ``device`` inside the block; afterwards it is back on the CPU (the
    export and the card's metrics run there), in the default layout and in eval mode.
    Convolutional models train channels-last (~1.5x faster on CPU; values unchanged)."""
    convolutional = any(isinstance(m, torch.nn.Conv2d) for m in model.modules())
    model.to(device)
    if convolutional:
        model.to(memory_format=torch.channels_last)
    try:
        yield
    finally:
        if convolutional:
            model.to(memory_format=torch.contiguous_format)
        model.to("cpu")
        model.eval()


def _run_phase(
    family: TorchFamily,
    model: Any,
    phase: Phase,
    loop: LoopConfig,
    options: Any,
    train: tuple[Any, Any, dict[str, Any]],
    val: tuple[Any, Any, dict[str, Any]],
    gen: Any,
    show: bool,
    start: float,
) -> PhaseHistory:
    xt, wt, at = train
    xv, wv, av = val
    loss = phase.loss or family.loss_terms
    epochs = phase.epochs or loop.epochs
    eval_batch = max(loop.batch_size, 1024)
    opt = family.optimizer(model, phase.learning_rate or loop.learning_rate, loop, options)
    rule = family.stopping(phase, loop, options)
    hist = PhaseHistory(phase.name)
    low_precision = loop.precision == "bfloat16"  # training steps only; validation in float32
    hist.initial_val = family.validate(model, xv, wv, av, loss, eval_batch)
    best_state = copy.deepcopy(model.state_dict())
    t0 = time.monotonic()
    bar = tqdm(total=epochs, desc=f"{family.name} {phase.name}", unit="epoch",
               disable=not show, file=sys.stderr)  # fmt: skip
    try:
        for epoch in range(1, epochs + 1):
            model.train()
            order = torch.randperm(xt.shape[0], generator=gen).to(xt.device)
            sums: dict[str, float] = {}
            total_w = 0.0
            # minibatches of a long epoch (e.g. 100 000 images on a CPU): a transient inner bar
            batches = tqdm(range(0, xt.shape[0], loop.batch_size), desc=f"epoch {epoch}", unit="batch",
                           leave=False, disable=not show or xt.shape[0] < 50 * loop.batch_size,
                           file=sys.stderr)  # fmt: skip
            for i in batches:
                idx = order[i : i + loop.batch_size]
                w = wt[idx]
                batch = Batch(xt[idx], w, {k: v[idx] for k, v in at.items()})
                bw = float(w.sum())
                with torch.autocast(xt.device.type, dtype=torch.bfloat16, enabled=low_precision):
                    step_terms = family.train_step(model, opt, batch, loss, options)
                for k, v in step_terms.items():
                    sums[k] = sums.get(k, 0.0) + v * bw
                total_w += bw
            for k, s in sums.items():
                hist.train.setdefault(k, []).append(s / total_w)
            terms = family.validate(model, xv, wv, av, loss, eval_batch)
            for k, v in terms.items():
                hist.val.setdefault(k, []).append(v)
            hist.epochs_run = epoch
            if not math.isfinite(terms["loss"]):
                hist.stop_reason = "non_finite_loss"
                break
            decision = rule.update(epoch, terms)
            if decision.best:
                hist.best_epoch = epoch
                best_state = copy.deepcopy(model.state_dict())
            bar.set_postfix(train=f"{hist.train['loss'][-1]:.4g}", val=f"{terms['loss']:.4g}",
                            best=hist.best_epoch)  # fmt: skip
            bar.update(1)
            if decision.stop:
                hist.stop_reason = decision.reason or "stopped"
                break
            if loop.max_time_s is not None and time.monotonic() - start > loop.max_time_s:
                hist.stop_reason = "max_time"
                break
    finally:
        bar.close()
    if hist.best_epoch == 0:
        raise InputDataError(f"training diverged in phase {phase.name!r}: no epoch was kept")
    model.load_state_dict(best_state)
    hist.wall_s = time.monotonic() - t0
    return hist
