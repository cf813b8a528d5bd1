"""Numbers read off histograms: AUC, ROC, JSD and tail slices on hand-made counts."""

from __future__ import annotations

import numpy as np
import pytest

from coffea_anomaly.histograms.metrics import jensen_shannon, tail_slice_start
from coffea_anomaly.metrics import auc_from_counts, roc_auc, roc_curve, roc_from_counts


def test_auc_perfect_separation_is_one() -> None:
    assert auc_from_counts([0, 0, 5, 5], [5, 5, 0, 0]) == pytest.approx(1.0)


def test_auc_inverted_is_zero() -> None:
    assert auc_from_counts([5, 0], [0, 5]) == pytest.approx(0.0)


def test_auc_identical_is_half() -> None:
    c = np.array([3.0, 1.0, 7.0, 2.0])
    assert auc_from_counts(c, c) == pytest.approx(0.5)


def test_auc_matches_pairwise_probability() -> None:
    rng = np.random.default_rng(1)
    s = rng.normal(1.0, 1.0, 4000)
    b = rng.normal(0.0, 1.0, 4000)
    edges = np.linspace(-6, 7, 2001)
    auc = auc_from_counts(np.histogram(s, edges)[0], np.histogram(b, edges)[0])
    exact = np.mean(s[:, None] > b[None, :])
    assert auc == pytest.approx(exact, abs=2e-3)


def test_roc_ends_at_corners() -> None:
    b, s = roc_from_counts([1, 2, 3], [3, 2, 1])
    assert (b[0], s[0]) == (0.0, 0.0)
    assert (b[-1], s[-1]) == (1.0, 1.0)
    assert np.all(np.diff(b) >= 0)


def test_binned_and_unbinned_roc_agree_when_every_score_has_its_bin() -> None:
    rng = np.random.default_rng(4)
    s, b = rng.integers(0, 30, 500).astype(float), rng.integers(0, 30, 700).astype(float)
    ws, wb = rng.uniform(0, 2, 500), rng.uniform(0, 2, 700)
    edges = np.arange(-0.5, 30.5)
    cs, cb = np.histogram(s, edges, weights=ws)[0], np.histogram(b, edges, weights=wb)[0]
    fpr, tpr, _ = roc_curve(s, b, ws, wb)
    np.testing.assert_allclose(roc_from_counts(cs, cb), (fpr, tpr), rtol=1e-12)
    assert auc_from_counts(cs, cb) == pytest.approx(roc_auc(s, b, ws, wb), rel=1e-12)


def test_roc_rejects_empty() -> None:
    with pytest.raises(ValueError, match="positive content"):
        roc_from_counts([0, 0], [1, 1])


def test_jsd_bounds() -> None:
    assert jensen_shannon([1, 2, 3], [2, 4, 6]) == pytest.approx(0.0)
    assert jensen_shannon([1, 0], [0, 1]) == pytest.approx(1.0)


def test_tail_slice_start() -> None:
    counts = np.array([50, 30, 10, 9, 1])  # 100 in all
    assert tail_slice_start(counts, 0.01) == 4
    assert tail_slice_start(counts, 0.10) == 3
    assert tail_slice_start(counts, 0.20) == 2
    assert tail_slice_start(counts, 1.0) == 0
