"""The BumpHunter sliding-window scan, checked by hand and against pyBumpHunter."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from scipy import stats

from coffea_anomaly.stats.bumphunter import bumphunter, window_scan

Spectrum = Callable[[float], np.ndarray]


def test_window_scan_by_hand() -> None:
    ref = np.array([0.0, 2.0, 2.0, 2.0, 2.0, 0.0])  # empty ends are left out
    data = np.array([9.0, 2.0, 6.0, 5.0, 1.0, 9.0])
    p, start, width = window_scan(data[None], ref, 1, 2)
    # windows: [2],[6],[5],[1] then [2,6],[6,5],[5,1]; the best is 6+5 over 2+2
    assert (int(start[0]), int(width[0])) == (2, 2)
    assert p[0] == pytest.approx(stats.poisson.sf(10, 4.0))
    deficit, _, _ = window_scan(np.array([[0.0, 1.0, 1.0, 1.0, 1.0, 0.0]]), ref, 1, 2)
    assert deficit[0] == 1.0  # deficits are not bumps


def test_ties_go_to_the_leftmost_window() -> None:
    ref = np.ones(6)
    data = np.array([0.0, 5.0, 0.0, 0.0, 5.0, 0.0])  # two equal single-bin excesses
    p, start, width = window_scan(data[None], ref, 1, 2)
    assert (int(start[0]), int(width[0])) == (1, 1)
    assert p[0] == pytest.approx(stats.poisson.sf(4, 1.0))


def test_global_p_value_from_pseudo_experiments(edges: np.ndarray, spectrum: Spectrum) -> None:
    ref = spectrum(2e4)
    quiet = bumphunter(ref.round(), ref, edges, n_toys=300, seed=3)
    assert quiet.global_p > 0.5  # the expectation itself is no bump
    bump = ref.copy()
    bump[30:33] += 4 * np.sqrt(ref[30:33])
    loud = bumphunter(bump.round(), ref, edges, n_toys=300, seed=3)
    assert loud.mass_range == (edges[30], edges[33])
    assert loud.global_p == 0.0
    assert loud.global_z == pytest.approx(stats.norm.isf(1 / 300))
    assert loud.local_z > 6


@pytest.mark.slow
def test_agrees_with_pybumphunter(edges: np.ndarray, spectrum: Spectrum, gaussian: Callable) -> None:
    from pyBumpHunter import BumpHunter1D

    ref = spectrum(3e4)
    rng = np.random.default_rng(12)
    data = rng.poisson(ref + gaussian(3200.0, 40.0)).astype(float)  # local ~3.6 sigma: global p ~ 0.03
    ours = bumphunter(data, ref, edges, n_toys=400, seed=1)

    theirs = BumpHunter1D(rang=[edges[0], edges[-1]], bins=edges, width_min=1, width_max=None, width_step=1,
                          scan_step=1, npe=400, nworker=1, seed=1)
    theirs.bump_scan(data, ref, is_hist=True)
    assert (ours.start, ours.width) == (int(theirs.min_loc_ar[0]), int(theirs.min_width_ar[0]))
    assert ours.width_max == theirs.width_max
    their_z = stats.norm.ppf(1 - theirs.min_Pval_ar[0])
    assert abs(ours.local_z - their_z) < 0.1
    assert ours.t_obs == pytest.approx(float(theirs.t_ar[0]), rel=1e-9)
    # global p-values from independent pseudo-experiments agree within their errors
    err = np.hypot(ours.global_p_error, np.sqrt(max(theirs.global_Pval * (1 - theirs.global_Pval), 1e-3) / 400))
    assert 0 < ours.global_p < 0.2
    assert abs(ours.global_p - theirs.global_Pval) < 4 * err
