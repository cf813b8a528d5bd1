"""ROC curves, AUC and quantiles on hand-made scores whose answers are known."""

from __future__ import annotations

import numpy as np
import pytest

from coffea_anomaly.errors import InputDataError
from coffea_anomaly.training.metrics import roc_auc, roc_curve, score_quantiles


def test_roc_curve_steps_through_every_distinct_threshold() -> None:
    fpr, tpr, thr = roc_curve([2.0, 3.0], [1.0, 2.0])
    assert thr.tolist() == [np.inf, 3.0, 2.0, 1.0]
    assert tpr.tolist() == [0.0, 0.5, 1.0, 1.0]
    assert fpr.tolist() == [0.0, 0.0, 0.5, 1.0]


def test_auc_perfect_reversed_and_random() -> None:
    assert roc_auc([3.0, 4.0], [1.0, 2.0]) == 1.0
    assert roc_auc([1.0, 2.0], [3.0, 4.0]) == 0.0
    assert roc_auc([5.0, 5.0], [5.0, 5.0]) == 0.5


def test_auc_is_the_probability_signal_beats_background_ties_half() -> None:
    sig, bkg = [1.0, 2.0, 3.0], [0.5, 2.0, 2.5, 4.0]
    pairs = [(s > b) + 0.5 * (s == b) for s in sig for b in bkg]
    assert roc_auc(sig, bkg) == pytest.approx(np.mean(pairs), abs=1e-12)


def test_integer_weights_equal_repeated_items() -> None:
    sig, bkg = np.array([1.0, 2.0, 3.0]), np.array([0.5, 2.0, 2.5])
    ws, wb = np.array([1, 3, 2]), np.array([2, 1, 4])
    weighted = roc_auc(sig, bkg, ws, wb)
    repeated = roc_auc(np.repeat(sig, ws), np.repeat(bkg, wb))
    assert weighted == pytest.approx(repeated, abs=1e-12)


def test_nan_scores_and_bad_weights_are_refused() -> None:
    with pytest.raises(InputDataError, match="NaN"):
        roc_auc([1.0, np.nan], [0.0])
    with pytest.raises(InputDataError, match="no signal"):
        roc_auc([], [0.0])
    with pytest.raises(InputDataError, match="weights"):
        roc_auc([1.0], [0.0], signal_weights=[-1.0])


def test_unweighted_quantiles_match_numpy() -> None:
    x = np.arange(11.0)
    assert score_quantiles(x, [0.5, 0.9]) == [5.0, 9.0]


def test_weighted_quantiles_invert_the_midpoint_cdf() -> None:
    # weights 1 and 3 on 0 and 1: CDF midpoints at 1/8 and 5/8
    assert score_quantiles([0.0, 1.0], [0.125, 0.375, 0.625], weights=[1.0, 3.0]) == [0.0, 0.5, 1.0]
    with pytest.raises(InputDataError, match="quantile levels"):
        score_quantiles([0.0, 1.0], [1.5])
