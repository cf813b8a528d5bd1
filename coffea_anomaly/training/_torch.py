"""The one place that imports torch: a clear error when the ``train`` extra is missing."""

from __future__ import annotations

import importlib
from types import ModuleType

from ..errors import MissingDependencyError

__all__ = ["require_torch"]


def require_torch() -> ModuleType:
    """Return the ``torch`` module, or raise :class:`MissingDependencyError` naming the extra.

    Raises:
        MissingDependencyError: torch is not installed (``pip install 'coffea-anomaly[train]'``).
    """
    try:
        return importlib.import_module("torch")
    except ImportError as err:
        raise MissingDependencyError("torch", "train") from err
