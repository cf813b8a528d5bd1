"""Score axes are fixed before the job; quantile edges make x % slices exact."""

from __future__ import annotations

import hist
import numpy as np
import pytest

from coffea_anomaly.histograms import make_hist, mjj_axis, quantile_edges, score_axis


def test_quantile_edges_sorted_unique() -> None:
    edges = quantile_edges([0.9, 0.1, 0.5, 0.99], [3.0, 1.0, 1.0, 7.0])
    np.testing.assert_array_equal(edges, [1.0, 3.0, 7.0])


def test_quantile_edges_need_two_values() -> None:
    with pytest.raises(ValueError, match="two distinct"):
        quantile_edges([0.5], [1.0])


def test_score_axis_from_card_quantiles_puts_thresholds_on_edges() -> None:
    q = [0.0, 0.5, 0.9, 0.99, 1.0]
    v = [0.0, 0.2, 0.5, 0.8, 2.0]
    ax = score_axis(quantiles=q, values=v)
    assert isinstance(ax, hist.axis.Variable)
    assert 0.5 in ax.edges and 0.8 in ax.edges


def test_score_axis_default_is_log() -> None:
    ax = score_axis()
    assert ax.edges[0] == pytest.approx(1e-7)
    assert ax.edges[-1] == pytest.approx(1.0)
    ratios = ax.edges[1:] / ax.edges[:-1]
    np.testing.assert_allclose(ratios, ratios[0])


def test_mjj_axis_width() -> None:
    ax = mjj_axis(1000, 8000, 50)
    assert len(ax) == 140


def test_make_hist_dask_flavour() -> None:
    import hist.dask as hda

    h = make_hist(score_axis(), dask=True)
    eager = make_hist(score_axis())
    assert isinstance(h, hda.Hist) and not isinstance(eager, hda.Hist)
    # same axes and weighted storage in both flavours
    assert h.axes == eager.axes
    assert h.storage_type is eager.storage_type is hist.storage.Weight


def test_score_axis_max_bins_keeps_ends_and_subset_of_quantile_edges() -> None:
    q = np.linspace(0, 1, 101)
    v = q**2
    ax = score_axis(quantiles=q, values=v, max_bins=10)
    assert len(ax) == 10
    assert ax.edges[0] == 0.0 and ax.edges[-1] == 1.0
    assert set(ax.edges) <= set(v)
    assert len(score_axis(quantiles=q, values=v, max_bins=500)) == 100
    assert len(score_axis(max_bins=25)) == 25
