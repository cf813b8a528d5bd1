"""Make histograms of the right flavour: eager ``hist.Hist`` or lazy ``hist.dask.Hist``.

The processors describe a histogram once (its axes); whether the events are eager/virtual
awkward or dask-awkward decides the class. The Dask flavour is this one-line switch, not a
second copy of the processors.
"""

from __future__ import annotations

from typing import Any

import hist

__all__ = ["is_dask", "make_hist"]


def is_dask(array: Any) -> bool:
    """True for dask-awkward arrays (or anything holding a Dask graph)."""
    try:
        import dask_awkward as dak
    except ImportError:  # pragma: no cover - dask-awkward is a core dependency
        return False
    return isinstance(array, dak.Array)


def make_hist(*axes: Any, dask: bool = False, name: str | None = None, label: str | None = None) -> Any:
    """A weighted histogram with the given axes, ``hist.dask.Hist`` if ``dask``."""
    storage = hist.storage.Weight()
    if dask:
        import hist.dask as hda

        return hda.Hist(*axes, storage=storage, name=name, label=label)
    return hist.Hist(*axes, storage=storage, name=name, label=label)

