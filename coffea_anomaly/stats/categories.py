"""Score selections and uniformly populated categories ("method 2" of QUAK).

The input is an m_jj histogram with one or two finely binned score axes (flow bins
included, so nothing beyond the last edge is lost). A selection keeps score bins on one
side of a cut (snapped to the nearest bin edge, reported). Categories split the selected
events into equally populated slices: along the first score axis into ``n1`` slices,
then, for two axes, each slice along the second axis into ``n2`` slices, as in the QUAK
paper (first L_bkg, then L_sig within each L_bkg region). Slice boundaries are bin edges,
so populations are equal up to the score binning; the achieved fractions are reported.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError, InputDataError

__all__ = ["Category", "ScoreCut", "cut_ranges", "make_categories", "parse_cut"]

_CUT = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*(>=|<=|>|<)\s*([-+0-9.eE]+|[-+]?inf)\s*$")


@dataclass(frozen=True)
class ScoreCut:
    """``axis op value``, e.g. ``score1 > 3``; ``>``/``>=`` keep the high side."""

    axis: str
    op: str
    value: float

    def __str__(self) -> str:
        return f"{self.axis}{self.op}{self.value:g}"


def parse_cut(text: str) -> ScoreCut:
    """Parse ``"NAME>VALUE"`` (also ``>=``, ``<``, ``<=``).

    Example:
        >>> parse_cut("score > 0.5")
        ScoreCut(axis='score', op='>', value=0.5)
    """
    m = _CUT.match(text)
    if not m:
        raise ConfigError(f"cannot parse score cut {text!r}; write e.g. 'score>0.5' or 'score2<8'")
    return ScoreCut(m.group(1), m.group(2), float(m.group(3)))


@dataclass(frozen=True, eq=False)
class Category:
    """One category: its m_jj counts and where it lies in score space.

    Attributes:
        name: label such as ``"1x2"`` (1-based slice numbers along each score axis).
        counts: m_jj counts ``(n_mjj,)``.
        score_ranges: ``(low, high)`` per score axis (edges; +-inf for flow bins).
        fraction: share of the selected events.
    """

    name: str
    counts: np.ndarray
    score_ranges: tuple[tuple[float, float], ...]
    fraction: float

    @property
    def n_events(self) -> float:
        """Total count of the category."""
        return float(self.counts.sum())


def _cut_range(edges: np.ndarray, cut: ScoreCut, lo: int, hi: int) -> tuple[int, int]:
    """Restrict the bin range ``[lo, hi)`` of one axis by ``cut`` (snapped to an edge)."""
    j = int(np.argmin(np.abs(edges - cut.value)))
    if cut.op in (">", ">="):
        return max(lo, j), hi
    return lo, min(hi, j)


def cut_ranges(score_edges: tuple[np.ndarray, ...], score_names: tuple[str, ...],
               cuts: tuple[ScoreCut, ...]) -> list[tuple[int, int]]:
    """The bin range ``[lo, hi)`` each score axis keeps after ``cuts`` (snapped to edges).

    Example:
        >>> cut_ranges((np.arange(5.0),), ("s",), (parse_cut("s>1.2"),))
        [(1, 4)]
    """
    ranges = [(0, e.size - 1) for e in score_edges]
    for cut in cuts:
        if cut.axis not in score_names:
            raise ConfigError(f"score cut on unknown axis {cut.axis!r}; axes: {', '.join(score_names)}")
        a = score_names.index(cut.axis)
        ranges[a] = _cut_range(score_edges[a], cut, *ranges[a])
    if any(hi <= lo for lo, hi in ranges):
        raise InputDataError("the score cuts select no bins")
    return ranges


def _slices(weights: np.ndarray, n: int, what: str) -> list[tuple[int, int]]:
    """Split bins into ``n`` contiguous groups of about equal total weight."""
    total = weights.sum()
    if total <= 0:
        raise InputDataError(f"no events left to split into {n} categories along {what}")
    cum = np.concatenate([[0.0], np.cumsum(weights)]) / total
    cuts = [0]
    for j in range(1, n):
        cuts.append(int(np.argmin(np.abs(cum - j / n))))
    cuts.append(weights.size)
    if any(b <= a for a, b in itertools.pairwise(cuts)):
        raise InputDataError(
            f"the {what} binning is too coarse (or too few events) for {n} equally populated categories"
        )
    return list(itertools.pairwise(cuts))


def make_categories(
    counts: np.ndarray,
    score_edges: tuple[np.ndarray, ...],
    score_names: tuple[str, ...],
    *,
    cuts: tuple[ScoreCut, ...] = (),
    shape: tuple[int, ...] = (),
) -> list[Category]:
    """Apply score cuts and split into uniformly populated categories.

    Args:
        counts: ``(n_mjj, n_s1[, n_s2])`` counts (score flow bins included).
        score_edges: edges of each score axis, ``n_s + 1`` values (+-inf at flow bins).
        score_names: names of the score axes (used by ``cuts``).
        cuts: selections on score axes.
        shape: ``()`` for one category, ``(n,)`` along the first score axis, ``(n1, n2)``
            in the plane of the two score axes.

    Returns:
        The categories (row-major over the slices).
    """
    counts = np.asarray(counts, dtype=float)
    n_axes = counts.ndim - 1
    if len(score_edges) != n_axes or len(score_names) != n_axes:
        raise InputDataError(f"expected {counts.ndim - 1} score axes, got {len(score_edges)} edges")
    if len(shape) > n_axes:
        raise ConfigError(
            f"{'x'.join(map(str, shape))} categories need {len(shape)} score axes; the histogram has {n_axes}"
        )
    if any(n < 1 for n in shape):
        raise ConfigError(f"category counts must be positive, got {shape}")
    ranges = cut_ranges(score_edges, score_names, cuts)
    index = (slice(None), *[slice(lo, hi) for lo, hi in ranges])
    sel = counts[index]
    total = sel.sum()
    if total <= 0:
        raise InputDataError("the score cuts select no events")

    def edges_of(axis: int, lo: int, hi: int) -> tuple[float, float]:
        off = ranges[axis][0]
        return float(score_edges[axis][off + lo]), float(score_edges[axis][off + hi])

    other = tuple(range(2, sel.ndim))
    full = [edges_of(a, 0, sel.shape[a + 1]) for a in range(n_axes)]
    if not shape:
        return [Category("all", sel.sum(axis=tuple(range(1, sel.ndim))), tuple(full), 1.0)]
    out: list[Category] = []
    first = sel.sum(axis=(0, *other))
    for i, (a0, a1) in enumerate(_slices(first, shape[0], score_names[0]), start=1):
        part = sel[:, a0:a1]
        if len(shape) == 1:
            m = part.sum(axis=tuple(range(1, part.ndim)))
            rng = (edges_of(0, a0, a1), *full[1:])
            out.append(Category(f"{i}", m, rng, float(m.sum() / total)))
            continue
        second = part.sum(axis=(0, 1, *range(3, part.ndim)))
        for j, (b0, b1) in enumerate(_slices(second, shape[1], score_names[1]), start=1):
            m = part[:, :, b0:b1].sum(axis=tuple(range(1, part.ndim)))
            rng = (edges_of(0, a0, a1), edges_of(1, b0, b1), *full[2:])
            out.append(Category(f"{i}x{j}", m, rng, float(m.sum() / total)))
    return out
