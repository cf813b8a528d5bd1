"""Score slices after the job use the fixed thresholds of the model card."""

from __future__ import annotations

import numpy as np

from coffea_anomaly.runner.report import slice_start


def test_card_threshold_is_an_axis_edge() -> None:
    table = {"q": [0.0, 0.5, 0.9, 0.99, 1.0], "value": [0.0, 1.0, 2.0, 3.0, 4.0]}
    edges = np.array(table["value"])
    counts = np.array([0, 50, 40, 9, 1, 0])  # underflow, 4 bins, overflow
    # least background-like 10 %: score > 2.0, the third edge -> flow index 3
    assert slice_start(edges, counts, 0.10, table) == 3
    assert counts[3:].sum() == 10
    assert slice_start(edges, counts, 0.01, table) == 4


def test_without_card_the_observed_tail_is_used() -> None:
    edges = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    counts = np.array([0, 50, 40, 9, 1, 0])
    assert slice_start(edges, counts, 0.10, None) == 3
