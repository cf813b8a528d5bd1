"""Fixtures of the bump-hunt tests: smooth dijet spectra whose truth is known."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from coffea_anomaly.stats.background import DijetFunction
from coffea_anomaly.stats.signal import GaussianSignal

#: the truth of the test spectra: the 4-parameter dijet function, sqrt(s) = 13 TeV
SQRT_S = 13000.0
TRUE_P = (1.0, 10.0, 5.0, 0.1)


@pytest.fixture(scope="session")
def edges() -> np.ndarray:
    """90 bins of 50 GeV from 1.5 to 6 TeV."""
    return np.arange(1500.0, 6001.0, 50.0)


@pytest.fixture(scope="session")
def spectrum(edges: np.ndarray) -> Callable[[float], np.ndarray]:
    """Expected background counts of the true dijet spectrum for a total of ``n`` events."""
    model = DijetFunction(edges, sqrt_s=SQRT_S, k=4)
    shape = model.expected(model.to_theta(TRUE_P))
    shape = shape / shape.sum()
    return lambda n: n * shape


@pytest.fixture(scope="session")
def gaussian(edges: np.ndarray) -> Callable[[float, float], np.ndarray]:
    """Expected counts of a 3 %-wide Gaussian signal of ``yield`` events at ``mass``."""
    sig = GaussianSignal(0.03)
    return lambda mass, n: n * sig.fractions(edges, np.array([mass]))[0]
