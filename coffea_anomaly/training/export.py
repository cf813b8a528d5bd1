"""Export a torch model to an ONNX graph whose outputs are its named scores (Contract 3).

The exported graph takes ``x`` (float32, dynamic batch axis) and returns one output per
score name (``score`` for single-score families), so inference needs onnxruntime only.
Every export is checked with ``onnx.checker`` here and compared with torch on real inputs
by :func:`coffea_anomaly.training.onnx_io.check_parity`.

Importing this module needs torch (``pip install 'coffea-anomaly[train]'``).
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import onnx

from ..errors import ExportError
from ._torch import require_torch
from .onnx_io import INPUT_NAME

torch = require_torch()

__all__ = ["OPSET", "ScoreModule", "to_onnx"]

OPSET = 17


class ScoreModule(torch.nn.Module):  # type: ignore[misc,name-defined]
    """Wrap a model so that ``forward(x)`` returns the tuple of its named scores."""

    def __init__(self, model: Any, scores: Callable[[Any, Any], tuple[Any, ...]]) -> None:
        super().__init__()
        self.model = model
        self._scores = scores

    def forward(self, x: Any) -> Any:
        """Per-item scores, each of shape (batch,)."""
        return self._scores(self.model, x)


def _check_finite(model: Any) -> None:
    bad = [
        name
        for name, t in [*model.named_parameters(), *model.named_buffers()]
        if not bool(torch.isfinite(t).all())
    ]
    if bad:
        raise ExportError(f"refusing to export: non-finite values in {', '.join(bad)}")


def to_onnx(
    model: Any, scores: Callable[[Any, Any], tuple[Any, ...]], output_names: Sequence[str]
) -> onnx.ModelProto:
    """Convert ``model`` (in eval mode) to a checked ONNX graph ``x -> output_names``.

    Args:
        model: a ``torch.nn.Module`` with an ``item_shape`` attribute.
        scores: ``scores(model, x)`` -> one per-item tensor per output name, in order.
        output_names: the graph's output names (the card's score names).

    Raises:
        ExportError: non-finite weights, or the ONNX checker rejects the graph.
    """
    _check_finite(model)
    model.eval()
    wrapper = ScoreModule(model, scores).eval()
    example = torch.zeros((2, *model.item_shape), dtype=torch.float32)
    names = list(output_names)
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
            output_names=names,
            dynamic_axes={INPUT_NAME: {0: "batch"}, **{n: {0: "batch"} for n in names}},
            opset_version=OPSET,
        )
    proto = onnx.load_model_from_string(buf.getvalue())
    try:
        onnx.checker.check_model(proto, full_check=True)
    except onnx.checker.ValidationError as err:
        raise ExportError(f"exported ONNX graph is invalid: {err}") from err
    return proto
