"""Helpers shared by the generation tests (reading samples back)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import awkward as ak
import numpy as np
import uproot

from coffea_anomaly.generation import GenerationResult

__all__ = ["dataset_metadata", "in_window", "read_events"]


def read_events(sample: GenerationResult | Sequence[Path]) -> ak.Array:
    """All events of a sample (or of some of its files) as flat branches (uproot, no schema)."""
    files = sample.files if isinstance(sample, GenerationResult) else sample
    return uproot.concatenate([f"{f}:Events" for f in files], library="ak")


def dataset_metadata(result: GenerationResult) -> dict:
    fileset = json.loads(Path(result.fileset).read_text())
    (entry,) = fileset.values()
    return entry["metadata"]


def in_window(events: ak.Array, lo: float = 550.0, hi: float = 650.0, eta: float = 2.0) -> ak.Array:
    return (events.FatJet_pt >= lo) & (events.FatJet_pt <= hi) & (np.abs(events.FatJet_eta) < eta)
