"""Model selection, the mass scan and its statistical calibration (the spec of issue 5)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from scipy import stats

from coffea_anomaly.errors import ConfigError
from coffea_anomaly.stats.background import DijetFunction
from coffea_anomaly.stats.fit import fit_binned
from coffea_anomaly.stats.ftest import f_test, lr_test, select_background
from coffea_anomaly.stats.scan import local_p, minuit_scan, profile_scan
from coffea_anomaly.stats.signal import GaussianSignal
from coffea_anomaly.stats.toys import toy_counts

Spectrum = Callable[[float], np.ndarray]


def test_f_test_by_hand() -> None:
    # deviances 30 -> 20, one more parameter, 24 bins: F = 10 / (20/20) = 10
    f, p = f_test(30.0, 3, 20.0, 4, 24)
    assert f == pytest.approx(10.0)
    assert p == pytest.approx(stats.f.sf(10.0, 1, 20))
    assert f_test(30.0, 3, 30.0, 4, 24) == (0.0, 1.0)
    with pytest.raises(ConfigError):
        f_test(30.0, 4, 20.0, 4, 24)


def test_likelihood_ratio_test_by_hand() -> None:
    lr, p = lr_test(30.0, 3, 26.0, 5)
    assert lr == pytest.approx(4.0)
    assert p == pytest.approx(np.exp(-2.0))  # chi2(2) survival = exp(-x/2)


def test_selection_keeps_three_parameters_for_a_three_parameter_truth(edges: np.ndarray) -> None:
    truth = DijetFunction(edges, 13000.0, k=3)
    mu = truth.expected(truth.to_theta((1.0, 10.0, 5.0)))
    n = np.random.default_rng(4).poisson(mu * 5e4 / mu.sum()).astype(float)
    sel = select_background(n, edges, family="dijet", sizes=(3, 4, 5))
    assert sel.chosen.model == "dijet3"
    assert len(sel.steps) == 1
    assert not sel.steps[0].larger_accepted
    assert set(sel.fits) == {"dijet3", "dijet4", "dijet5"}
    assert sel.fits["dijet4"].deviance <= sel.fits["dijet3"].deviance + 1e-6  # nested fits


def test_selection_needs_the_fourth_parameter_when_the_data_do(edges: np.ndarray, spectrum: Spectrum) -> None:
    n = np.random.default_rng(4).poisson(spectrum(2e6)).astype(float)  # p3 = 0.1 is visible here
    for method in ("ftest", "lrt"):
        sel = select_background(n, edges, family="dijet", sizes=(3, 4, 5), method=method)
        assert sel.chosen.model in ("dijet4", "dijet5")
        assert sel.steps[0].larger_accepted
        assert sel.steps[0].p_value < 0.05
    fixed = select_background(n, edges, family="dijet", sizes=(3, 4, 5), method="fixed")
    assert fixed.chosen.model == "dijet3"
    assert not fixed.steps


def test_q0_is_zero_for_a_deficit_and_matches_minuit(edges: np.ndarray, spectrum: Spectrum) -> None:
    model = DijetFunction(edges, 13000.0, k=4)
    masses = np.geomspace(1800.0, 5500.0, 40)
    shapes = GaussianSignal(0.03).fractions(edges, masses)
    n = np.random.default_rng(8).poisson(spectrum(5e4) - 150 * shapes[15]).astype(float)
    start = fit_binned(n, model).theta
    fast = profile_scan(n, model, shapes, masses, start)
    ref = minuit_scan(n, model, shapes, masses, start)
    assert fast.q0[0, 15] == 0.0
    assert fast.signal_yield[0, 15] < 0
    assert fast.n_failed == 0
    ok = ref.converged[0]
    assert ok.mean() > 0.8
    np.testing.assert_allclose(fast.q0[0, ok], ref.q0[0, ok], atol=2e-4)
    err = np.nanmax(ref.signal_error)
    np.testing.assert_allclose(fast.signal_yield[0, ok], ref.signal_yield[0, ok], atol=0.05 * err)
    # where MIGRAD alone stalls, the Newton minimum is lower, never higher
    assert np.all(fast.q0[0, ~ok] >= ref.q0[0, ~ok] - 2e-4)


def test_q0_only_mode_gives_the_same_q0(edges: np.ndarray, spectrum: Spectrum) -> None:
    model = DijetFunction(edges, 13000.0, k=4)
    masses = np.geomspace(1800.0, 5500.0, 30)
    shapes = GaussianSignal(0.03).fractions(edges, masses)
    counts = toy_counts(spectrum(2e4), 3, range(20))
    start = fit_binned(counts[0], model).theta
    full = profile_scan(counts, model, shapes, masses, start)
    quick = profile_scan(counts, model, shapes, masses, start, q0_only=True)
    np.testing.assert_allclose(quick.q0, full.q0, atol=1e-9)
    assert np.isnan(quick.signal_yield[quick.q0 == 0]).any()


def test_asimov_significance(edges: np.ndarray, spectrum: Spectrum) -> None:
    # Asimov data (expected counts): the fit returns the injected yield exactly; q0 stays
    # below the known-background counting value 2 sum [(s+b) ln(1 + s/b) - s] (profiling the
    # background costs sensitivity) and, for a small signal, equals (s / sigma_s)^2 (Wald)
    b = spectrum(5e4)
    model = DijetFunction(edges, 13000.0, k=4)
    shape = GaussianSignal(0.03).fractions(edges, np.array([3000.0]))
    for injected in (20.0, 200.0):
        s = injected * shape[0]
        known = 2 * np.sum((s + b) * np.log1p(s / b) - s)
        scan = profile_scan(b + s, model, shape, np.array([3000.0]), model.start(b))
        # exact up to the minimiser's tolerance (EDM 1e-8: ~1e-4 of an error)
        assert scan.signal_yield[0, 0] == pytest.approx(injected, abs=1e-3 * scan.signal_error[0, 0])
        assert 0.5 * known < scan.q0[0, 0] < known
        if injected == 20.0:
            assert scan.q0[0, 0] == pytest.approx((injected / scan.signal_error[0, 0]) ** 2, rel=0.03)


def test_calibration_on_background_only_pseudo_experiments(edges: np.ndarray, spectrum: Spectrum) -> None:
    """q0 ~ 1/2 delta(0) + 1/2 chi2(1) and the signal-yield pull is a unit Gaussian (600 toys)."""
    model = DijetFunction(edges, 13000.0, k=4)
    mass = np.array([3000.0])
    shapes = GaussianSignal(0.03).fractions(edges, mass)
    mu = spectrum(5e4)
    counts = toy_counts(mu, 2024, range(600))
    scan = profile_scan(counts, model, shapes, mass, model.start(mu))
    q0 = scan.q0[:, 0]
    assert scan.n_failed == 0
    zero = np.mean(q0 == 0)
    assert 0.45 <= zero <= 0.55
    assert stats.kstest(q0[q0 > 0], stats.chi2(1).cdf).pvalue > 0.01
    s, err = scan.signal_yield[:, 0], scan.signal_error[:, 0]
    pull = s / err
    assert abs(np.mean(s)) < 3 * np.std(s) / np.sqrt(s.size)
    assert abs(np.mean(pull)) < 0.15
    assert 0.9 < np.std(pull) < 1.1
    np.testing.assert_allclose(local_p(q0[q0 > 0]), stats.norm.sf(np.sqrt(q0[q0 > 0])))


@pytest.mark.slow
def test_calibration_with_minuit(edges: np.ndarray, spectrum: Spectrum) -> None:
    """The same law with the reported MINUIT fits (MIGRAD + HESSE) on 500 toys."""
    model = DijetFunction(edges, 13000.0, k=4)
    shape = GaussianSignal(0.03).fractions(edges, np.array([3000.0]))[0]
    mu = spectrum(5e4)
    start = model.start(mu)
    q0, pull = [], []
    for n in toy_counts(mu, 7, range(500)):
        b = fit_binned(n, model, start=start, refine=False)
        sb = fit_binned(n, model, shape, mass=3000.0, start=np.append(b.theta, 0.0), refine=False)
        q0.append(2 * (b.nll - sb.nll) if sb.signal_yield > 0 else 0.0)
        pull.append(sb.signal_yield / sb.signal_error)
    q0_arr, pull_arr = np.clip(q0, 0, None), np.array(pull)
    assert 0.45 <= np.mean(q0_arr == 0) <= 0.55
    assert stats.kstest(q0_arr[q0_arr > 0], stats.chi2(1).cdf).pvalue > 0.01
    assert abs(np.mean(pull_arr)) < 0.15
    assert 0.9 < np.std(pull_arr) < 1.1


def test_injected_signal_is_found_and_grows_with_its_yield(edges: np.ndarray, spectrum: Spectrum) -> None:
    model = DijetFunction(edges, 13000.0, k=4)
    masses = np.geomspace(1800.0, 5500.0, 60)
    shapes = GaussianSignal(0.03).fractions(edges, masses)
    sig_shape = GaussianSignal(0.03).fractions(edges, np.array([3300.0]))[0]
    rng = np.random.default_rng(21)
    background = rng.poisson(spectrum(5e4)).astype(float)
    z_best = []
    for injected in (150.0, 300.0, 600.0):
        n = background + rng.poisson(injected * sig_shape)
        scan = profile_scan(n, model, shapes, masses, fit_binned(n, model).theta)
        best = int(np.argmax(scan.q0[0]))
        assert abs(masses[best] / 3300.0 - 1) < 0.03
        z_best.append(scan.z[0, best])
        assert scan.signal_yield[0, best] == pytest.approx(injected, abs=3 * scan.signal_error[0, best])
    assert z_best[0] < z_best[1] < z_best[2]
    assert z_best[0] > 2.0
