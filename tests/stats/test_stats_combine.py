"""Combinations of categories and the global significance."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from scipy import stats

from coffea_anomaly.stats.background import DijetFunction
from coffea_anomaly.stats.combine import chibar2_sf, fisher, joint_q0, z_from_p
from coffea_anomaly.stats.fit import fit_binned
from coffea_anomaly.stats.signal import GaussianSignal
from coffea_anomaly.stats.toys import (
    ToyCategory,
    global_p_value,
    gross_vitells,
    run_toys,
    toy_counts,
    upcrossings,
)

Spectrum = Callable[[float], np.ndarray]


def test_fisher_known_values() -> None:
    # one p-value: -2 ln p ~ chi2(2) gives back p itself
    assert float(fisher(np.array([0.037]))) == pytest.approx(0.037, rel=1e-12)
    # two p-values of 0.01: X = -4 ln 0.01 = 18.42, chi2(4) sf = e^-X/2 (1 + X/2)
    x = -4 * np.log(0.01)
    assert float(fisher(np.array([0.01, 0.01]))) == pytest.approx(np.exp(-x / 2) * (1 + x / 2), rel=1e-12)
    assert float(fisher(np.array([1.0, 1.0, 1.0]))) == pytest.approx(1.0)
    rows = fisher(np.array([[0.5, 0.5], [0.01, 0.01]]), axis=1)
    assert rows.shape == (2,)
    assert rows[1] < rows[0]


def test_chibar2_law() -> None:
    q = np.array([0.5, 4.0, 9.0])
    np.testing.assert_allclose(chibar2_sf(q, 1), stats.norm.sf(np.sqrt(q)), rtol=1e-12)
    by_hand = 0.5 * stats.chi2.sf(q, 1) + 0.25 * stats.chi2.sf(q, 2)
    np.testing.assert_allclose(chibar2_sf(q, 2), by_hand, rtol=1e-12)
    # Monte Carlo: sums of three independent 1/2 delta(0) + 1/2 chi2(1)
    rng = np.random.default_rng(1)
    draws = rng.chisquare(1, size=(200_000, 3)) * (rng.random((200_000, 3)) < 0.5)
    total = draws.sum(axis=1)
    for cut in (1.0, 4.0, 9.0):
        assert np.mean(total > cut) == pytest.approx(float(chibar2_sf(np.array(cut), 3)), abs=0.004)


def test_joint_q0_sums_categories() -> None:
    q, p = joint_q0(np.array([[4.0, 0.0], [1.0, 1.0]]))
    np.testing.assert_allclose(q, [4.0, 2.0])
    np.testing.assert_allclose(p, chibar2_sf(np.array([4.0, 2.0]), 2))


def test_z_from_p() -> None:
    np.testing.assert_allclose(z_from_p(np.array([0.5, stats.norm.sf(3.0), stats.norm.sf(7.5)])), [0, 3, 7.5])


def test_toy_counts_one_stream_per_index() -> None:
    mu = np.array([3.0, 10.0, 0.5])
    all_at_once = toy_counts(mu, 9, range(10))
    piecewise = np.vstack([toy_counts(mu, 9, range(0, 4)), toy_counts(mu, 9, range(4, 10))])
    np.testing.assert_array_equal(all_at_once, piecewise)
    assert not np.array_equal(toy_counts(mu, 9, [0]), toy_counts(mu, 10, [0]))


def test_upcrossings_and_gross_vitells_by_hand() -> None:
    assert int(upcrossings(np.array([0.0, 2.0, 0.5, 3.0, 3.0, 0.0]), 1.0)) == 2
    np.testing.assert_array_equal(upcrossings(np.array([[0.0, 2.0], [2.0, 0.0]]), 1.0), [1, 0])
    assert gross_vitells(9.0, 2.0, 1.0) == pytest.approx(stats.norm.sf(3.0) + 2 * np.exp(-4.0))
    assert gross_vitells(0.0, 5.0, 1.0) == 1.0
    assert global_p_value(2.0, np.array([1.0, 2.0, 3.0, 0.5]))[0] == 0.5


def _category(edges: np.ndarray, spectrum: Spectrum, total: float, masses: np.ndarray) -> ToyCategory:
    model = DijetFunction(edges, 13000.0, k=4)
    fit = fit_binned(spectrum(total), model)
    return ToyCategory(model, fit.expected, fit.theta, GaussianSignal(0.03).fractions(edges, masses))


def test_toys_do_not_depend_on_chunks_or_threads(edges: np.ndarray, spectrum: Spectrum) -> None:
    masses = np.geomspace(1800.0, 5500.0, 20)
    cats = [_category(edges, spectrum, 2e4, masses), _category(edges, spectrum, 5e3, masses)]
    a = run_toys(cats, masses, 12, seed=4, chunk=12, threads=1)
    b = run_toys(cats, masses, 12, seed=4, chunk=5, threads=2)
    np.testing.assert_array_equal(a.joint_z, b.joint_z)
    np.testing.assert_array_equal(a.max_q0, b.max_q0)
    np.testing.assert_array_equal(a.fisher_crossings, b.fisher_crossings)
    assert a.max_q0.shape == (12, 2)
    assert a.n_failed.sum() == 0
    assert not np.array_equal(a.joint_z, run_toys(cats, masses, 12, seed=5).joint_z)


def test_gross_vitells_agrees_with_pseudo_experiments(edges: np.ndarray, spectrum: Spectrum) -> None:
    masses = np.geomspace(1800.0, 5500.0, 50)
    toys = run_toys([_category(edges, spectrum, 5e4, masses)], masses, 600, seed=5)
    u = np.clip(toys.joint_z, 0.0, None) ** 2
    n_ref = float(np.mean(toys.joint_crossings))
    assert 1.0 < n_ref < 10.0  # a few independent regions over 1.8-5.5 TeV with a 3 % width
    for c in (6.25, 9.0):  # local 2.5 and 3 sigma
        p, err = np.mean(u > c), np.sqrt(np.mean(u > c) * (1 - np.mean(u > c)) / u.size)
        gv = gross_vitells(c, n_ref, 1.0)
        # an asymptotic upper bound, tight in the tail: within a factor 2 here
        assert p - 3 * err <= gv <= 2 * p + 3 * err
    # the look-elsewhere effect is real: a local 2 sigma is common somewhere
    assert np.mean(u > 4.0) > 5 * stats.norm.sf(2.0)
