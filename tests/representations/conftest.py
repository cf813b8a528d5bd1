"""The eager/dask backend fixture: every representation must give the same numbers on both."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rep_dask import Backend

from coffea_anomaly.nanoaod import open_events


@pytest.fixture(params=["eager", "dask"])
def backend(request: pytest.FixtureRequest) -> Backend:
    """Parametrises a test over eager awkward arrays and dask-awkward arrays."""
    return Backend(request.param)


@pytest.fixture(scope="session")
def real_events(cms_files: dict[str, Path]) -> dict[str, Any]:
    """Both real CMS files opened once (virtual mode): opening one takes seconds."""
    return {name: open_events(path) for name, path in cms_files.items()}
