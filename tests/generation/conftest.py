"""Session-scoped generated samples: each is made once and shared by the tests."""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import pytest
from gen_helpers import read_events

from coffea_anomaly.generation import GenerationResult, generate_sample


@pytest.fixture(scope="session")
def gen_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("generation")


def _make(gen_dir: Path, process: str, n: int, seed: int, **kwargs) -> GenerationResult:
    return generate_sample(process, n, gen_dir / f"{process}_{n}_{seed}", seed=seed, progress=False, **kwargs)


@pytest.fixture(scope="session")
def top_sample(gen_dir) -> GenerationResult:
    """200 hadronic top-jet events (14 TeV, jets 550-650 GeV)."""
    return _make(gen_dir, "top_jets", 200, seed=11)


@pytest.fixture(scope="session")
def qcd_sample(gen_dir) -> GenerationResult:
    """200 QCD events with a fat jet in the 550-650 GeV window."""
    return _make(gen_dir, "qcd_jets", 200, seed=12)


@pytest.fixture(scope="session")
def wprime_sample(gen_dir) -> GenerationResult:
    """150 W' -> X Y events (3500 / 500 / 100 GeV)."""
    return _make(gen_dir, "wprime_xy", 150, seed=13)


@pytest.fixture(scope="session")
def top_events(top_sample) -> ak.Array:
    return read_events(top_sample)


@pytest.fixture(scope="session")
def qcd_events(qcd_sample) -> ak.Array:
    return read_events(qcd_sample)


@pytest.fixture(scope="session")
def wprime_events(wprime_sample) -> ak.Array:
    return read_events(wprime_sample)
