"""Eager/dask helpers for the representation tests (imported by conftest and tests)."""

from __future__ import annotations

from typing import Any

import awkward as ak
import numpy as np


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
