"""Training stage of coffea-anomaly: PyTorch autoencoders, training loop, ONNX export.

PyTorch is an optional extra (``pip install 'coffea-anomaly[train]'``). Importing this
package never imports torch; the public names below are resolved lazily, and using one
that needs torch without it raises :class:`~coffea_anomaly.errors.MissingDependencyError`.
The torch-free parts (ROC/AUC, quantiles, data loading, configs) work without it.
"""

from __future__ import annotations

import importlib
from typing import Any

# public name -> submodule that defines it
_LAZY: dict[str, str] = {
    # torch-free
    "roc_curve": "metrics",
    "roc_auc": "metrics",
    "score_quantiles": "metrics",
    "TrainingConfig": "settings",
    "LoopConfig": "settings",
    "SelectionConfig": "settings",
    "SampleSpec": "settings",
    "load_training_config": "settings",
    "load_inputs": "data",
    "select_fatjets": "data",
    "evaluate_model": "evaluate",
    "Evaluation": "evaluate",
    "plot_roc": "evaluate",
    "Inputs": "data",
    # need torch
    "Autoencoder": "models",
    "ImageCNNAutoencoder": "models",
    "DenseAutoencoder": "models",
    "build_model": "models",
    "ScoreModule": "export",
    "export_onnx": "export",
    "fit": "loop",
    "FitResult": "loop",
    "predict_scores": "loop",
    "check_parity": "export",
    "train_from_config": "pipeline",
    "TrainingReport": "pipeline",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module = importlib.import_module(f".{_LAZY[name]}", __name__)
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
