"""From (events ×) jets × constituents awkward arrays to flat numpy columns, and back.

The kernels work on flat numpy arrays: one value per constituent plus the ``offsets``
of each jet (jet ``j`` owns constituents ``offsets[j]:offsets[j+1]``). Jets may come
nested in events (events × jets [× constituents]) or already flat; either way the jets
are taken in order, event by event.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import awkward as ak
import numpy as np

from ..errors import InputDataError
from ._dask import is_dask

__all__ = [
    "FlatConstituents",
    "check_aligned",
    "column",
    "flat_constituents",
    "flat_jets",
    "select_columns",
    "unflatten_like",
]

_OPTION_CLASSES = {"IndexedOptionArray", "ByteMaskedArray", "BitMaskedArray", "UnmaskedArray"}


@dataclass(frozen=True)
class FlatConstituents:
    """Flat constituent columns of ``n_jets`` jets.

    Attributes:
        offsets: int64 array of length ``n_jets + 1``.
        columns: name -> float64 array with one value per constituent.
    """

    offsets: np.ndarray
    columns: dict[str, np.ndarray]

    @property
    def n_jets(self) -> int:
        """Number of jets."""
        return len(self.offsets) - 1

    @property
    def counts(self) -> np.ndarray:
        """Number of constituents of each jet."""
        return np.diff(self.offsets)

    def jet_index(self) -> np.ndarray:
        """For each constituent, the index of its jet."""
        return np.repeat(np.arange(self.n_jets, dtype=np.int64), self.counts)


def column(array: Any, name: str) -> Any:
    """A field of ``array``, or a property its behaviour provides (e.g. vector's ``pt``)."""
    if name in array.fields:
        return array[name]
    try:
        return getattr(array, name)
    except AttributeError as err:
        raise InputDataError(
            f"the array has no field or property {name!r} (fields: {', '.join(array.fields)})"
        ) from err


def select_columns(array: Any, names: Sequence[str]) -> Any:
    """A record array of just ``names`` (fields or behaviour properties) of ``array``.

    Eager or dask-awkward like its input; for dask, selecting first lets the column
    optimisation read only these columns.
    """
    cols = {n: column(array, n) for n in names}
    if is_dask(array):
        import dask_awkward as dak

        return dak.zip(cols)
    return ak.zip(cols)


def _has_option(form: dict[str, Any]) -> bool:
    if form.get("class") in _OPTION_CLASSES:
        return True
    children = [form[k] for k in ("content",) if k in form]
    children += list(form.get("contents", []) or [])
    return any(_has_option(c) for c in children if isinstance(c, dict))


def _check_complete(array: ak.Array, what: str) -> None:
    if not _has_option(array.layout.form.to_dict()):
        return
    for axis in range(array.ndim):
        if ak.any(ak.is_none(array, axis=axis)):
            raise InputDataError(
                f"{what} contain missing values (None); select or fill them before "
                "building representations"
            )


def _innermost_counts(array: ak.Array) -> np.ndarray:
    counts = ak.num(array, axis=array.ndim - 1)
    if counts.ndim > 1:
        counts = ak.flatten(counts, axis=None)
    return np.asarray(ak.to_numpy(counts), dtype=np.int64)


def _flat_values(array: ak.Array, dtype: Any = None) -> np.ndarray:
    values = np.asarray(ak.to_numpy(ak.flatten(array, axis=None)))
    return values if dtype is None else values.astype(dtype, copy=False)


def flat_constituents(constituents: Any, names: Sequence[str]) -> FlatConstituents:
    """Flatten (events ×) jets × constituents into :class:`FlatConstituents`.

    Args:
        constituents: awkward array of constituent records, 2 or 3 levels deep.
        names: fields (or behaviour properties) to extract, e.g. ``("pt", "eta", "phi")``.
    """
    if constituents.ndim not in (2, 3):
        raise InputDataError(
            "constituents must be jets × constituents or events × jets × constituents, "
            f"not {constituents.ndim} levels deep"
        )
    cols = {n: column(constituents, n) for n in names}
    first = cols[names[0]]
    _check_complete(first, "constituents")
    counts = _innermost_counts(first)
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    values = {n: _flat_values(c, np.float64) for n, c in cols.items()}
    return FlatConstituents(offsets, values)


def flat_jets(jets: Any, names: Sequence[str]) -> dict[str, np.ndarray]:
    """One numpy value per jet for each of ``names``; jets are (events ×) jets."""
    if jets.ndim not in (1, 2):
        raise InputDataError(f"jets must be jets or events × jets, not {jets.ndim} levels deep")
    out = {}
    for n in names:
        c = column(jets, n)
        _check_complete(c, "jets")
        out[n] = _flat_values(c, np.float64)
    return out


def check_aligned(jet_columns: dict[str, np.ndarray], flat: FlatConstituents) -> None:
    """Raise InputDataError unless there is one constituent list per jet."""
    n_jets = len(next(iter(jet_columns.values())))
    if n_jets != flat.n_jets:
        raise InputDataError(
            f"jets and constituents are not aligned: {n_jets} jets but "
            f"{flat.n_jets} constituent lists"
        )


def unflatten_like(values: ak.Array, jets: Any) -> ak.Array:
    """Give per-jet ``values`` (flat, in jet order) the events × jets nesting of ``jets``."""
    if jets.ndim == 1:
        return values
    counts = np.asarray(ak.to_numpy(ak.num(jets, axis=1)), dtype=np.int64)
    return ak.unflatten(values, counts)
