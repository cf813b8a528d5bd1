"""Score cuts and uniformly populated categories (QUAK "method 2")."""

from __future__ import annotations

import numpy as np
import pytest

from coffea_anomaly.errors import ConfigError, InputDataError
from coffea_anomaly.stats.categories import ScoreCut, make_categories, parse_cut


def test_parse_cut() -> None:
    assert parse_cut("score1>=3") == ScoreCut("score1", ">=", 3.0)
    assert parse_cut(" score < 1e-3 ") == ScoreCut("score", "<", 1e-3)
    assert str(parse_cut("s2>8")) == "s2>8"
    with pytest.raises(ConfigError):
        parse_cut("score => 3")


def _uniform_2d(n_mjj: int = 4, n1: int = 30, n2: int = 30) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """Counts flat in both scores (with empty flow bins), m_jj weights 1, 2, 3, ..."""
    counts = np.zeros((n_mjj, n1 + 2, n2 + 2))
    counts[:, 1:-1, 1:-1] = np.arange(1, n_mjj + 1)[:, None, None] * 10.0
    e1 = np.concatenate([[-np.inf], np.linspace(0, 3, n1 + 1), [np.inf]])
    e2 = np.concatenate([[-np.inf], np.linspace(0, 30, n2 + 1), [np.inf]])
    return counts, (e1, e2)


def test_three_by_three_categories_are_equally_populated() -> None:
    counts, edges = _uniform_2d()
    cats = make_categories(counts, edges, ("lbkg", "lsig"), shape=(3, 3))
    assert [c.name for c in cats] == [f"{i}x{j}" for i in (1, 2, 3) for j in (1, 2, 3)]
    np.testing.assert_allclose([c.fraction for c in cats], 1 / 9)
    assert sum(c.n_events for c in cats) == pytest.approx(counts.sum())
    assert cats[0].score_ranges == ((-np.inf, 1.0), (-np.inf, 10.0))
    assert cats[4].score_ranges == ((1.0, 2.0), (10.0, 20.0))
    assert cats[8].score_ranges == ((2.0, np.inf), (20.0, np.inf))
    np.testing.assert_allclose(cats[4].counts / cats[4].counts[0], [1, 2, 3, 4])  # m_jj shape kept


def test_second_axis_is_split_within_each_slice_of_the_first() -> None:
    counts, edges = _uniform_2d(n1=2, n2=40)
    # in the upper half of score 1 the events sit at large score 2 only
    counts[:, 2, 1:21] = 0.0
    cats = make_categories(counts, edges, ("a", "b"), shape=(2, 2))
    low, high = cats[1].score_ranges[1], cats[3].score_ranges[1]
    assert low[0] == pytest.approx(15.0)   # median of b in the lower half of a
    assert high[0] == pytest.approx(22.5)  # median of b where it is non-zero
    # two score-1 bins hold 2/3 and 1/3 of the events: the first split cannot do better
    np.testing.assert_allclose([c.fraction for c in cats], [1 / 3, 1 / 3, 1 / 6, 1 / 6])


def test_overflow_events_are_kept() -> None:
    counts = np.zeros((3, 6))
    counts[:, 1:5] = 10.0
    counts[:, 5] = 40.0  # beyond the last edge: the most anomalous events
    edges = (np.array([-np.inf, 0.0, 1.0, 2.0, 3.0, 4.0, np.inf]),)
    cats = make_categories(counts, edges, ("score",), shape=(2,))
    assert sum(c.n_events for c in cats) == counts.sum()
    assert cats[1].score_ranges == ((4.0, np.inf),)  # half of the events lie beyond 4
    assert cats[0].n_events == cats[1].n_events


def test_cuts_snap_to_edges_and_select() -> None:
    counts, edges = _uniform_2d()
    (cat,) = make_categories(counts, edges, ("lbkg", "lsig"), cuts=(parse_cut("lbkg>2.04"), parse_cut("lsig<8")))
    assert cat.score_ranges == ((2.0, np.inf), (-np.inf, 8.0))
    assert cat.n_events == pytest.approx(counts.sum() / 3 * 8 / 30)
    one_d = make_categories(counts, edges, ("lbkg", "lsig"), cuts=(parse_cut("lbkg>1.5"),), shape=(3,))
    assert len(one_d) == 3
    assert one_d[0].score_ranges[0] == (1.5, 2.0)


def test_category_errors() -> None:
    counts, edges = _uniform_2d(n1=2)
    with pytest.raises(InputDataError, match="too coarse"):
        make_categories(counts, edges, ("a", "b"), shape=(3, 3))
    with pytest.raises(ConfigError, match="unknown axis"):
        make_categories(counts, edges, ("a", "b"), cuts=(parse_cut("c>1"),))
    with pytest.raises(InputDataError, match="no"):
        make_categories(counts, edges, ("a", "b"), cuts=(parse_cut("a>5"),))
    with pytest.raises(ConfigError, match="score axes"):
        make_categories(counts[:, :, 0], edges[:1], ("a",), shape=(2, 2))
