"""The one place that imports torch: a clear error when the ``train`` extra is missing."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from ..errors import ConfigError, MissingDependencyError

__all__ = ["require_torch", "training_device"]


def require_torch() -> ModuleType:
    """Return the ``torch`` module, or raise :class:`MissingDependencyError` naming the extra.

    Raises:
        MissingDependencyError: torch is not installed (``pip install 'coffea-anomaly[train]'``).
    """
    try:
        return importlib.import_module("torch")
    except ImportError as err:
        raise MissingDependencyError("torch", "train") from err


def training_device(name: str) -> Any:
    """The ``torch.device`` of a loop's ``device`` setting (``cpu``, ``cuda`` or ``auto``).

    Raises:
        ConfigError: ``cuda`` asked for where torch sees no CUDA device (e.g. the CPU build).
    """
    torch = require_torch()
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device: cuda, but torch sees no CUDA device (CPU build or no GPU); use cpu or auto")
    return torch.device(name)
