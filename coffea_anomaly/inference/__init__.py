"""Inference: the model card, ``OnnxModel`` and ``score()``; never imports torch.

- :mod:`.card` — the model card stored in ONNX metadata (Contract 3);
- :mod:`.numpy_call` — :class:`NumpyCallWrapper`, our torch-free stand-in for coffea's
  ``numpy_call_wrapper`` (same interface; coffea's imports torch);
- :mod:`.onnx_model` — :class:`OnnxModel`, onnxruntime on awkward, dask-awkward or numpy;
- :mod:`.bundle` — :class:`ModelBundle`, several models into one record of losses (QUAK);
- :mod:`.score` — :func:`score`, one call in a user's processor;
- :mod:`.describe` — the card as readable text (``coffea-anomaly inspect``).
"""

from __future__ import annotations

from .bundle import ModelBundle
from .card import ModelCard, RepresentationSpec, TensorSpec, read_card, write_card
from .onnx_model import OnnxModel
from .score import score

__all__ = [
    "ModelBundle",
    "ModelCard",
    "OnnxModel",
    "RepresentationSpec",
    "TensorSpec",
    "read_card",
    "score",
    "write_card",
]
