"""`ModelBundle`: several models scored together, QUAK style (a record of losses).

QUAK scores each jet or event with one model per prior (background and signal priors) and
works in the space of their losses. A bundle calls each model on the same jets and returns
an awkward record with one field per model (``name``) or, for models with several scores,
per model and score (``name.score``: :meth:`ModelCard.score_keys`, the naming the
processors and histograms use too).

Example:
    >>> bundle = ModelBundle(["quak_qcd.onnx", "quak_wprime.onnx"])   # doctest: +SKIP
    >>> losses = bundle(dijets)            # record: losses.quak_qcd, losses.quak_wprime
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np
import onnx

from ..errors import ModelCardError
from ..representations._dask import is_dask
from .onnx_model import OnnxModel

__all__ = ["ModelBundle"]


def _as_model(model: Any, options: Mapping[str, Any]) -> OnnxModel:
    if isinstance(model, OnnxModel):
        return model
    if isinstance(model, (str, Path, bytes, onnx.ModelProto)):
        return OnnxModel(model, **options)
    raise TypeError(f"cannot make a model from {type(model).__name__}")


class ModelBundle:
    """Several ONNX models of the same level, scored together into one record.

    Args:
        models: models or what names them (path, bytes, proto, shipped name). A mapping
            ``{field: model}`` chooses the record field names; otherwise each model's card
            name is used (they must then be unique).
        **options: passed to :class:`OnnxModel` for models given by path/name/bytes.

    Raises:
        ModelCardError: models of different levels, or clashing field names.
    """

    def __init__(
        self,
        models: Iterable[Any] | Mapping[str, Any],
        **options: Any,
    ) -> None:
        if isinstance(models, Mapping):
            pairs = [(str(k), _as_model(m, options)) for k, m in models.items()]
        else:
            built = [_as_model(m, options) for m in models]
            pairs = [(m.name, m) for m in built]
        if not pairs:
            raise ModelCardError("a model bundle needs at least one model")
        keys = [k for k, _ in pairs]
        clashes = sorted({k for k in keys if keys.count(k) > 1})
        if clashes:
            raise ModelCardError(
                f"models in a bundle need distinct names; repeated: {', '.join(clashes)} "
                "(give a mapping {field: model} to name them)"
            )
        levels = {m.level for _, m in pairs}
        if len(levels) > 1:
            shown = ", ".join(f"{k}={m.level}" for k, m in pairs)
            raise ModelCardError(f"models in a bundle must share one level, got {shown}")
        self.models: dict[str, OnnxModel] = dict(pairs)
        self.level: str = levels.pop()

    @property
    def fields(self) -> list[str]:
        """The record fields :meth:`__call__` returns, in order."""
        return [k for key, model in self.models.items() for k in model.card.score_keys(key)]

    def __iter__(self) -> Iterator[OnnxModel]:
        return iter(self.models.values())

    def __len__(self) -> int:
        return len(self.models)

    def __repr__(self) -> str:
        return f"ModelBundle({self.fields}, level={self.level!r})"

    def __call__(self, jets: Any, constituents: Any = None) -> Any:
        """Score ``jets`` with every model; a record with one field per model/score.

        A numpy ``jets`` is taken as the ready-made input of every model, and a dict of
        numpy arrays comes back.
        """
        columns: dict[str, Any] = {}
        for key, model in self.models.items():
            result = model(jets, constituents)
            keys = model.card.score_keys(key)
            for k, s in keys.items():
                columns[k] = result if len(keys) == 1 else result[s]
        if isinstance(jets, np.ndarray):
            return columns
        if is_dask(jets):
            import dask_awkward as dak

            return dak.zip(columns)
        return ak.zip(columns)
