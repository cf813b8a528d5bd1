"""The representation registry (Contract 2): how to build a model's input from jets.

Inference and training use only :func:`build_input`, :func:`config_class` and
:data:`REPRESENTATION_KINDS`, so a model card's ``{"kind": ..., "config": {...}}`` is
enough to feed the model exactly as in training.

=================  ==================  =============================================
kind               config class        output (float32)
=================  ==================  =============================================
``jet_image``      ImageConfig         ``(n_jets, npix, npix)``
``constituents``   ConstituentConfig   ``(n_jets, N, 4)`` (E, px, py, pz), zero padded
``jet_features``   FeatureConfig       ``(n_jets, len(features))``
``dijet_features`` FeatureConfig       ``(n_events, 2·len(features) + len(event_features))``
=================  ==================  =============================================

A new kind is one module plus one :func:`register` call; :data:`REPRESENTATION_KINDS` is a
live view of the registry, so it always lists every registered kind.

Example:
    >>> x = build_input("jet_image", {"npix": 40}, events.FatJet, constituents)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, KeysView, Mapping
from dataclasses import dataclass
from typing import Any

import awkward as ak
import numpy as np

from ..config import config_from_dict
from ..errors import ConfigError, InputDataError
from ._dask import any_dask, apply
from .constituent_arrays import ConstituentConfig, constituent_arrays
from .feature_config import FeatureConfig
from .features import _columns, _dijet_eager, _dijet_matrix, feature_matrix, jet_features
from .image_config import ImageConfig
from .images import jet_images

__all__ = ["REPRESENTATION_KINDS", "build_input", "config_class", "register"]

Builder = Callable[[Any, Any, Any], Any]


@dataclass(frozen=True)
class _Kind:
    config_class: type
    builder: Builder


_REGISTRY: dict[str, _Kind] = {}

#: names of the registered representation kinds: a read-only live view of the registry
#: (supports ``in``, ``len``, iteration; ``tuple(REPRESENTATION_KINDS)`` for a snapshot)
REPRESENTATION_KINDS: KeysView[str] = _REGISTRY.keys()


def register(kind: str, config_cls: type) -> Callable[[Builder], Builder]:
    """Decorator registering how to build a model input of a new representation kind.

    Registering an existing kind replaces it.

    Args:
        kind: the name model cards use (``representation.kind``).
        config_cls: the kind's frozen config dataclass; :func:`build_input` turns a card's
            dict into it with :func:`~coffea_anomaly.config.config_from_dict`.

    Returns:
        A decorator for ``builder(config, jets, constituents) -> float32 array`` (eager
        numpy, or lazy dask-awkward for dask-awkward inputs); it returns the builder unchanged.

    Example:
        >>> @register("jet_pt", PtConfig)  # doctest: +SKIP
        ... def _build_pt(config, jets, constituents):
        ...     return np.asarray(ak.to_numpy(ak.flatten(jets.pt, axis=None)), dtype=np.float32)
    """

    def decorate(builder: Builder) -> Builder:
        _REGISTRY[kind] = _Kind(config_cls, builder)
        return builder

    return decorate


def config_class(kind: str) -> type:
    """The config dataclass of a representation kind."""
    return _lookup(kind).config_class


def _lookup(kind: str) -> _Kind:
    try:
        return _REGISTRY[kind]
    except KeyError:
        raise ConfigError(
            f"unknown representation kind {kind!r}; known: {', '.join(_REGISTRY)}"
        ) from None


def build_input(kind: str, config: Mapping[str, Any] | Any, jets: Any, constituents: Any) -> Any:
    """Build a model's float32 input array.

    Args:
        kind: one of :data:`REPRESENTATION_KINDS`.
        config: the kind's config dataclass, or its dict form (as stored in a model card).
        jets: ``(n_jets,)`` or events × jets; for ``dijet_features`` events × 2 (the two
            selected jets of every event).
        constituents: aligned constituents, e.g. from ``fatjet_constituents``.

    Returns:
        A numpy float32 array (shapes in the module docstring); for dask-awkward input a
        lazy dask-awkward array with the same numbers after ``compute()``.

    Raises:
        ConfigError: unknown kind or invalid config.
        InputDataError: misaligned or incomplete inputs.
    """
    entry = _lookup(kind)
    if isinstance(config, Mapping):
        cfg = config_from_dict(entry.config_class, dict(config))
    elif isinstance(config, entry.config_class):
        cfg = config
    else:
        got = type(config).__name__
        raise ConfigError(f"{kind} needs a {entry.config_class.__name__} or a dict, not {got}")
    return entry.builder(cfg, jets, constituents)


def _as_float32(array: Any) -> Any:
    if any_dask(array):
        return array
    return np.ascontiguousarray(array, dtype=np.float32)


@register("jet_image", ImageConfig)
def _build_images(config: ImageConfig, jets: Any, constituents: Any) -> Any:
    return _as_float32(jet_images(jets, constituents, config))


@register("constituents", ConstituentConfig)
def _build_constituents(config: ConstituentConfig, jets: Any, constituents: Any) -> Any:
    return _as_float32(constituent_arrays(jets, constituents, config)[0])


@register("jet_features", FeatureConfig)
def _build_jet_features(config: FeatureConfig, jets: Any, constituents: Any) -> Any:
    features = jet_features(jets, constituents, config)
    return _as_float32(feature_matrix(features, config.features))


@register("dijet_features", FeatureConfig)
def _build_dijet_features(config: FeatureConfig, jets: Any, constituents: Any) -> Any:
    parts = _columns(jets, constituents, config)
    return _as_float32(apply(_dijet_rows, *parts, label="dijet-input", config=config))


def _dijet_rows(constituents: ak.Array, jets: ak.Array, config: FeatureConfig) -> np.ndarray:
    """One row per event; every event must hold exactly the two selected jets."""
    counts = np.asarray(ak.to_numpy(ak.num(jets, axis=1)))
    if (counts != 2).any():
        raise InputDataError(
            f"dijet_features needs exactly two jets per event; {int((counts != 2).sum())} "
            f"of {len(counts)} events have another number (select two jets first)"
        )
    return _dijet_matrix(_dijet_eager(constituents, jets, config), config)
