"""Background shapes: the dijet function family and Bernstein polynomials, bin-integrated."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.integrate import quad

from coffea_anomaly.errors import ConfigError
from coffea_anomaly.stats.background import (
    Bernstein,
    DijetFunction,
    bernstein_basis,
    bernstein_integral,
    choose_nodes,
    dijet_function,
    make_background,
)


def test_dijet_function_values_by_hand() -> None:
    # x = e^-1: ln x = -1, so x^(p2 + p3 ln x + p4 ln^2 x) = e^-(p2 - p3 + p4)
    x = np.exp(-1.0)
    expected = 2.0 * (1 - x) ** 3.0 / np.exp(-(4.0 - 0.5 + 0.25))
    assert dijet_function(x, (2.0, 3.0, 4.0, 0.5, 0.25)) == pytest.approx(expected, rel=1e-14)
    # 3 parameters: p0 (1-x)^p1 / x^p2
    assert dijet_function(0.5, (1.0, 1.0, 2.0)) == pytest.approx(0.5 / 0.25)
    with pytest.raises(ConfigError):
        dijet_function(0.5, (1.0, 2.0))


@pytest.mark.parametrize("k", [3, 4, 5])
def test_dijet_parameters_round_trip(edges: np.ndarray, k: int) -> None:
    model = DijetFunction(edges, sqrt_s=13000.0, k=k)
    p = (2.5, 9.0, 4.5, 0.2, -0.03)[:k]
    values, _ = model.physical(model.to_theta(p), None)
    np.testing.assert_allclose(values, p, rtol=1e-10, atol=1e-12)


def test_dijet_runaway_normalisation_is_inf_without_a_warning(edges: np.ndarray) -> None:
    import warnings

    model = DijetFunction(edges, sqrt_s=13000.0, k=4)
    theta = model.to_theta((2.5, 9.0, 4.5, 0.2))
    shift = np.linalg.solve(model._map, np.eye(4)[0]) * 1000.0  # log p0 += 1000
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        values, errors = model.physical(theta + shift, np.eye(4))
    assert values[0] == np.inf
    np.testing.assert_allclose(values[1:], (9.0, 4.5, 0.2), rtol=1e-9)
    assert np.isfinite(errors[1:]).all()


def test_dijet_bins_are_integrals_not_centres(edges: np.ndarray) -> None:
    p = (3.0, 10.0, 5.0, 0.1)
    model = DijetFunction(edges, sqrt_s=13000.0, k=4, nodes=3)
    mu = model.expected(model.to_theta(p))
    exact = np.array([quad(lambda m: dijet_function(m / 13000.0, p), a, b)[0] for a, b in itertools.pairwise(edges)])
    np.testing.assert_allclose(mu, exact, rtol=1e-8)
    centres = dijet_function(0.5 * (edges[1:] + edges[:-1]) / 13000.0, p) * np.diff(edges)
    assert np.max(np.abs(centres / exact - 1)) > 1e-4  # evaluating at centres would be visibly wrong


def test_dijet_nested_sizes_give_the_same_shape(edges: np.ndarray) -> None:
    small = DijetFunction(edges, sqrt_s=13000.0, k=3)
    big = DijetFunction(edges, sqrt_s=13000.0, k=4)
    theta = small.to_theta((1.0, 8.0, 4.0))
    np.testing.assert_allclose(big.expected(small.nested(theta, big)), small.expected(theta), rtol=1e-12)
    with pytest.raises(ConfigError):
        small.nested(theta, DijetFunction(edges, sqrt_s=13000.0, k=5))


def test_dijet_range_must_lie_below_sqrt_s(edges: np.ndarray) -> None:
    with pytest.raises(ConfigError, match="sqrt_s"):
        DijetFunction(edges, sqrt_s=5000.0, k=3)


def test_bernstein_basis_small_cases() -> None:
    np.testing.assert_allclose(bernstein_basis(np.array([0.5]), 2), [[0.25, 0.5, 0.25]])
    np.testing.assert_allclose(bernstein_basis(np.array([0.0, 1.0]), 3), [[1, 0, 0, 0], [0, 0, 0, 1]])
    t = np.linspace(0, 1, 7)
    np.testing.assert_allclose(bernstein_basis(t, 4).sum(axis=-1), 1.0)  # partition of unity


def test_bernstein_integral_matches_quadrature() -> None:
    for j in range(4):
        exact = quad(lambda u, j=j: bernstein_basis(np.array([u]), 3)[0, j], 0, 0.3)[0]
        assert bernstein_integral(np.array([0.3]), 3)[0, j] == pytest.approx(exact, rel=1e-12)
    np.testing.assert_allclose(bernstein_integral(np.array([1.0]), 3), [[0.25] * 4])


def test_bernstein_coefficients_are_yields(edges: np.ndarray) -> None:
    model = Bernstein(edges, order=3)
    c = np.array([400.0, 100.0, 20.0, 5.0])
    mu = model.expected(c)
    assert mu.sum() == pytest.approx(c.sum())
    only_first = model.expected(np.array([1.0, 0, 0, 0]))
    t = (edges - edges[0]) / (edges[-1] - edges[0])
    np.testing.assert_allclose(only_first, np.diff(-((1 - t) ** 4)), atol=1e-15)  # int of 4 (1-t)^3


def test_bernstein_degree_elevation_is_exact(edges: np.ndarray) -> None:
    b3, b4 = Bernstein(edges, order=3), Bernstein(edges, order=4)
    c = np.array([40.0, 10.0, 2.0, 0.5])
    np.testing.assert_allclose(b4.expected(b3.nested(c, b4)), b3.expected(c), rtol=1e-12)


def test_kernel_spec_reproduces_expected(edges: np.ndarray) -> None:
    for model, theta in ((DijetFunction(edges, 13000.0, 4), np.array([2.0, -1.0, -3.0, 0.2])),
                         (Bernstein(edges, 2), np.array([30.0, 5.0, 1.0]))):
        phi, w, loglin = model.kernel_spec()
        z = phi @ theta
        mu = (w * (np.exp(z) if loglin else z)).sum(axis=1)
        np.testing.assert_allclose(mu, model.expected(theta), rtol=1e-12)


def test_choose_nodes_grows_with_bin_width() -> None:
    fine = np.linspace(2000.0, 4000.0, 41)
    coarse = np.linspace(2000.0, 4000.0, 5)
    falling = lambda e: 1e6 * np.exp(-(0.5 * (e[1:] + e[:-1]) - 2000) / 150)  # noqa: E731
    assert choose_nodes(falling(fine), fine, 13000.0) == 2
    assert choose_nodes(falling(coarse), coarse, 13000.0) > 2


def test_make_background_by_name(edges: np.ndarray) -> None:
    assert make_background("dijet", 5, edges, 13000.0).name == "dijet5"
    assert make_background("bernstein", 3, edges, 13000.0).name == "bernstein3"
    with pytest.raises(ConfigError):
        make_background("expo", 2, edges, 13000.0)
