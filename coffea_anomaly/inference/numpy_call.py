"""`NumpyCallWrapper`: a model evaluated on numpy, called on awkward or dask-awkward arrays.

This is coffea-anomaly's own small base class with the interface of coffea's
``coffea.ml_tools.numpy_call_wrapper``: a subclass says how to turn awkward input into
numpy-ready arrays (:meth:`~NumpyCallWrapper.prepare_awkward`), how to evaluate on numpy
(:meth:`~NumpyCallWrapper.numpy_call`, checked first by
:meth:`~NumpyCallWrapper.validate_numpy_input`) and how to shape the result back
(:meth:`~NumpyCallWrapper.postprocess_awkward`); calling the object does the rest, eagerly
for awkward input and once per partition for dask-awkward input.

It exists because coffea's class cannot be imported on its own: importing
``coffea.ml_tools.helper`` runs ``coffea/ml_tools/__init__.py``, which imports coffea's
torch and tensorflow wrappers, and so torch, on every Dask worker that unpickles a model
(``python -m benchmarks worker_startup`` times it: the first chunk on a fresh worker took
5.5-7.7 s with coffea's class, 3.1-3.4 s with this one). Scoring with ONNX never needs torch
(Contract 3), so this module imports only awkward and numpy (dask and dask-awkward when
given dask-awkward input).

Example:
    >>> import awkward as ak
    >>> class Doubler(NumpyCallWrapper):
    ...     def prepare_awkward(self, jets):
    ...         return (jets.pt,), {}
    ...     def validate_numpy_input(self, pt):
    ...         pass
    ...     def numpy_call(self, pt):
    ...         return 2 * pt
    >>> Doubler()(ak.Array([{"pt": 1.0}, {"pt": 2.5}])).tolist()
    [2.0, 5.0]
"""

from __future__ import annotations

import abc
import warnings
from collections.abc import Callable
from typing import Any

import awkward as ak
import numpy as np

from ..representations._dask import is_dask

__all__ = ["NumpyCallWrapper"]

# where the dask form of a wrapper caches its dask.delayed (one graph node per object)
_DELAYED_ATTR = "_delayed_self"


def _map_leaves(value: Any, fn: Callable[[Any], Any]) -> Any:
    """Apply ``fn`` to every leaf of nested dicts, lists and tuples (containers rebuilt)."""
    if isinstance(value, dict):
        return {key: _map_leaves(item, fn) for key, item in value.items()}
    if isinstance(value, list):
        return [_map_leaves(item, fn) for item in value]
    if isinstance(value, tuple):
        items = [_map_leaves(item, fn) for item in value]
        return type(value)(*items) if hasattr(value, "_fields") else tuple(items)
    return fn(value)


def _leaves(value: Any) -> list[Any]:
    found: list[Any] = []
    _map_leaves(value, found.append)
    return found


def _to_numpy(leaf: Any) -> Any:
    return ak.to_numpy(leaf) if isinstance(leaf, ak.Array) else leaf


def _to_awkward(leaf: Any) -> Any:
    return ak.from_numpy(leaf) if isinstance(leaf, np.ndarray) else leaf


def _is_typetracer(leaf: Any) -> bool:
    return isinstance(leaf, ak.Array) and ak.backend(leaf) == "typetracer"


def _concrete(leaf: Any) -> Any:
    """A typetracer becomes a length-one array (its buffers marked as needed)."""
    if _is_typetracer(leaf):
        return ak.typetracer.length_one_if_typetracer(leaf)
    return leaf


def _meta(leaf: Any) -> Any:
    return leaf._meta if is_dask(leaf) else leaf


def _pack(result: Any) -> ak.Array:
    """One awkward array for dask: a dict of arrays becomes a record, one field each."""
    if isinstance(result, ak.Array):
        return result
    if isinstance(result, dict) and all(isinstance(v, ak.Array) for v in result.values()):
        return ak.zip(result, depth_limit=1)
    raise TypeError(
        "numpy_call must return a numpy/awkward array or a dict of them for dask-awkward "
        f"input, not {type(result).__name__}"
    )


class _PartitionCall:
    """Picklable per-partition function: ``(wrapper, *flat_inputs) -> awkward array``.

    dask-awkward passes positional inputs only, so keyword inputs travel positionally after
    the positional ones and are named again here. Called with typetracers (while dask builds
    or optimises the graph) it evaluates on length-one arrays and answers with a typetracer
    of the result.
    """

    def __init__(self, n_args: int, kwarg_names: tuple[str, ...]) -> None:
        self.n_args = n_args
        self.kwarg_names = kwarg_names

    def evaluate(self, wrapper: NumpyCallWrapper, *flat: Any) -> tuple[Any, bool]:
        """The unpacked awkward result, and whether the inputs were typetracers."""
        args = flat[: self.n_args]
        kwargs = dict(zip(self.kwarg_names, flat[self.n_args :], strict=True))
        tracing = any(_is_typetracer(leaf) for leaf in _leaves((args, kwargs)))
        if tracing:
            args, kwargs = _map_leaves(args, _concrete), _map_leaves(kwargs, _concrete)
        np_args, np_kwargs = _map_leaves(args, _to_numpy), _map_leaves(kwargs, _to_numpy)
        result = wrapper._call_numpy(*np_args, **np_kwargs)
        return _map_leaves(result, _to_awkward), tracing

    def __call__(self, wrapper: NumpyCallWrapper, *flat: Any) -> ak.Array:
        result, tracing = self.evaluate(wrapper, *flat)
        out = _pack(result)
        if tracing:
            layout = out.layout.to_typetracer(forget_length=True)
            out = ak.Array(layout, behavior=out.behavior, attrs=out.attrs)
        return out


class NumpyCallWrapper(abc.ABC):
    """Base class for a numpy-evaluated model called on awkward or dask-awkward arrays.

    Subclasses implement :meth:`prepare_awkward` and :meth:`numpy_call`, and usually
    :meth:`validate_numpy_input` and :meth:`postprocess_awkward`. Calling the object:

    * with awkward arrays: ``prepare_awkward`` -> ``ak.to_numpy`` on every awkward array it
      returned (inside dicts, lists and tuples too) -> ``validate_numpy_input`` ->
      ``numpy_call`` -> ``ak.from_numpy`` on every numpy array returned ->
      ``postprocess_awkward(result, *inputs)``;
    * with dask-awkward arrays: ``prepare_awkward`` on the lazy inputs, then the numpy steps
      run once per partition (``dask_awkward.map_partitions``, the wrapper itself one node
      of the graph); a dict of results comes back as a dict of lazy arrays, then
      ``postprocess_awkward(result, *inputs)``;
    * with neither: ``validate_numpy_input`` and ``numpy_call`` on the arguments as given.

    Instances must pickle for Dask; a cached ``dask.delayed`` of the object is dropped
    when it is pickled.
    """

    # -- what subclasses define --------------------------------------------------------
    def validate_numpy_input(self, *args: Any, **kwargs: Any) -> None:
        """Raise if the numpy input does not suit :meth:`numpy_call`.

        The base method checks nothing and warns that it did not.
        """
        warnings.warn(
            f"{type(self).__name__} does not check its numpy input (override validate_numpy_input)",
            stacklevel=2,
        )

    @abc.abstractmethod
    def numpy_call(self, *args: Any, **kwargs: Any) -> Any:
        """Evaluate on numpy input; return a numpy array or a dict of them."""

    @abc.abstractmethod
    def prepare_awkward(self, *args: Any, **kwargs: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """Turn the call's awkward (or dask-awkward) inputs into ``numpy_call`` arguments.

        Returns:
            ``(args, kwargs)`` for :meth:`numpy_call`, holding awkward arrays that
            ``ak.to_numpy`` can convert (dask-awkward arrays for dask-awkward input).
        """

    def postprocess_awkward(self, return_array: Any, *args: Any, **kwargs: Any) -> Any:
        """Shape the awkward result; also given the call's original inputs.

        The base method returns ``return_array`` unchanged.
        """
        return return_array

    # -- the call ----------------------------------------------------------------------
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Evaluate on awkward, dask-awkward or (with neither among the inputs) numpy input.

        Raises:
            TypeError: awkward and dask-awkward arrays mixed in one call.
        """
        inputs = [*args, *kwargs.values()]
        lazy = any(is_dask(x) for x in inputs)
        eager = any(isinstance(x, ak.Array) for x in inputs)
        if lazy and eager:
            raise TypeError(
                f"{type(self).__name__} got both awkward and dask-awkward arrays; give one kind"
            )
        if lazy:
            return self._call_dask(*args, **kwargs)
        if eager:
            return self._call_awkward(*args, **kwargs)
        return self._call_numpy(*args, **kwargs)

    def _call_numpy(self, *args: Any, **kwargs: Any) -> Any:
        self.validate_numpy_input(*args, **kwargs)
        return self.numpy_call(*args, **kwargs)

    def _call_awkward(self, *args: Any, **kwargs: Any) -> Any:
        np_args, np_kwargs = _map_leaves(self.prepare_awkward(*args, **kwargs), _to_numpy)
        result = self._call_numpy(*np_args, **np_kwargs)
        return self.postprocess_awkward(_map_leaves(result, _to_awkward), *args, **kwargs)

    def _call_dask(self, *args: Any, **kwargs: Any) -> Any:
        import dask
        import dask_awkward as dak

        lazy_args, lazy_kwargs = self.prepare_awkward(*args, **kwargs)
        names = tuple(lazy_kwargs)
        flat = [*lazy_args, *(lazy_kwargs[k] for k in names)]
        partition = _PartitionCall(len(lazy_args), names)
        # the output type, from a run on length-one stand-ins of the inputs' types
        raw_meta, _ = partition.evaluate(self, *_map_leaves(flat, _meta))
        meta = _pack(raw_meta)
        meta = ak.Array(
            meta.layout.to_typetracer(forget_length=True), behavior=meta.behavior, attrs=meta.attrs
        )
        delayed_self = self.__dict__.get(_DELAYED_ATTR)
        if delayed_self is None:
            delayed_self = dask.delayed(self, traverse=False)
            setattr(self, _DELAYED_ATTR, delayed_self)
        packed = dak.map_partitions(
            partition,
            delayed_self,
            *flat,
            label=f"numpy_call_{type(self).__name__}",
            meta=meta,
        )
        result = {k: packed[k] for k in raw_meta} if isinstance(raw_meta, dict) else packed
        return self.postprocess_awkward(result, *args, **kwargs)

    # -- pickling ----------------------------------------------------------------------
    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.pop(_DELAYED_ATTR, None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
