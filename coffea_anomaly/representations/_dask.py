"""The dask layer: run an eager function on every partition of dask-awkward arrays.

Every representation has one eager implementation on concrete awkward/numpy arrays. For
dask-awkward inputs it runs through :func:`map_eager`, a thin wrapper over
``dask_awkward.map_partitions`` (the same idea as ``hist.dask`` over ``hist``). Callers
pass only the columns the function needs, so dask's column optimisation reads nothing else.

While dask builds or optimises its graph it calls the function with *typetracers*
(arrays that know their type but not their data). The wrapper then marks every input
buffer as needed and answers with the output type, found by running the eager function
on length-zero arrays of the same type.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import awkward as ak
import numpy as np

__all__ = ["any_dask", "apply", "is_dask", "map_eager", "to_awkward"]


def is_dask(array: Any) -> bool:
    """True if ``array`` is a dask-awkward array (checked without importing dask)."""
    return type(array).__module__.startswith("dask_awkward")


def any_dask(*arrays: Any) -> bool:
    """True if any of ``arrays`` is a dask-awkward array."""
    return any(is_dask(a) for a in arrays)


def to_awkward(value: Any) -> ak.Array:
    """Wrap an eager result (numpy array or awkward array) as an awkward array."""
    if isinstance(value, ak.Array):
        return value
    return ak.Array(ak.to_layout(np.asarray(value)))


def _is_typetracer(array: Any) -> bool:
    return isinstance(array, ak.Array) and ak.backend(array) == "typetracer"


def _length_zero(array: ak.Array) -> ak.Array:
    layout = array.layout.form.length_zero_array()
    return ak.Array(layout, behavior=array.behavior, attrs=array.attrs)


class _PartitionCall:
    """Picklable partition function: the eager function plus its keyword arguments."""

    def __init__(self, fn: Callable[..., Any], kwargs: dict[str, Any]) -> None:
        self.fn = fn
        self.kwargs = kwargs

    def __call__(self, *arrays: Any) -> ak.Array:
        if any(_is_typetracer(a) for a in arrays):
            for a in arrays:
                if _is_typetracer(a):
                    ak.typetracer.touch_data(a)
            zeros = [_length_zero(a) if _is_typetracer(a) else a for a in arrays]
            out = to_awkward(self.fn(*zeros, **self.kwargs))
            layout = ak.to_layout(out).to_typetracer(forget_length=True)
            return ak.Array(layout, behavior=out.behavior, attrs=out.attrs)
        return to_awkward(self.fn(*arrays, **self.kwargs))


def map_eager(fn: Callable[..., Any], *arrays: Any, label: str, **kwargs: Any) -> Any:
    """Apply the eager ``fn`` to each partition of the dask-awkward ``arrays``.

    Args:
        fn: eager function taking concrete awkward arrays (positional) and options.
        arrays: dask-awkward arrays with the same partitioning.
        label: name of the task in the dask graph.
        kwargs: options forwarded to ``fn`` (must pickle: configs are frozen dataclasses).

    Returns:
        A lazy dask-awkward array; ``.compute()`` gives what ``fn`` gives eagerly, as an
        awkward array (numpy results become regular awkward arrays; ``ak.to_numpy``
        turns them back).
    """
    import dask_awkward as dak

    return dak.map_partitions(_PartitionCall(fn, kwargs), *arrays, label=label)


def apply(fn: Callable[..., Any], *arrays: Any, label: str, **kwargs: Any) -> Any:
    """``fn(*arrays, **kwargs)`` for eager arrays, :func:`map_eager` for dask-awkward ones."""
    if any_dask(*arrays):
        return map_eager(fn, *arrays, label=label, **kwargs)
    return fn(*arrays, **kwargs)
