"""Pieces both processors share: weights, dataset names, models, cutflows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import awkward as ak

from coffea_anomaly.errors import MissingCollectionError

__all__ = [
    "count",
    "dataset_name",
    "event_weight",
    "load_models",
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


def model_scores(name: str, model: Any, jets: Any, constituents: Any) -> dict[str, Any]:
    """All scores of one model, as ``{"<model>" or "<model>.<score>": array}``."""
    result = model(jets, constituents)
    names = list(model.card.score_names)
    if len(names) == 1:
        return {name: result if not _is_record(result) else result[names[0]]}
    return {f"{name}.{s}": result[s] for s in names}


def _is_record(array: Any) -> bool:
    try:
        return bool(ak.fields(array))
    except TypeError:
        return False
