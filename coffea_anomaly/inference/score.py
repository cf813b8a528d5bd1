"""`score()`: one call in a user's coffea processor to score fat jets or events.

Example:
    >>> from coffea_anomaly import score
    >>> def process(self, events):                                   # doctest: +SKIP
    ...     events["FatJet", "ae_score"] = score(events, "image_cnn_ae")
    ...     losses = score(dijet_events, ["quak_qcd.onnx", "quak_wprime.onnx"])
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np
import onnx

from ..errors import InputDataError
from .bundle import ModelBundle
from .onnx_model import OnnxModel

__all__ = ["as_scorer", "score"]


@functools.lru_cache(maxsize=32)
def _cached_model(
    path: str, stamp: tuple[int, int], options: tuple[tuple[str, Any], ...]
) -> OnnxModel:
    # keyed by modification time and size, so an overwritten file is read again
    return OnnxModel(path, **dict(options))


def _load(source: str | Path, options: Mapping[str, Any]) -> OnnxModel:
    path = Path(source)
    try:
        stat = path.stat()
    except OSError:
        return OnnxModel(source, **options)  # a shipped name, or a clear error
    frozen = tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in options.items()))
    try:
        return _cached_model(str(path.resolve()), (stat.st_mtime_ns, stat.st_size), frozen)
    except TypeError:  # an unhashable option: no caching
        return OnnxModel(source, **options)


def as_scorer(model: Any, **options: Any) -> OnnxModel | ModelBundle:
    """Turn what names a model into something callable on ``(jets, constituents)``.

    Args:
        model: an :class:`OnnxModel` or :class:`ModelBundle` (used as is); a path, bytes,
            ``onnx.ModelProto`` or shipped model name (one model); a list/tuple of those or
            a mapping ``{field: model}`` (a bundle).
        **options: :class:`OnnxModel` options (batch_size, intra_op_threads, ...) for
            models that are built here; models given ready-made keep their own.

    Raises:
        TypeError: ``options`` given with a ready-made model, or an unknown model type.
    """
    if isinstance(model, (OnnxModel, ModelBundle)):
        if options:
            raise TypeError(
                f"options {sorted(options)} apply to models given by path or name, "
                f"not to a ready-made {type(model).__name__}"
            )
        return model
    if isinstance(model, (str, Path)):
        return _load(model, options)
    if isinstance(model, (bytes, onnx.ModelProto)):
        return OnnxModel(model, **options)
    if isinstance(model, (list, tuple, Mapping)):
        if isinstance(model, Mapping):
            return ModelBundle({k: as_scorer(v, **options) for k, v in model.items()})
        return ModelBundle([as_scorer(m, **options) for m in model])
    raise TypeError(f"cannot score with a {type(model).__name__}; give a path or an OnnxModel")


def _fields(array: Any) -> list[str]:
    return list(getattr(array, "fields", []) or [])


def _event_jets(jets: Any, constituents: Any, collection: str, card: Any) -> tuple[Any, Any]:
    """The two jets of every event an event-level model scores: the pair its training
    selection defines (:func:`coffea_anomaly.selection.dijet_pair`; the two leading jets
    for cards that record no selection). The selection's cuts are not applied here."""
    from ..selection import DijetSelection, dijet_pair

    jets, constituents = dijet_pair(jets, constituents, card.trained_selection or DijetSelection())
    if isinstance(jets, ak.Array):
        short = int(ak.sum(ak.num(jets, axis=1) < 2))
        if short:
            raise InputDataError(
                f"{short} of {len(jets)} events have fewer than two {collection}; select "
                "events with two jets before scoring them with an event-level model"
            )
    return jets, constituents


def score(
    events_or_jets: Any,
    model: Any,
    *,
    constituents: Any = None,
    collection: str = "FatJet",
    **options: Any,
) -> Any:
    """Score fat jets (or events) with one model or a bundle of models.

    Args:
        events_or_jets: NanoEvents (``collection`` and its constituents are found
            there) or jets (events x jets, or flat), eager, virtual or dask-awkward.
        model: an :class:`OnnxModel`, a path, a shipped model name, or a list/mapping of
            those (a QUAK-style bundle).
        constituents: the jets' constituents. Optional for NanoEvents and for fat jets
            taken from NanoEvents (``events.FatJet[sel]``, sliced or masked as you like):
            they are found from the events' cross-references
            (``representations.constituents.fatjet_constituents`` /
            ``linked_constituents``). Required for plain awkward jets.
        collection: the jet collection to take from events.
        **options: :class:`OnnxModel` options (``batch_size``, ``intra_op_threads``, ...).

    Returns:
        For jet-level models, scores aligned with the jets (events x jets for events); for
        event-level models, one score per event, scored on the pair of jets the model's
        training selection takes (the two leading jets; the selection's cuts are the
        caller's, as the processors apply them). A model with several scores, or a
        bundle, gives a record with one field per model/score (``model`` or
        ``model.score``, as :meth:`ModelCard.score_keys` names them).

        Missing is missing: the result has awkward's option type (``?float32``), and a
        jet that cannot be scored gets **None**, never a made-up number: a jet with a
        non-finite ``pt, eta, phi`` or ``mass``, without stored constituents, or with a
        non-finite constituent (:func:`coffea_anomaly.selection.scorable_jets`). An
        event-level score is None when either jet of its pair is such a jet. Such
        jets never reach the representation or onnxruntime. Use ``ak.is_none``,
        ``ak.drop_none`` or ``ak.fill_none`` before filling histograms.

    Raises:
        MissingCollectionError: events without the jet collection or its constituents.
        InputDataError: jets whose constituents cannot be found (pass ``constituents=``).
        ModelCardError: the model has no valid card, or the data do not match it.
    """
    from ..selection import scorable_jets

    scorer = as_scorer(model, **options)
    data = events_or_jets
    if collection in _fields(data):
        jets = data[collection]
        if constituents is None:
            constituents = _events_constituents(data, collection)
    else:
        jets = data
        models = list(scorer) if isinstance(scorer, ModelBundle) else [scorer]
        if constituents is None and any(m.needs_constituents for m in models):
            from ..representations.constituents import linked_constituents

            constituents = linked_constituents(jets)
    if scorer.level == "event" and jets.ndim > 1:
        card = next(iter(scorer)).card if isinstance(scorer, ModelBundle) else scorer.card
        jets, constituents = _event_jets(jets, constituents, collection, card)
        good = ak.all(scorable_jets(jets, constituents), axis=1)
    else:
        good = scorable_jets(jets, constituents)
    picked = None if constituents is None else constituents[good]
    return _with_missing(scorer(jets[good], picked), good)


def _events_constituents(events: Any, collection: str) -> Any:
    if collection != "FatJet":
        raise InputDataError(
            f"constituents are found for FatJet only; pass constituents= for {collection}"
        )
    from ..representations.constituents import fatjet_constituents

    return fatjet_constituents(events)


def _with_missing(values: Any, good: Any) -> Any:
    """The scores of the ``good`` items put back at their places, None at the others."""
    from ..representations._dask import apply

    return apply(_with_missing_eager, values, good, label="scores-with-missing")


def _with_missing_eager(values: ak.Array, good: ak.Array) -> ak.Array:
    keep = np.asarray(ak.to_numpy(ak.flatten(good, axis=None)), dtype=bool)
    flat = values if good.ndim == 1 else ak.flatten(values, axis=1)
    index = np.full(len(keep), -1, dtype=np.int64)
    index[keep] = np.arange(int(keep.sum()), dtype=np.int64)
    layout = ak.contents.IndexedOptionArray.simplified(ak.index.Index64(index), ak.to_layout(flat))
    out = ak.Array(layout, behavior=values.behavior)
    return out if good.ndim == 1 else ak.unflatten(out, ak.num(good, axis=1))
