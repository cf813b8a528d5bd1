"""Eager/dask helpers for the representation tests (imported by conftest and tests)."""

from __future__ import annotations

from typing import Any

import awkward as ak
import numpy as np

#: dask-awkward 2025.3 under dask 2026.8: the "layer-chains" rewrite fails on every graph
#: ("Cannot fuse tasks with multiple outputs") and the "columns" projection loses all but
#: the first partition ("Missing dependency ... finalize"). Toy arrays (several partitions)
#: run without either; the real-file tests switch the column projection back on for their
#: single-partition reads, to check that only the needed branches are read.
NO_AWKWARD_OPTIMISATION = {"awkward.optimization.which": []}
COLUMN_PROJECTION_ONLY = {"awkward.optimization.which": ["columns"]}



class Backend:
    """Turns hand-made awkward arrays into the backend's arrays, and results back."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, array: ak.Array) -> Any:
        if self.name == "eager":
            return array
        import dask_awkward as dak

        return dak.from_awkward(array, npartitions=min(2, max(1, len(array))))

    def numpy(self, result: Any) -> np.ndarray:
        """A numpy result (eager) or the computed dask result as numpy."""
        if self.name == "eager":
            assert isinstance(result, np.ndarray)
            return result
        import dask_awkward as dak

        assert isinstance(result, dak.Array)
        return ak.to_numpy(result.compute())

    def awkward(self, result: Any) -> ak.Array:
        if self.name == "eager":
            assert isinstance(result, ak.Array)
            return result
        return result.compute()
