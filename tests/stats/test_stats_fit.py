"""The Poisson cost, MINUIT fits and the compiled Newton minimiser."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from coffea_anomaly.errors import FitFailedError
from coffea_anomaly.stats.background import Bernstein, DijetFunction
from coffea_anomaly.stats.fit import fit_binned
from coffea_anomaly.stats.likelihood import EPS, gradient_hessian, nll, nll_terms
from coffea_anomaly.stats.newton import minimize_batch, num_threads
from coffea_anomaly.stats.signal import GaussianSignal, TemplateSignal

Spectrum = Callable[[float], np.ndarray]


def test_nll_is_half_the_poisson_deviance() -> None:
    n = np.array([0.0, 1.0, 4.0])
    mu = np.array([0.5, 2.0, 4.0])
    by_hand = 0.5 + (2.0 - 1.0 + np.log(1 / 2.0)) + 0.0
    assert float(nll(mu, n)) == pytest.approx(by_hand, rel=1e-14)
    assert float(nll(n + (n == 0), n + (n == 0))) == 0.0  # saturated model


def test_cost_continues_smoothly_below_zero_expectation() -> None:
    n = np.array([3.0])
    below, above = np.array([EPS * (1 - 1e-9)]), np.array([EPS * (1 + 1e-9)])
    t_lo, d_lo, _ = nll_terms(below, n)
    t_hi, d_hi, _ = nll_terms(above, n)
    assert t_lo[0] == pytest.approx(t_hi[0], rel=1e-9)
    assert d_lo[0] == pytest.approx(d_hi[0], rel=1e-6)
    t_neg = nll_terms(np.array([-1.0]), n)[0][0]
    assert np.isfinite(t_neg)
    assert t_neg > t_hi[0]


def test_gaussian_fractions() -> None:
    edges = np.linspace(0.0, 2000.0, 201)
    f = GaussianSignal(0.05).fractions(edges, np.array([1000.0, 400.0]))
    assert f.shape == (2, 200)
    np.testing.assert_allclose(f.sum(axis=1), 1.0, atol=1e-12)
    centres = 0.5 * (edges[1:] + edges[:-1])
    assert np.sum(f[0] * centres) == pytest.approx(1000.0, rel=1e-6)
    assert np.sqrt(np.sum(f[0] * (centres - 1000.0) ** 2)) == pytest.approx(50.0, rel=1e-2)
    assert f[0, :100].sum() == pytest.approx(0.5, abs=1e-12)  # symmetric about the mass


def test_template_scales_with_mass() -> None:
    t_edges = np.linspace(800.0, 1200.0, 41)
    gauss = GaussianSignal(0.05).fractions(t_edges, np.array([1000.0]))[0]
    template = TemplateSignal(t_edges, gauss * 123.0, 1000.0)
    edges = np.linspace(1600.0, 2400.0, 41)
    moved = template.fractions(edges, np.array([2000.0]))[0]
    np.testing.assert_allclose(moved, gauss / gauss.sum(), atol=1e-12)  # same shape in m / M
    assert template.width(2000.0) == pytest.approx(100.0, rel=0.02)


def test_gradient_and_hessian_match_finite_differences(edges: np.ndarray, spectrum: Spectrum) -> None:
    model = DijetFunction(edges, 13000.0, k=4)
    n = np.random.default_rng(2).poisson(spectrum(2e4)).astype(float)
    shape = GaussianSignal(0.03).fractions(edges, np.array([3000.0]))
    x = np.append(model.start(n), 30.0)
    g, h = gradient_hessian(x[None], n[None], np.zeros((1, n.size)), model, shape)

    def f(v: np.ndarray) -> float:
        return float(nll(model.expected(v[:4]) + v[4] * shape[0], n, np.zeros(n.size)))

    step = 1e-5
    eye = np.eye(5) * step
    g_num = np.array([(f(x + e) - f(x - e)) / (2 * step) for e in eye])
    h_num = np.array([[(f(x + a + b) - f(x + a - b) - f(x - a + b) + f(x - a - b)) / (4 * step**2) for b in eye]
                      for a in eye])
    np.testing.assert_allclose(g[0], g_num, rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(h[0], h_num, rtol=1e-3, atol=1e-1)


def test_fit_recovers_truth_on_expected_counts(edges: np.ndarray, spectrum: Spectrum) -> None:
    mu = spectrum(5e4)
    res = fit_binned(mu, DijetFunction(edges, 13000.0, k=4))
    assert res.valid
    assert res.accurate
    assert res.nll == pytest.approx(0.0, abs=1e-6)
    np.testing.assert_allclose(res.expected, mu, rtol=1e-5)  # EDM 1e-5: parameters to ~1e-3 sigma
    p = res.physical()
    assert p["p1"][0] == pytest.approx(10.0, rel=1e-4)
    assert p["p3"][0] == pytest.approx(0.1, rel=1e-3)
    assert all(e > 0 for _, e in p.values())


def test_hesse_errors_are_the_inverse_hessian(edges: np.ndarray, spectrum: Spectrum) -> None:
    model = DijetFunction(edges, 13000.0, k=4)
    n = np.random.default_rng(5).poisson(spectrum(2e4)).astype(float)
    res = fit_binned(n, model)
    _, h = gradient_hessian(res.values[None], n[None], np.zeros((1, n.size)), model, None)
    np.testing.assert_allclose(res.covariance, np.linalg.inv(h[0]), rtol=1e-3)


def test_failed_fit_raises_and_keeps_the_result(edges: np.ndarray, spectrum: Spectrum) -> None:
    # an empty window at the signal mass: the yield goes negative until the expected count
    # in those bins reaches zero, where the cost is a wall and MIGRAD cannot converge
    model = DijetFunction(edges, 13000.0, k=4)
    shape = GaussianSignal(0.03).fractions(edges, np.array([3000.0]))[0]
    n = np.round(spectrum(3000.0))
    n[np.abs(0.5 * (edges[1:] + edges[:-1]) - 3000.0) < 200.0] = 0.0
    with pytest.raises(FitFailedError) as info:
        fit_binned(n, model, shape, mass=3000.0)
    result = info.value.result
    assert result is not None
    assert not result.valid
    assert result.model == "dijet4+signal"
    assert "EDM above maximum" in result.message
    assert result.signal_yield < 0
    assert result.expected.min() < 1e-6
    assert "at m = 3000 GeV did not converge" in str(info.value)
    assert not fit_binned(n, model, shape, mass=3000.0, check=False).valid


def test_signal_fit_yield_and_error(edges: np.ndarray, spectrum: Spectrum) -> None:
    shape = GaussianSignal(0.03).fractions(edges, np.array([3000.0]))[0]
    mu = spectrum(5e4) + 500.0 * shape
    res = fit_binned(mu, DijetFunction(edges, 13000.0, k=4), shape, mass=3000.0)
    assert res.signal_yield == pytest.approx(500.0, rel=1e-3)
    # Asimov error ~ sqrt(sum s^2/mu)^-1 for a fixed background; profiling only widens it
    fixed = 1.0 / np.sqrt(np.sum((shape**2) / mu))
    assert fixed < res.signal_error < 2.0 * fixed


@pytest.mark.parametrize("family", ["dijet", "bernstein"])
def test_newton_finds_the_minuit_minimum(edges: np.ndarray, spectrum: Spectrum, family: str) -> None:
    e = edges[:31] if family == "bernstein" else edges  # a range a cubic polynomial can describe
    mu = spectrum(3e4)[: e.size - 1]
    model = DijetFunction(e, 13000.0, k=4) if family == "dijet" else Bernstein(e, order=3)
    shape = GaussianSignal(0.03).fractions(e, np.array([0.5 * (e[0] + e[-1])]))
    rng = np.random.default_rng(11)
    for _ in range(3):
        n = rng.poisson(mu).astype(float)
        ref_b = fit_binned(n, model, refine=False)
        ref_sb = fit_binned(n, model, shape[0], mass=1.0, start=np.append(ref_b.theta, 0.0), refine=False)
        start = model.start(n)
        b = minimize_batch(n[None], model, start[None])
        sb = minimize_batch(n[None], model, np.append(start, 0.0)[None], shape, errors=True)
        assert b.converged[0]
        assert sb.converged[0]
        assert b.nll[0] == pytest.approx(ref_b.nll, abs=2e-5)
        assert sb.nll[0] == pytest.approx(ref_sb.nll, abs=2e-5)
        assert sb.params[0, -1] == pytest.approx(ref_sb.signal_yield, abs=0.02 * ref_sb.signal_error)
        assert sb.errors[0, -1] == pytest.approx(ref_sb.signal_error, rel=1e-3)


def test_newton_results_do_not_depend_on_batch_or_threads(edges: np.ndarray, spectrum: Spectrum) -> None:
    model = DijetFunction(edges, 13000.0, k=4)
    counts = np.random.default_rng(3).poisson(spectrum(2e4), size=(40, edges.size - 1)).astype(float)
    start = np.tile(model.start(counts[0]), (40, 1))
    with num_threads(1):
        alone = minimize_batch(counts[7:8], model, start[7:8])
        one = minimize_batch(counts, model, start)
    with num_threads(2):
        two = minimize_batch(counts, model, start)
    np.testing.assert_array_equal(one.params, two.params)
    np.testing.assert_array_equal(one.params[7], alone.params[0])
    assert one.converged.all()
