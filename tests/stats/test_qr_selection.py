"""Quantile-regression (VAE-QR) selections: known answers on hand-made histograms, and the
must-hold check that it keeps the requested share at every m_jj where a fixed cut does not."""

from __future__ import annotations

import hist
import numpy as np
import pytest

from coffea_anomaly.errors import ConfigError, InputDataError
from coffea_anomaly.stats.quantile_regression import (
    QRKeep,
    fixed_cut,
    fraction_beyond,
    parse_qr_keep,
    qr_bands,
    qr_select,
    quantile_fit,
    score_quantiles,
)

MJJ_EDGES = np.arange(1500.0, 4001.0, 100.0)  # 25 bins


def _correlated_background(n: int = 300_000, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """Background only: a falling m_jj spectrum and a log-normal score whose median rises
    by a factor ~6 over the m_jj range (a strong score-m_jj correlation)."""
    rng = np.random.default_rng(seed)
    mjj = 1500.0 * (1.0 + rng.pareto(4.0, n))
    mjj = mjj[mjj < MJJ_EDGES[-1]]
    score = np.exp(np.log(1e-3) + 1.8 * np.log(mjj / 1500.0) + rng.normal(0.0, 0.8, mjj.size))
    return mjj, score


def _histogram(mjj: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The processor's layout: m_jj x fine log score axis, flow bins kept (+-inf edges)."""
    h = hist.Hist(hist.axis.Variable(MJJ_EDGES, name="mjj"),
                  hist.axis.Regular(150, 1e-5, 1.0, transform=hist.axis.transform.log, name="score"))
    h.fill(mjj=mjj, score=score)
    counts = h.values(flow=True)[1:-1]
    edges = np.concatenate([[-np.inf], h.axes["score"].edges, [np.inf]])
    return counts, edges


@pytest.fixture(scope="module")
def background() -> tuple[np.ndarray, np.ndarray]:
    return _histogram(*_correlated_background())


def test_qr_keeps_the_requested_share_at_every_mjj_where_a_fixed_cut_does_not(background) -> None:
    counts, edges = background
    keep = 0.1
    n = counts.sum(axis=1)
    populated = n >= 100
    sigma = np.sqrt(keep * (1 - keep) / n)

    sel = qr_select(counts, MJJ_EDGES, edges, keep)
    kept = sel.kept[0]
    pulls = (kept - keep)[populated] / sigma[populated]
    assert np.all(np.abs(pulls) < 3.5), pulls
    assert np.mean(pulls**2) < 2.0  # consistent with binomial fluctuations alone
    assert sel.counts(counts).sum() == pytest.approx(keep * counts.sum(), rel=0.02)

    # a fixed threshold at the same overall share: the share runs from a few % to most events
    _, kept_fixed = fixed_cut(counts, edges, keep)
    pulls_fixed = (kept_fixed - keep)[populated] / sigma[populated]
    assert np.max(np.abs(pulls_fixed)) > 10
    assert kept_fixed[populated][0] < 0.5 * keep
    assert kept_fixed[populated][-1] > 3 * keep


def test_qr_categories_are_equally_populated_at_every_mjj(background) -> None:
    counts, edges = background
    bands = qr_bands(counts, MJJ_EDGES, edges, 3, keep=0.3)
    n = counts.sum(axis=1)
    populated = n >= 300
    assert bands.targets == pytest.approx([0.1, 0.1, 0.1])
    sigma = np.sqrt(0.1 * 0.9 / n[populated])
    for k in bands.kept:
        assert np.all(np.abs(k[populated] - 0.1) < 4 * sigma)
    assert np.all(bands.weights >= 0)
    assert np.all(bands.weights.sum(axis=0) <= 1 + 1e-12)
    thr = bands.thresholds(np.array([1600.0, 3500.0]))
    assert np.all(np.diff(thr, axis=0) >= 0)  # boundaries in order
    assert thr[1, 1] > 3 * thr[1, 0]  # they follow the rising score


def test_quantile_of_a_handmade_row_interpolates_inside_the_bin() -> None:
    # 10 | 30 | 0 | 60 in bins [0,1), [1,2), [2,3), [3,4): the 25 % quantile is 1.5,
    # the 40 % quantile the upper edge of bin 2 (its empty neighbour skipped: 3.0), the 70 % one 3.5
    row = np.array([[10.0, 30.0, 0.0, 60.0]])
    edges = np.arange(5.0)
    for q, expected in ((0.25, 1.5), (0.4, 3.0), (0.7, 3.5), (0.1, 1.0)):
        value, _, ok = score_quantiles(row, edges, q)
        assert value[0] == pytest.approx(expected)
        assert ok[0]
    # error: sqrt(q(1-q)/N) / (n_bin / (N width)) = sqrt(.25*.75/100) / (30/100)
    _, err, _ = score_quantiles(row, edges, 0.25)
    assert err[0] == pytest.approx(np.sqrt(0.25 * 0.75 / 100) / 0.3)


def test_quantile_in_a_flow_bin_is_not_used() -> None:
    row = np.array([[0.0, 10.0, 90.0]])
    edges = np.array([-np.inf, 0.0, 1.0, np.inf])
    value, err, ok = score_quantiles(row, edges, 0.5)
    assert not ok[0]
    assert value[0] == 1.0
    assert np.isnan(err[0])


def test_linear_threshold_is_recovered_and_held_constant_outside_the_data() -> None:
    """Uniform scores on [0, m/1000) per m_jj bin: the 80 % quantile is 0.8 m/1000 exactly."""
    mjj_edges = np.array([1000.0, 2000.0, 3000.0, 4000.0, 5000.0])
    edges = np.linspace(0.0, 5.0, 51)
    counts = np.zeros((4, 50))
    for i, m in enumerate(0.5 * (mjj_edges[1:] + mjj_edges[:-1])):
        top = round(m / 100)  # bins below m/1000
        counts[i, :top] = 1000.0 / top
    counts[3] = 0.0  # an empty m_jj bin: left out of the fit, threshold held constant
    fit = quantile_fit(counts, mjj_edges, edges, 0.8, scale="linear")
    assert fit.used.tolist() == [True, True, True, False]
    assert fit.degree == 1
    assert fit.chi2 == pytest.approx(0.0, abs=1e-12)
    assert fit.threshold(np.array([1500.0, 3500.0])) == pytest.approx([1.2, 2.8])
    assert fit.threshold(np.array([4500.0]))[0] == pytest.approx(2.8)
    sel = qr_select(counts, mjj_edges, edges, 0.2, scale="linear")
    assert sel.kept[0, :3] == pytest.approx([0.2, 0.2, 0.2])
    assert np.isnan(sel.kept[0, 3])


def test_low_side_and_fixed_degree() -> None:
    mjj_edges = np.array([1000.0, 2000.0, 3000.0])
    counts = np.full((2, 10), 10.0)
    sel = qr_select(counts, mjj_edges, np.linspace(0, 1, 11), 0.3, side="low", degree=0, scale="linear")
    assert sel.fits[1].threshold(np.array([1500.0]))[0] == pytest.approx(0.3)
    assert sel.weights[0, 0, :4] == pytest.approx([1, 1, 1, 0])
    assert sel.kept[0] == pytest.approx([0.3, 0.3])
    with pytest.raises(InputDataError, match="degree-3"):
        qr_select(counts, mjj_edges, np.linspace(0, 1, 11), 0.3, degree=3)


def test_fraction_beyond_flow_bins() -> None:
    t = np.array([-np.inf, 0.0, 1.0, np.inf])
    w = fraction_beyond(t, np.array([-np.inf, 0.5, 1.0, np.inf]))
    assert w.tolist() == [[1, 1, 1], [0, 0.5, 1], [0, 0, 1], [0, 0, 0]]


def test_parse_and_validate() -> None:
    assert parse_qr_keep("0.05") == QRKeep(0.05, "high", None)
    assert parse_qr_keep("low:0.5") == QRKeep(0.5, "low", None)
    assert parse_qr_keep(" score1 : high : 0.1 ") == QRKeep(0.1, "high", "score1")
    assert str(parse_qr_keep("score2:low:0.5")) == "score2:low:0.5"
    for bad in ("five", "score2<0.5", "0", "1.5"):
        with pytest.raises(ConfigError):
            parse_qr_keep(bad)
    with pytest.raises(InputDataError, match="enough events"):
        quantile_fit(np.zeros((3, 4)), np.arange(4.0), np.arange(5.0), 0.5)
