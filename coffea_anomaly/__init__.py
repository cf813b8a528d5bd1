"""coffea-anomaly: unsupervised anomaly detection for jets in coffea.

The pipeline, one subpackage per stage::

    generation -> representations -> inference -> histograms -> stats
                         ^
                      training  (beside the chain; reuses the representations)

Importing this package is cheap and never imports torch or pythia; public names are
resolved lazily from the submodule that defines them.
"""

from __future__ import annotations

import importlib
from typing import Any

from ._version import __version__

# public name -> submodule that defines it
_LAZY: dict[str, str] = {
    # errors
    "CoffeaAnomalyError": "errors",
    "MissingCollectionError": "errors",
    "ModelCardError": "errors",
    "ShapeMismatchError": "errors",
    "FitFailedError": "errors",
    # inference
    "ModelCard": "inference.card",
    "read_card": "inference.card",
    "write_card": "inference.card",
    "OnnxModel": "inference.onnx_model",
    "ModelBundle": "inference.bundle",
    "score": "inference.score",
    # nanoaod + representations
    "open_events": "nanoaod",
    "detect_convention": "nanoaod",
    "fatjet_constituents": "representations",
    "empty_jets": "representations",
    "ImageConfig": "representations",
    "jet_images": "representations",
    "jet_images_with_info": "representations",
    "ConstituentConfig": "representations",
    "constituent_arrays": "representations",
    "FeatureConfig": "representations",
    "jet_features": "representations",
    "dijet_features": "representations",
    "feature_matrix": "representations",
    "dijet_matrix": "representations",
    "build_input": "representations",
}

__all__ = ["__version__", *sorted(_LAZY)]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module = importlib.import_module(f".{_LAZY[name]}", __name__)
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
