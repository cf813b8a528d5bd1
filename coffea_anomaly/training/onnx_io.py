"""Torch-free ONNX helpers of training: run a bare graph, check its parity, save it with its card.

Every exported model, whatever fitted it (torch, or numpy for closed-form families), is
compared on real inputs with the scores computed without ONNX, at 1e-5 relative tolerance
(:func:`check_parity`), before it is written (:func:`save_onnx`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx

from ..errors import ExportError
from ..fileio import atomic_path

__all__ = ["INPUT_NAME", "PARITY_RTOL", "check_parity", "parity_error", "run_graph", "save_onnx"]

INPUT_NAME = "x"
#: relative tolerance of the ONNX-vs-reference comparison done at every export
PARITY_RTOL = 1e-5


def run_graph(proto: onnx.ModelProto, x: np.ndarray) -> dict[str, np.ndarray]:
    """Every output of the bare exported graph (no card yet), one CPU thread."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    session = ort.InferenceSession(proto.SerializeToString(), opts,
                                   providers=["CPUExecutionProvider"])  # fmt: skip
    names = [o.name for o in session.get_outputs()]
    parts = [session.run(names, {INPUT_NAME: x[i : i + 1024]}) for i in range(0, len(x), 1024)]
    return {n: np.concatenate([np.asarray(p[j]) for p in parts]) for j, n in enumerate(names)}


def parity_error(got: np.ndarray, want: np.ndarray, floor: float | None = None) -> float:
    """Largest difference of two score arrays, relative to ``max(|want|, floor)``.

    ``floor`` defaults to the median of ``|want|``.

    Plain relative difference for every item scoring at or above the median; below it,
    relative to the median. A well-reconstructed jet's score is a small difference of
    two float32 images, so float32 itself (torch float32 against torch float64) is only
    good to ~1e-5 relative there; measuring those items against the median score keeps
    the 1e-5 check meaningful (export bugs give O(1) differences) without failing on
    rounding.
    """
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    if floor is None:
        floor = float(np.median(np.abs(want)))
    scale = np.maximum(np.abs(want), floor)
    return float(np.max(np.abs(got - want) / np.maximum(scale, 1e-30)))


def check_parity(
    proto: onnx.ModelProto,
    reference: dict[str, np.ndarray],
    x: np.ndarray,
    rtol: float = PARITY_RTOL,
) -> float:
    """Compare every ONNX output with the reference scores of ``x`` (all items together,
    and the first items one by one).

    Args:
        proto: the exported graph.
        reference: score name -> the scores computed without ONNX (torch, numpy).
        x: the inputs the reference was computed on.
        rtol: relative tolerance (:func:`parity_error`).

    Returns:
        the largest difference seen over all outputs.

    Raises:
        ExportError: a score is not finite, an output is missing, or ONNX and the
            reference differ by more than ``rtol``.
    """
    x = np.ascontiguousarray(x, dtype=np.float32)
    if x.ndim < 1 or x.shape[0] == 0:
        raise ExportError("parity check needs at least one input item")
    got_batch = run_graph(proto, x)
    singles = [run_graph(proto, x[i : i + 1]) for i in range(min(len(x), 4))]
    worst = 0.0
    for name, ref in reference.items():
        ref = np.asarray(ref)
        if not np.all(np.isfinite(ref)):
            raise ExportError(f"refusing to export: score {name!r} is not finite on its inputs")
        got = got_batch.get(name)
        if got is None or got.shape != ref.shape or not np.all(np.isfinite(got)):
            shape = None if got is None else got.shape
            raise ExportError(f"ONNX output {name!r} has shape {shape}, reference {ref.shape}, or is NaN")
        worst = max(worst, parity_error(got, ref))
        # batch of one: the same items alone, measured with the floor of the whole set
        single = np.concatenate([s[name] for s in singles])
        floor = float(np.median(np.abs(ref)))
        worst = max(worst, parity_error(single, ref[: len(single)], floor))
    if worst > rtol:
        raise ExportError(f"ONNX and reference scores differ by {worst:.3g} relative (> {rtol:g})")
    return worst


def save_onnx(proto: onnx.ModelProto, path: str | Path, card: Any = None) -> onnx.ModelProto:
    """Store ``card`` (checked against the graph) in ``proto`` and write it atomically."""
    if card is not None:
        from ..inference.card import write_card

        write_card(proto, card)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        onnx.save_model(proto, str(tmp))
    return proto
