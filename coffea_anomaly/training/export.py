"""Export a trained autoencoder to ONNX whose graph outputs the anomaly score (Contract 3).

The exported graph takes ``x`` (float32, dynamic batch axis) and returns ``score``, the
per-item reconstruction MSE, so inference needs onnxruntime only. Every export is
checked with ``onnx.checker`` and compared with torch on real inputs (batch of one and
a larger batch) at 1e-5 relative tolerance; the model card is stored in the metadata.

Importing this module needs torch (``pip install 'coffea-anomaly[train]'``).
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from ..errors import ExportError
from ._torch import require_torch
from .models import Autoencoder

torch = require_torch()

__all__ = [
    "INPUT_NAME",
    "OUTPUT_NAME",
    "PARITY_RTOL",
    "ScoreModule",
    "check_parity",
    "parity_error",
    "export_onnx",
    "save_onnx",
    "to_onnx",
]

INPUT_NAME = "x"
OUTPUT_NAME = "score"
#: relative tolerance of the ONNX-vs-torch comparison done at every export
PARITY_RTOL = 1e-5
OPSET = 17


class ScoreModule(torch.nn.Module):  # type: ignore[misc,name-defined]
    """Wrap an :class:`Autoencoder` so that ``forward(x)`` returns its per-item score."""

    def __init__(self, model: Autoencoder) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: Any) -> Any:
        """Per-item reconstruction MSE, shape (batch,)."""
        return self.model.score(x)


def _check_finite(model: Autoencoder) -> None:
    bad = [
        name
        for name, t in [*model.named_parameters(), *model.named_buffers()]
        if not bool(torch.isfinite(t).all())
    ]
    if bad:
        raise ExportError(f"refusing to export: non-finite values in {', '.join(bad)}")


def to_onnx(model: Autoencoder) -> onnx.ModelProto:
    """Convert ``model`` (in eval mode) to a checked ONNX model ``x -> score``.

    Raises:
        ExportError: non-finite weights, or the ONNX checker rejects the graph.
    """
    _check_finite(model)
    model.eval()
    wrapper = ScoreModule(model).eval()
    example = torch.zeros((2, *model.item_shape), dtype=torch.float32)
    buf = io.BytesIO()
    with warnings.catch_warnings():
        # the TorchScript-based exporter (dynamo=False; the dynamo one needs onnxscript)
        # announces its own deprecation; the exported graph is checked below
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=UserWarning, module=r"torch\.")
        torch.onnx.export(
            wrapper,
            (example,),
            buf,
            dynamo=False,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
            opset_version=OPSET,
        )
    proto = onnx.load_model_from_string(buf.getvalue())
    try:
        onnx.checker.check_model(proto, full_check=True)
    except onnx.checker.ValidationError as err:
        raise ExportError(f"exported ONNX graph is invalid: {err}") from err
    return proto


def _run_bare(proto: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    """Scores from the bare exported graph (no card yet), one CPU thread."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    session = ort.InferenceSession(proto.SerializeToString(), opts,
                                   providers=["CPUExecutionProvider"])  # fmt: skip
    return np.concatenate([
        np.asarray(session.run([OUTPUT_NAME], {INPUT_NAME: x[i : i + 1024]})[0])
        for i in range(0, len(x), 1024)
    ])  # fmt: skip


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
    model: Autoencoder, proto: onnx.ModelProto, x: np.ndarray, rtol: float = PARITY_RTOL
) -> float:
    """Compare ONNX and torch scores on ``x`` (all together and the first items alone).

    Returns:
        the largest difference seen, as :func:`parity_error` measures it.

    Raises:
        ExportError: a score is not finite, or ONNX and torch differ by more than ``rtol``.
    """
    x = np.ascontiguousarray(x, dtype=np.float32)
    if x.ndim < 1 or x.shape[0] == 0:
        raise ExportError("parity check needs at least one input item")
    model.eval()
    with torch.no_grad():
        ref = model.score(torch.from_numpy(x)).numpy()
    if not np.all(np.isfinite(ref)):
        raise ExportError("refusing to export: the model gives non-finite scores on its inputs")
    got_batch = _run_bare(proto, x)
    got_single = np.concatenate([_run_bare(proto, x[i : i + 1]) for i in range(min(len(x), 4))])
    if got_batch.shape != ref.shape or not np.all(np.isfinite(got_batch)):
        raise ExportError(f"ONNX scores have shape {got_batch.shape}, torch {ref.shape}, or are NaN")
    worst = parity_error(got_batch, ref)
    # batch of one: the same items alone, measured with the floor of the whole set
    floor = float(np.median(np.abs(ref)))
    worst = max(worst, parity_error(got_single, ref[: len(got_single)], floor))
    if worst > rtol:
        raise ExportError(f"ONNX and torch scores differ by {worst:.3g} relative (> {rtol:g})")
    return worst


def export_onnx(
    model: Autoencoder,
    path: str | Path,
    examples: np.ndarray,
    card: Any = None,
    rtol: float = PARITY_RTOL,
) -> onnx.ModelProto:
    """Export ``model`` to ``path`` after checking it, with ``card`` in its metadata.

    Args:
        model: the trained autoencoder.
        path: where to write the ``.onnx`` file (written to ``path.part``, then renamed).
        examples: real inputs (a few dozen) for the ONNX-vs-torch comparison.
        card: the model card (a ``ModelCard`` of :mod:`coffea_anomaly.inference.card`).
        rtol: relative tolerance of the comparison.

    Returns:
        the ONNX model as written.

    Raises:
        ExportError: non-finite weights or scores, invalid graph, or a parity failure.
    """
    proto = to_onnx(model)
    check_parity(model, proto, examples, rtol=rtol)
    return save_onnx(proto, path, card)


def save_onnx(proto: onnx.ModelProto, path: str | Path, card: Any = None) -> onnx.ModelProto:
    """Store ``card`` (checked against the graph) in ``proto`` and write it atomically."""
    if card is not None:
        from ..inference.card import write_card

        write_card(proto, card)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    onnx.save_model(proto, str(tmp))
    tmp.replace(path)
    return proto
