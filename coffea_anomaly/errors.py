"""The exceptions coffea-anomaly raises.

Every error the package raises on purpose derives from :class:`CoffeaAnomalyError`,
so the CLI can turn it into one clear line (``--debug`` shows the trace).
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "CoffeaAnomalyError",
    "ConfigError",
    "ExportError",
    "FitFailedError",
    "InputDataError",
    "MissingCollectionError",
    "MissingDependencyError",
    "ModelCardError",
    "ShapeMismatchError",
]


class CoffeaAnomalyError(Exception):
    """Base class of every error raised on purpose by coffea-anomaly."""


class ConfigError(CoffeaAnomalyError, ValueError):
    """A configuration value (YAML, CLI option, dataclass field) is invalid."""


class InputDataError(CoffeaAnomalyError):
    """An input file or array cannot be used (unreadable, truncated, empty, ...)."""


class MissingCollectionError(InputDataError, KeyError):
    """A NanoAOD collection or branch the computation needs is absent.

    Args:
        missing: names of what is missing.
        where: the file or object in which it was looked for.
        hint: an optional sentence on how to fix it.
    """

    def __init__(self, missing: str | list[str], where: str = "", hint: str = "") -> None:
        self.missing = [missing] if isinstance(missing, str) else list(missing)
        self.where = where
        self.hint = hint
        super().__init__(str(self))

    def __reduce__(self) -> tuple[Any, ...]:  # picklable across worker processes
        return (type(self), (self.missing, self.where, self.hint))

    def __str__(self) -> str:
        msg = "missing NanoAOD collection(s): " + ", ".join(self.missing)
        if self.where:
            msg += f" in {self.where}"
        if self.hint:
            msg += f" ({self.hint})"
        return msg


class ModelCardError(CoffeaAnomalyError):
    """An ONNX model has no model card, or its card is invalid or inconsistent."""


class ShapeMismatchError(ModelCardError, ValueError):
    """Input data do not match what the model card declares (both shapes are named)."""


class MissingDependencyError(CoffeaAnomalyError, ImportError):
    """An optional dependency is needed; the message says what to pip install."""

    def __init__(self, package: str, extra: str) -> None:
        self.package = package
        self.extra = extra
        super().__init__(
            f"{package} is required for this; install it with "
            f"pip install 'coffea-anomaly[{extra}]'"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.package, self.extra))


class ExportError(CoffeaAnomalyError, RuntimeError):
    """A trained model cannot be exported faithfully (non-finite weights, ONNX != torch)."""


class FitFailedError(CoffeaAnomalyError, RuntimeError):
    """A fit did not converge. The fit result is kept in :attr:`result` for inspection."""

    def __init__(self, message: str, result: Any = None) -> None:
        self.result = result
        super().__init__(message)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.args[0] if self.args else "", self.result))
