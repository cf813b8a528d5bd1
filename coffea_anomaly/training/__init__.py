"""Training stage of coffea-anomaly: model families (plug-ins), the loop, ONNX export.

PyTorch is an optional extra (``pip install 'coffea-anomaly[train]'``). Importing this
package never imports torch; the public names below are resolved lazily, and using one
that needs torch without it raises :class:`~coffea_anomaly.errors.MissingDependencyError`.
The torch-free parts (ROC/AUC, quantiles, data loading, configs, the family registry,
the pipeline for families that need no torch) work without it.
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
    "ModelSpec": "settings",
    "SampleSpec": "settings",
    "load_training_config": "settings",
    "load_inputs": "data",
    "Inputs": "data",
    "evaluate_model": "evaluate",
    "Evaluation": "evaluate",
    "plot_roc": "evaluate",
    "ModelFamily": "family",
    "ScoreOutput": "family",
    "FitData": "family",
    "register_family": "family",
    "get_family": "family",
    "family_names": "family",
    "FitResult": "history",
    "PhaseHistory": "history",
    "EarlyStopping": "stopping",
    "Decision": "stopping",
    "check_parity": "onnx_io",
    "save_onnx": "onnx_io",
    "train_from_config": "pipeline",
    "TrainingReport": "pipeline",
    # need torch
    "TorchFamily": "torch_family",
    "Phase": "torch_family",
    "Batch": "torch_family",
    "run_phases": "loop",
    "to_onnx": "export",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module = importlib.import_module(f".{_LAZY[name]}", __name__)
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
