"""Pieces both processors share: weights, dataset names, models, selections, score axes, cutflows."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import awkward as ak

from coffea_anomaly.errors import ConfigError, MissingCollectionError
from coffea_anomaly.histograms import score_axis
from coffea_anomaly.selection import Selection, looser_than, selection_from_dict

__all__ = [
    "choose_selection",
    "count",
    "dataset_name",
    "event_weight",
    "load_models",
    "model_score_axis",
    "model_scores",
    "require_fields",
]


def dataset_name(events: Any) -> str:
    """The dataset name coffea attaches to the events (Runner and apply_to_fileset)."""
    meta = getattr(events, "metadata", None) or {}
    return str(meta.get("dataset", "unknown"))


def event_weight(events: Any) -> Any:
    """Per-event weight: ``genWeight`` when the file has it (simulation), else 1."""
    if "genWeight" in events.fields:
        return events.genWeight
    return ak.ones_like(events.run, dtype="float64") if "run" in events.fields else None


def count(mask_or_array: Any, axis: int | None = None) -> Any:
    """Number of true entries (eager: an int; dask: a lazy scalar)."""
    return ak.sum(mask_or_array, axis=axis)


def require_fields(events: Any, *names: str, where: str = "events") -> None:
    """Raise MissingCollectionError naming every absent top-level collection."""
    missing = [n for n in names if n not in events.fields]
    if missing:
        raise MissingCollectionError(missing, where=where)


def load_models(models: Sequence[Any] | Mapping[str, Any], **options: Any) -> dict[str, Any]:
    """Resolve model specs (paths, shipped names or OnnxModel objects) to OnnxModel by name.

    ``options`` (batch_size, intra_op_threads, ...) go to every OnnxModel built here.
    """
    from coffea_anomaly.inference import OnnxModel

    items = models.items() if isinstance(models, Mapping) else ((None, m) for m in models)
    out: dict[str, Any] = {}
    for key, spec in items:
        model = spec if isinstance(spec, OnnxModel) else OnnxModel(spec, **options)
        name = key or model.card.name
        if name in out:
            raise ValueError(f"two models are named {name!r}; pass a mapping name -> model")
        out[name] = model
    return out


def model_scores(name: str, model: Any, jets: Any, constituents: Any) -> dict[str, tuple[str, Any]]:
    """All scores of one model: ``{key: (score name, array)}``, keys as
    :meth:`~coffea_anomaly.inference.card.ModelCard.score_keys` names them."""
    result = model(jets, constituents)
    keys = model.card.score_keys(name)
    if len(keys) == 1:
        ((key, score),) = keys.items()
        return {key: (score, result[score] if _is_record(result) else result)}
    return {key: (score, result[score]) for key, score in keys.items()}


def model_score_axis(model: Any, score: str, name: str = "score", max_bins: int | None = None) -> Any:
    """The score axis of one model's score: its card's training-background quantile edges."""
    quant = (model.card.background_quantiles or {}).get(score)
    if quant:
        return score_axis(name, quantiles=quant["q"], values=quant["value"], max_bins=max_bins)
    return score_axis(name, max_bins=max_bins)


def choose_selection(
    models: dict[str, Any], given: Selection | Mapping[str, Any] | None, fallback: Selection
) -> tuple[Selection, list[str]]:
    """The selection a processor runs with, and its warnings (each said once, in the summary).

    ``given`` None: the selection the models were trained with (their cards; ``fallback``
    when no card records one). A mapping: those options replace the trained selection's
    (e.g. ``{"mjj_min": 1500}``). A selection: used as it is. A selection that keeps
    jets or events a model never saw in training gives one warning per model.
    """
    trained = {n: m.card.trained_selection for n, m in models.items()}
    trained = {n: t for n, t in trained.items() if t is not None}
    warnings: list[str] = []
    if given is None or isinstance(given, Mapping):
        base = fallback
        if trained:
            first, base = next(iter(trained.items()))
            others = [n for n, t in trained.items() if t != base]
            if others:
                warnings.append(f"models {', '.join(others)} were trained with other selections than "
                                f"{first}; running with {first}'s")  # fmt: skip
        given = selection_from_dict({**dataclasses.asdict(base), **(given or {})}, base.kind)
    elif given.kind != fallback.kind:
        raise ConfigError(f"this processor needs a {fallback.kind} selection, not a {given.kind} one")
    for n, t in trained.items():
        loose = looser_than(given, t)
        if loose:
            warnings.append(f"selection looser than model {n}'s training: {'; '.join(loose)}")
    return given, warnings


def _is_record(array: Any) -> bool:
    try:
        return bool(ak.fields(array))
    except TypeError:
        return False
