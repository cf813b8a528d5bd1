"""Model families as plug-ins: the protocol every family implements, and the registry.

A *family* (image CNN AE, dense AE, PCA, VAE, NAE, ...) is one module in
:mod:`coffea_anomaly.training.families` (or anywhere else) that subclasses
:class:`ModelFamily` (usually through :class:`~coffea_anomaly.training.torch_family.TorchFamily`)
and registers itself where it is defined::

    @register_family
    class MyFamily(TorchFamily):
        name = "my_ae"                       # the ``model.kind`` of training configs
        ...

The training pipeline, the loop, the exporter, the model card, ``evaluate`` and the CLI
only talk to this protocol: they never name a family. What a family says:

* how it is built from its config (:meth:`ModelFamily.build`, with ``model.params`` and
  its own training options, ``model.training`` in the YAML, read into ``options_class``);
* how it is fitted (:meth:`ModelFamily.fit`; torch families get the shared loop with
  named loss terms, a stopping rule and optional extra phases);
* its named score outputs and what each means (:meth:`ModelFamily.score_outputs`), how
  to compute them without ONNX (:meth:`ModelFamily.predict`) and its ONNX graph with one
  output per score (:meth:`ModelFamily.export`).

This module is torch-free. Built-in families are found by importing every public module
of :mod:`coffea_anomaly.training.families` on the first lookup; a family that needs a
missing extra is reported when it is asked for, not before.
"""

from __future__ import annotations

import abc
import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

import numpy as np

from ..errors import ConfigError, MissingDependencyError
from .history import FitResult

__all__ = [
    "FitData",
    "ModelFamily",
    "NoOptions",
    "ScoreOutput",
    "family_names",
    "get_family",
    "register_family",
]


@dataclass(frozen=True)
class ScoreOutput:
    """One named output of a family's exported graph: an anomaly score, or another output.

    Attributes:
        name: the ONNX output name and the card's score name (``score`` for a family
            with one score).
        meaning: what the number is and which direction is anomalous (card text).
        shape: per-item shape (``()``: one number per item).
        score: an anomaly score (histogrammed, evaluated, thresholded); False for other
            outputs (e.g. a latent mean for characterisation).
    """

    name: str
    meaning: str
    shape: tuple[int, ...] = ()
    score: bool = True


@dataclass(frozen=True)
class NoOptions:
    """A family without training options of its own."""


@dataclass
class FitData:
    """What a family trains on: the background split into training and validation parts.

    Attributes:
        x_train, x_val: model inputs (float32, first axis = items).
        w_train, w_val: per-item weights (None: unweighted).
        aux_train, aux_val: per-item auxiliary quantities that are not model inputs
            (``mass`` of a jet, ``mjj`` of an event), for families whose loss needs them.
        level: ``jet`` or ``event``.
    """

    x_train: np.ndarray
    x_val: np.ndarray
    w_train: np.ndarray | None = None
    w_val: np.ndarray | None = None
    aux_train: dict[str, np.ndarray] = field(default_factory=dict)
    aux_val: dict[str, np.ndarray] = field(default_factory=dict)
    level: str = "jet"

    @property
    def item_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])


class ModelFamily(abc.ABC):
    """The protocol of a model family (see the module docstring).

    Class attributes:
        name: the registry key, written as ``model.kind`` in training configs and cards.
        options_class: frozen dataclass of the family's training options (``model.training``
            in the config; :class:`NoOptions` when it has none).
    """

    name: ClassVar[str] = ""
    options_class: ClassVar[type] = NoOptions

    def options(self, data: dict[str, Any] | None) -> Any:
        """The family's training options from their config dict (unknown keys are errors)."""
        from ..config import config_from_dict

        return config_from_dict(self.options_class, data or {})

    @abc.abstractmethod
    def build(self, params: dict[str, Any], data: FitData, options: Any) -> Any:
        """A new, untrained model from ``model.params`` (seeded by the caller).

        Raises:
            ConfigError: invalid parameters, or the model's input shape does not match
                ``data.item_shape``.
        """

    @abc.abstractmethod
    def fit(self, model: Any, data: FitData, loop: Any, options: Any,
            progress: bool | None = None) -> FitResult:  # fmt: skip
        """Train ``model`` in place; ``loop`` is the :class:`LoopConfig`."""

    @abc.abstractmethod
    def score_outputs(self, model: Any, level: str) -> tuple[ScoreOutput, ...]:
        """The named outputs of the exported graph, in output order; among those with
        ``score=True``, the first is the default score."""

    @abc.abstractmethod
    def predict(self, model: Any, x: np.ndarray) -> dict[str, np.ndarray]:
        """Every score of ``x`` (float64, one per item), computed without ONNX."""

    @abc.abstractmethod
    def export(self, model: Any, examples: np.ndarray) -> tuple[Any, float]:
        """The checked ONNX graph ``x -> scores`` and its largest relative difference
        to :meth:`predict` on ``examples``.

        Raises:
            ExportError: the graph is invalid or does not reproduce :meth:`predict`.
        """

    def hyperparameters(self, model: Any) -> dict[str, Any]:
        """The model's constructor arguments as plain JSON (for the card)."""
        return {}


F = TypeVar("F", bound=type[ModelFamily])

_REGISTRY: dict[str, ModelFamily] = {}
#: built-in family modules that could not be imported: name -> the error to raise on use
_UNAVAILABLE: dict[str, MissingDependencyError] = {}
_DISCOVERED = False


def register_family(cls: F) -> F:
    """Class decorator: make a family known under its ``name``.

    Raises:
        ConfigError: no name, or another class already registered under it.
    """
    name = getattr(cls, "name", "")
    if not name:
        raise ConfigError(f"{cls.__name__} must set a family 'name'")
    known = _REGISTRY.get(name)
    if known is not None and type(known).__qualname__ != cls.__qualname__:
        raise ConfigError(f"two families are named {name!r}: {type(known).__name__} and {cls.__name__}")
    _REGISTRY[name] = cls()
    return cls


def _discover() -> None:
    """Import every public module of the built-in families package once."""
    global _DISCOVERED
    if _DISCOVERED:
        return
    _DISCOVERED = True
    from . import families

    for info in pkgutil.iter_modules(families.__path__):
        if info.name.startswith("_"):
            continue
        try:
            importlib.import_module(f"{families.__name__}.{info.name}")
        except MissingDependencyError as err:
            _UNAVAILABLE[info.name] = err


def get_family(name: str) -> ModelFamily:
    """The registered family ``name``.

    Raises:
        MissingDependencyError: the family's module needs an extra that is not installed.
        ConfigError: no family of that name.
    """
    _discover()
    if name in _REGISTRY:
        return _REGISTRY[name]
    if name in _UNAVAILABLE:
        raise _UNAVAILABLE[name]
    raise ConfigError(f"unknown model kind {name!r}; known: {', '.join(family_names())}")


def family_names() -> list[str]:
    """Names of every registered family (and built-in ones that need a missing extra)."""
    _discover()
    return sorted({*_REGISTRY, *_UNAVAILABLE})
