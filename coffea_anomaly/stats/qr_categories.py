"""Mass-decorrelated selections and categories of an m_jj x score [x score2] histogram.

The quantile-regression counterpart of :func:`~coffea_anomaly.stats.categories.make_categories`:
every threshold is a function of m_jj (:mod:`.quantile_regression`), so each selection and
each category keeps the same share of the events at every m_jj and does not sculpt the
spectrum. Order, as in the QUAK paper: optional fixed score cuts (snapped to bin edges);
then along the first score (e.g. the background loss) the ``keep`` share (highest by
default), split into ``n1`` bands equally populated at every m_jj; then, within each band,
the same along the second score (e.g. a signal-prior loss, ``low`` side for the paper's
"low signal loss"), fitted on that band's own events.

Category counts are sums of whole bins and of the straddling bins in proportion, so they
are not integers; the Poisson likelihood of the fits takes them as they are.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ConfigError, InputDataError
from .categories import Category, ScoreCut, cut_ranges
from .quantile_regression import QRBands, QRKeep, fixed_cut, qr_bands

__all__ = ["make_qr_categories"]


def _cut_mask(shape: tuple[int, ...], score_edges: tuple[np.ndarray, ...], score_names: tuple[str, ...],
              cuts: tuple[ScoreCut, ...]) -> np.ndarray:
    ranges = cut_ranges(score_edges, score_names, cuts)
    mask = np.zeros(shape)
    mask[(slice(None), *[slice(lo, hi) for lo, hi in ranges])] = 1.0
    return mask


def _per_axis(keeps: tuple[QRKeep, ...], score_names: tuple[str, ...]) -> dict[int, QRKeep]:
    out: dict[int, QRKeep] = {}
    for k in keeps:
        if k.axis is not None and k.axis not in score_names:
            raise ConfigError(f"--qr-keep on unknown axis {k.axis!r}; axes: {', '.join(score_names)}")
        a = 0 if k.axis is None else score_names.index(k.axis)
        if a in out:
            raise ConfigError(f"one quantile-regression selection per score axis; {score_names[a]} has two")
        out[a] = k
    return out


def _range_at(bands: QRBands, band: int, mjj: float) -> tuple[float, float]:
    thr = bands.thresholds(np.array([mjj]))[:, 0]
    return float(thr[band]), float(thr[band + 1])


def _bands_report(name: str, keep: QRKeep, bands: QRBands, fixed: tuple[float, np.ndarray] | None) -> dict[str, Any]:
    out = {"axis": name, "side": keep.side, "keep": keep.fraction, "n_bands": int(bands.targets.size),
           **bands.to_dict()}
    if fixed is not None:
        out["fixed_cut"] = {"threshold": fixed[0], "kept_fraction": fixed[1].tolist(),
                            "note": "one threshold for all m_jj at the overall quantile, for comparison"}
    return out


def make_qr_categories(
    counts: np.ndarray,
    mjj_edges: np.ndarray,
    score_edges: tuple[np.ndarray, ...],
    score_names: tuple[str, ...],
    *,
    keeps: tuple[QRKeep, ...] = (),
    shape: tuple[int, ...] = (),
    cuts: tuple[ScoreCut, ...] = (),
    degree: int | None = None,
) -> tuple[list[Category], dict[str, Any]]:
    """Quantile-regression selections and categories (see the module docstring).

    Args:
        counts: ``(n_mjj, n_s1[, n_s2])`` counts (score flow bins included).
        mjj_edges: m_jj edges (GeV).
        score_edges: edges of each score axis (+-inf at the flow bins).
        score_names: names of the score axes.
        keeps: at most one :class:`~.quantile_regression.QRKeep` per score axis.
        shape: ``()``, ``(n,)`` or ``(n1, n2)`` bands, equally populated at every m_jj.
        cuts: fixed score cuts applied first.
        degree: polynomial degree of every threshold (None: automatic).

    Returns:
        The categories (row-major) and a JSON-ready report of every threshold fit and of
        the share kept per m_jj bin. Category score ranges are the thresholds at the mean
        m_jj of the input.
    """
    counts = np.asarray(counts, dtype=float)
    mjj_edges = np.asarray(mjj_edges, dtype=float)
    n_axes = counts.ndim - 1
    if n_axes < 1:
        raise ConfigError("quantile-regression selections need a histogram with score axes (m_jj x score)")
    if len(shape) > n_axes:
        raise ConfigError(
            f"{'x'.join(map(str, shape))} categories need {len(shape)} score axes; the histogram has {n_axes}"
        )
    if any(n < 1 for n in shape):
        raise ConfigError(f"category counts must be positive, got {shape}")
    per_axis = _per_axis(keeps, score_names)
    base = counts * _cut_mask(counts.shape, score_edges, score_names, cuts)
    if base.sum() <= 0:
        raise InputDataError("the score cuts select no events")
    centres = 0.5 * (mjj_edges[1:] + mjj_edges[:-1])
    m_ref = float(np.average(centres, weights=base.sum(axis=tuple(range(1, base.ndim)))))
    full = [(float(e[0]), float(e[-1])) for e in score_edges]

    n0 = shape[0] if shape else 1
    k0 = per_axis.get(0, QRKeep(1.0))
    proj0 = base.sum(axis=tuple(range(2, base.ndim)))
    bands0 = qr_bands(proj0, mjj_edges, score_edges[0], n0, keep=k0.fraction, side=k0.side, degree=degree)
    fixed0 = fixed_cut(proj0, score_edges[0], k0.fraction, side=k0.side) if k0.fraction < 1 else None
    report: dict[str, Any] = {
        "method": "quantile regression of the score thresholds vs m_jj (VAE-QR)",
        "keep": [str(k) for k in keeps],
        "categories": list(shape),
        "mjj_edges": mjj_edges.tolist(),
        "reference_mjj": m_ref,
        "axes": [_bands_report(score_names[0], k0, bands0, fixed0)],
    }
    second = n_axes == 2 and (len(shape) == 2 or 1 in per_axis)
    n1 = shape[1] if len(shape) == 2 else 1
    k1 = per_axis.get(1, QRKeep(1.0))
    within: list[dict[str, Any]] = []
    cats: list[tuple[str, np.ndarray, tuple[tuple[float, float], ...]]] = []
    for i, w0 in enumerate(bands0.weights):
        sel = base * w0.reshape(w0.shape + (1,) * (n_axes - 1))
        r0 = _range_at(bands0, i, m_ref)
        if not second:
            name = f"{i + 1}" if shape else "all"
            cats.append((name, sel.sum(axis=tuple(range(1, sel.ndim))), (r0, *full[1:])))
            continue
        bands1 = qr_bands(sel.sum(axis=1), mjj_edges, score_edges[1], n1, keep=k1.fraction, side=k1.side,
                          degree=degree)
        within.append(_bands_report(score_names[1], k1, bands1, None))
        for j, w1 in enumerate(bands1.weights):
            m = (sel * w1[:, None, :]).sum(axis=(1, 2))
            name = f"{i + 1}x{j + 1}" if len(shape) == 2 else f"{i + 1}" if shape else "all"
            cats.append((name, m, (r0, _range_at(bands1, j, m_ref))))
    if within:
        report["axes"].append({"axis": score_names[1], "within_bands_of": score_names[0], "bands": within})
    total = sum(float(m.sum()) for _, m, _ in cats)
    if total <= 0:
        raise InputDataError("the quantile-regression selection keeps no events")
    return [Category(name, m, rng, float(m.sum() / total)) for name, m, rng in cats], report
