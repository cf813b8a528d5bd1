"""Mass-decorrelated score selections by quantile regression (VAE-QR, as in CMS's dijet
anomaly search).

A fixed score threshold keeps a share of the events that changes with m_jj whenever the
score correlates with m_jj, and so sculpts the spectrum the bump hunt fits. Here the
threshold is a smooth function of m_jj, fitted on the data's own m_jj x score histogram:

1. per m_jj bin, the score quantile ``q``: the cumulative count interpolated linearly inside
   the score bin that straddles it (in log(score) when every finite edge is positive), with
   a distribution-free statistical error (half the distance between the quantiles
   ``q -+ sqrt(q (1 - q) / N)``);
2. a polynomial in m_jj fitted to these points with weights ``1/error``
   (:meth:`numpy.polynomial.Polynomial.fit`); its degree the smallest whose chi2 p-value
   exceeds 5 % (up to 3: a flexible curve would follow a signal's own bump), or a fixed one. Bins too sparse to measure the quantile
   (fewer than ``min_tail`` events expected on its thin side, or a quantile in a flow bin)
   are left out; below the first and above the last usable bin the threshold is constant;
3. applied per m_jj bin: score bins beyond the threshold are kept whole, the one
   straddling it in proportion (the same interpolation), and the share kept per m_jj bin
   is reported.

Uniformly populated categories are bands between such thresholds (e.g. quantiles 0.9,
0.95, 0.975, 1 of the score at every m_jj); with two score axes (QUAK), the bands of the
second score are fitted within each band of the first.

Example:
    >>> edges, mjj = np.linspace(0.0, 1.0, 11), np.array([1000.0, 2000.0, 3000.0])
    >>> counts = np.full((2, 10), 100.0)     # flat in the score, 1000 events per m_jj bin
    >>> sel = qr_select(counts, mjj, edges, keep=0.25, scale="linear")
    >>> [round(float(t), 6) for t in sel.fits[0].threshold(np.array([1500.0, 2500.0]))]
    [0.75, 0.75]
    >>> [round(float(k), 6) for k in sel.kept[0]]
    [0.25, 0.25]
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.polynomial import Polynomial
from scipy import stats

from ..errors import ConfigError, InputDataError

__all__ = [
    "QRBands",
    "QRKeep",
    "QuantileFit",
    "fixed_cut",
    "fraction_beyond",
    "parse_qr_keep",
    "qr_bands",
    "qr_select",
    "quantile_fit",
    "score_quantiles",
]

Side = Literal["high", "low"]

#: highest polynomial degree tried by the automatic choice
MAX_DEGREE = 3

_KEEP = re.compile(r"^\s*(?:([A-Za-z_][\w.]*)\s*:\s*)??(?:(high|low)\s*:\s*)?([-+0-9.eE]+)\s*$")


@dataclass(frozen=True)
class QRKeep:
    """Keep the ``fraction`` of the events with the highest (``side="high"``) or lowest
    score on ``axis`` at every m_jj (``axis`` None: the first score axis)."""

    fraction: float
    side: str = "high"
    axis: str | None = None

    def __post_init__(self) -> None:
        if not 0.0 < self.fraction <= 1.0:
            raise ConfigError(f"a quantile-regression keep fraction must be in (0, 1], got {self.fraction:g}")
        if self.side not in ("high", "low"):
            raise ConfigError(f"side must be 'high' or 'low', not {self.side!r}")

    def __str__(self) -> str:
        return f"{self.axis + ':' if self.axis else ''}{self.side}:{self.fraction:g}"


def parse_qr_keep(text: str) -> QRKeep:
    """Parse ``"0.05"`` (the highest 5 % of the first score), ``"low:0.5"`` or
    ``"score2:low:0.5"`` (the lowest half of ``score2``).

    Example:
        >>> parse_qr_keep("score2:low:0.5")
        QRKeep(fraction=0.5, side='low', axis='score2')
    """
    m = _KEEP.match(text)
    if not m:
        raise ConfigError(f"cannot parse --qr-keep {text!r}; write e.g. '0.05', 'low:0.5' or 'score2:low:0.5'")
    try:
        fraction = float(m.group(3))
    except ValueError as err:
        raise ConfigError(f"cannot parse --qr-keep {text!r}: {m.group(3)!r} is no number") from err
    return QRKeep(fraction, m.group(2) or "high", m.group(1))


def _transform(score_edges: np.ndarray, scale: str) -> tuple[np.ndarray, str]:
    """Edges in the variable of the interpolation and the fit (+-inf flow edges kept)."""
    e = np.asarray(score_edges, dtype=float)
    finite = np.isfinite(e)
    if finite.sum() < 2:
        raise InputDataError("a score axis needs at least one bin with finite edges")
    if scale == "auto":
        scale = "log" if np.all(e[finite] > 0) else "linear"
    if scale not in ("log", "linear"):
        raise ConfigError(f"scale must be 'auto', 'log' or 'linear', not {scale!r}")
    if scale == "log":
        if np.any(e[finite] <= 0):
            raise ConfigError("a log scale needs positive score edges")
        t = e.copy()
        t[finite] = np.log(e[finite])
        return t, scale
    return e, scale


def _inverse(t: np.ndarray, scale: str) -> np.ndarray:
    return np.exp(t) if scale == "log" else np.asarray(t, dtype=float)


def _interpolate(counts: np.ndarray, t_edges: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row: the value where the cumulative count reaches ``q`` of the row's total
    (linear inside the straddling bin), and whether that bin has a finite width."""
    n_rows, n_bins = counts.shape
    total = counts.sum(axis=1)
    cum = np.concatenate([np.zeros((n_rows, 1)), np.cumsum(counts, axis=1)], axis=1)
    target = q * total
    # the bin holding the quantile: the first whose upper cumulative count exceeds the target
    j = np.clip(np.sum(cum[:, 1:] <= target[:, None] * (1 + 1e-12), axis=1), 0, n_bins - 1)
    rows = np.arange(n_rows)
    n_j = counts[rows, j]
    lo, hi = t_edges[j], t_edges[j + 1]
    finite = np.isfinite(lo) & np.isfinite(hi) & (n_j > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.clip(np.where(n_j > 0, (target - cum[rows, j]) / n_j, 0.0), 0.0, 1.0)
        value = np.where(finite, lo + frac * (hi - lo), np.where(np.isfinite(lo), lo, hi))
    return np.where(total > 0, value, np.nan), finite & (total > 0)


def score_quantiles(counts: np.ndarray, t_edges: np.ndarray, q: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per m_jj bin: the score quantile ``q`` (in the variable of ``t_edges``), its error,
    and whether it is measured (events, and a quantile inside a bin of finite width).

    The cumulative count is interpolated linearly inside the straddling bin. The error is
    distribution-free: half the distance between the quantiles ``q -+ sqrt(q (1 - q) / N)``
    (the binomial one-sigma band of the order statistic), so a noisy density in one bin
    cannot give a point a spuriously small error. Rows without events give NaN.

    Example:
        >>> v, e, ok = score_quantiles(np.array([[10.0, 30.0, 0.0, 60.0]]), np.arange(5.0), 0.25)
        >>> float(v[0]), round(float(e[0]), 4), bool(ok[0])
        (1.5, 0.1443, True)
    """
    counts = np.asarray(counts, dtype=float)
    t_edges = np.asarray(t_edges, dtype=float)
    total = counts.sum(axis=1)
    value, ok = _interpolate(counts, t_edges, np.full(total.shape, q))
    with np.errstate(divide="ignore", invalid="ignore"):
        delta = np.sqrt(q * (1 - q) / total)
    lo, ok_lo = _interpolate(counts, t_edges, np.clip(q - delta, 0.0, 1.0))
    hi, ok_hi = _interpolate(counts, t_edges, np.clip(q + delta, 0.0, 1.0))
    # one side may run into a flow bin: then the other side alone
    error = np.where(ok_lo & ok_hi, 0.5 * (hi - lo), np.where(ok_hi, hi - value, value - lo))
    ok = ok & (ok_lo | ok_hi)
    return value, np.where(ok, error, np.nan), ok


@dataclass(frozen=True, eq=False)
class QuantileFit:
    """The fitted quantile-``q`` threshold of a score as a function of m_jj.

    Attributes:
        quantile: cumulative fraction below the threshold.
        scale: ``"log"`` (fitted in log(score)) or ``"linear"``.
        mjj: m_jj bin centres (GeV).
        measured: per-bin quantiles in the fit variable (NaN where a bin has no events).
        errors: their statistical errors (NaN where unusable).
        used: bins that entered the fit.
        polynomial: the fitted polynomial of m_jj (fit variable).
        mjj_range: the range of the used bins; outside it the threshold is constant.
        chi2, ndf, p_value: goodness of fit.
    """

    quantile: float
    scale: str
    mjj: np.ndarray
    measured: np.ndarray
    errors: np.ndarray
    used: np.ndarray
    polynomial: Polynomial
    mjj_range: tuple[float, float]
    chi2: float
    ndf: int
    p_value: float

    @property
    def degree(self) -> int:
        """Degree of the fitted polynomial."""
        return int(self.polynomial.degree())

    def threshold_t(self, mjj: np.ndarray) -> np.ndarray:
        """The threshold in the fit variable (log(score) or score) at ``mjj``."""
        return np.asarray(self.polynomial(np.clip(np.asarray(mjj, dtype=float), *self.mjj_range)))

    def threshold(self, mjj: np.ndarray) -> np.ndarray:
        """The score threshold at ``mjj`` (GeV)."""
        return _inverse(self.threshold_t(mjj), self.scale)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description (the polynomial in the variable mapped to [-1, 1])."""
        return {
            "quantile": self.quantile,
            "scale": self.scale,
            "degree": self.degree,
            "polynomial": {"coefficients": self.polynomial.coef.tolist(), "domain": self.polynomial.domain.tolist(),
                           "window": self.polynomial.window.tolist(),
                           "variable": "log(score)" if self.scale == "log" else "score"},
            "mjj_range_used": list(self.mjj_range),
            "chi2": self.chi2,
            "ndf": self.ndf,
            "p_value": self.p_value,
            "bins_used": int(self.used.sum()),
            "used": self.used.tolist(),
            "measured": _inverse(self.measured, self.scale).tolist(),
            "threshold": self.threshold(self.mjj).tolist(),
        }


def _huber(start: Polynomial, x: np.ndarray, y: np.ndarray, err: np.ndarray) -> Polynomial:
    """Refit with the Huber loss (quadratic within 2 sigma, linear beyond), so a few bins
    pulled by a resonance of its own cannot bend the whole curve."""
    from scipy.optimize import least_squares

    u = start.mapparms()[0] + start.mapparms()[1] * x

    def residuals(c: np.ndarray) -> np.ndarray:
        return (np.polynomial.polynomial.polyval(u, c) - y) / err

    res = least_squares(residuals, start.coef, loss="huber", f_scale=2.0, method="trf")
    return Polynomial(res.x, domain=start.domain, window=start.window)


def _polyfit(x: np.ndarray, y: np.ndarray, err: np.ndarray, degree: int | None,
             max_degree: int, alpha: float, robust: bool = True) -> tuple[Polynomial, float, int, float]:
    top = min(max_degree if degree is None else degree, x.size - 1)
    if degree is not None and degree > top:
        raise InputDataError(f"a degree-{degree} threshold fit needs {degree + 1} usable m_jj bins, found {x.size}")
    best = None
    for d in range(0 if degree is None else top, top + 1):
        poly = Polynomial.fit(x, y, d, w=1.0 / err)
        if robust and x.size > d + 1:
            poly = _huber(poly, x, y, err)
        chi2 = float(np.sum(((y - poly(x)) / err) ** 2))
        ndf = x.size - d - 1
        p = float(stats.chi2.sf(chi2, ndf)) if ndf > 0 else 1.0
        best = (poly, chi2, ndf, p)
        if p > alpha:
            break
    assert best is not None
    return best


def quantile_fit(
    counts: np.ndarray,
    mjj_edges: np.ndarray,
    score_edges: np.ndarray,
    q: float,
    *,
    degree: int | None = None,
    scale: str = "auto",
    min_tail: float = 2.0,
    alpha: float = 0.05,
) -> QuantileFit:
    """Fit the score quantile ``q`` as a smooth function of m_jj.

    Args:
        counts: ``(n_mjj, n_score)`` counts, score flow bins included.
        mjj_edges: m_jj edges (GeV).
        score_edges: score edges (+-inf at the flow bins).
        q: cumulative fraction, in (0, 1).
        degree: polynomial degree; None: the smallest with chi2 p-value > ``alpha``, up
            to :data:`MAX_DEGREE` (3).
        scale: ``"auto"`` (log if every finite edge is positive), ``"log"`` or ``"linear"``.
        min_tail: a bin enters the fit when it expects at least this many events on the
            thin side of the quantile (``N min(q, 1 - q)``).
        alpha: level of the goodness-of-fit test of the automatic degree.

    Raises:
        InputDataError: no m_jj bin can measure the quantile.
    """
    if not 0.0 < q < 1.0:
        raise ConfigError(f"quantile must be in (0, 1), got {q:g}")
    counts = np.asarray(counts, dtype=float)
    mjj_edges = np.asarray(mjj_edges, dtype=float)
    t_edges, scale = _transform(score_edges, scale)
    value, error, finite = score_quantiles(counts, t_edges, q)
    total = counts.sum(axis=1)
    used = finite & (total * min(q, 1 - q) >= min_tail) & (error > 0)
    if not np.any(used):
        raise InputDataError(
            f"no m_jj bin has enough events (or a fine enough score binning) to measure the {q:g} quantile "
            "of the score"
        )
    centres = 0.5 * (mjj_edges[1:] + mjj_edges[:-1])
    x, y, err = centres[used], value[used], error[used]
    poly, chi2, ndf, p = _polyfit(x, y, err, degree, MAX_DEGREE, alpha)
    return QuantileFit(q, scale, centres, value, error, used, poly, (float(x.min()), float(x.max())), chi2, ndf, p)


def fraction_beyond(t_edges: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """``(n_mjj, n_score)``: the share of each score bin above the threshold of its m_jj bin.

    Finite bins count in proportion (uniform inside the bin, in the fit variable); a flow
    bin counts whole if it lies entirely above the threshold, else not at all.

    Example:
        >>> fraction_beyond(np.array([-np.inf, 0.0, 1.0, 2.0, np.inf]), np.array([0.25]))
        array([[0.  , 0.75, 1.  , 1.  ]])
    """
    lo, hi = t_edges[None, :-1], t_edges[None, 1:]
    thr = np.asarray(thresholds, dtype=float)[:, None]
    finite = np.isfinite(lo) & np.isfinite(hi)
    with np.errstate(invalid="ignore", divide="ignore"):
        part = np.clip((hi - thr) / (hi - lo), 0.0, 1.0)
    whole = (thr <= lo).astype(float)
    return np.where(finite, np.nan_to_num(part, nan=0.0), whole)


@dataclass(frozen=True, eq=False)
class QRBands:
    """Bands of a score between quantile-regression thresholds, per m_jj bin.

    Attributes:
        quantiles: ``(n + 1,)`` band boundaries as cumulative fractions (ascending score).
        fits: the fitted threshold of each boundary (None at 0 and 1: no threshold).
        weights: ``(n, n_mjj, n_score)`` share of each (m_jj, score) bin in each band.
        kept: ``(n, n_mjj)`` share of each m_jj bin's events in each band (NaN for empty bins).
        total: ``(n_mjj,)`` events per m_jj bin of the input.
        score_edges: the score edges.
    """

    quantiles: np.ndarray
    fits: tuple[QuantileFit | None, ...]
    weights: np.ndarray
    kept: np.ndarray
    total: np.ndarray
    score_edges: np.ndarray

    @property
    def targets(self) -> np.ndarray:
        """``(n,)`` the share each band should keep at every m_jj."""
        return np.diff(self.quantiles)

    def counts(self, counts: np.ndarray) -> np.ndarray:
        """``(n, n_mjj)`` m_jj counts of each band."""
        return np.einsum("bms,ms->bm", self.weights, np.asarray(counts, dtype=float))

    def thresholds(self, mjj: np.ndarray) -> np.ndarray:
        """``(n + 1, len(mjj))`` score thresholds of the boundaries (+-inf at 0 and 1)."""
        mjj = np.asarray(mjj, dtype=float)
        rows = []
        for q, fit in zip(self.quantiles, self.fits, strict=True):
            rows.append(np.full(mjj.shape, -np.inf if q <= 0 else np.inf) if fit is None else fit.threshold(mjj))
        return np.array(rows)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description: the fits, and the shares kept per m_jj bin."""
        return {
            "quantiles": self.quantiles.tolist(),
            "target_fractions": self.targets.tolist(),
            "fits": [None if f is None else f.to_dict() for f in self.fits],
            "kept_fraction": self.kept.tolist(),
            "events_per_mjj_bin": self.total.tolist(),
        }


def qr_bands(
    counts: np.ndarray,
    mjj_edges: np.ndarray,
    score_edges: np.ndarray,
    n: int = 1,
    *,
    keep: float = 1.0,
    side: str = "high",
    degree: int | None = None,
    scale: str = "auto",
    min_tail: float = 2.0,
) -> QRBands:
    """Split the ``keep`` share of the highest (or lowest) scores into ``n`` bands equally
    populated at every m_jj, each boundary a :func:`quantile_fit`.

    Boundaries are forced in order per m_jj bin (independently fitted thresholds could
    cross), so the bands never overlap and together hold the selection.
    """
    if n < 1:
        raise ConfigError(f"the number of bands must be positive, got {n}")
    sel = QRKeep(keep, side)  # validates
    counts = np.asarray(counts, dtype=float)
    mjj_edges = np.asarray(mjj_edges, dtype=float)
    score_edges = np.asarray(score_edges, dtype=float)
    if counts.ndim != 2 or counts.shape != (mjj_edges.size - 1, score_edges.size - 1):
        raise InputDataError(f"counts of shape {counts.shape} do not match {mjj_edges.size - 1} m_jj and "
                             f"{score_edges.size - 1} score bins")
    lo = 1.0 - sel.fraction if side == "high" else 0.0
    quantiles = lo + sel.fraction * np.arange(n + 1) / n
    quantiles = np.clip(np.round(quantiles, 12), 0.0, 1.0)
    t_edges, scale = _transform(score_edges, scale)
    finite = t_edges[np.isfinite(t_edges)]
    centres = 0.5 * (mjj_edges[1:] + mjj_edges[:-1])
    fits: list[QuantileFit | None] = []
    thresholds = []
    for q in quantiles:
        if q <= 0.0 or q >= 1.0:
            fits.append(None)
            thresholds.append(np.full(centres.shape, -np.inf if q <= 0 else np.inf))
            continue
        fit = quantile_fit(counts, mjj_edges, score_edges, float(q), degree=degree, scale=scale, min_tail=min_tail)
        fits.append(fit)
        thresholds.append(np.clip(fit.threshold_t(centres), finite[0], finite[-1]))
    thr = np.maximum.accumulate(np.array(thresholds), axis=0)
    beyond = np.array([fraction_beyond(t_edges, t) for t in thr])  # (n + 1, M, S)
    weights = np.clip(beyond[:-1] - beyond[1:], 0.0, 1.0)
    total = counts.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        kept = np.einsum("bms,ms->bm", weights, counts) / total
    return QRBands(quantiles, tuple(fits), weights, kept, total, score_edges)


def qr_select(
    counts: np.ndarray,
    mjj_edges: np.ndarray,
    score_edges: np.ndarray,
    keep: float,
    *,
    side: str = "high",
    degree: int | None = None,
    scale: str = "auto",
    min_tail: float = 2.0,
) -> QRBands:
    """Keep the ``keep`` share of the highest (``side="high"``) or lowest scores at every
    m_jj: :func:`qr_bands` with one band."""
    return qr_bands(counts, mjj_edges, score_edges, 1, keep=keep, side=side, degree=degree, scale=scale,
                    min_tail=min_tail)


def fixed_cut(counts: np.ndarray, score_edges: np.ndarray, keep: float, *, side: str = "high",
              scale: str = "auto") -> tuple[float, np.ndarray]:
    """The reference a QR selection replaces: one threshold for all m_jj at the overall
    quantile that keeps ``keep``. Returns the score threshold and the share it keeps per
    m_jj bin (NaN for empty bins).

    Example:
        >>> counts = np.array([[90.0, 10.0], [10.0, 90.0]])    # the score rises with m_jj
        >>> thr, kept = fixed_cut(counts, np.array([0.0, 1.0, 2.0]), 0.5, scale="linear")
        >>> float(thr), kept.tolist()
        (1.0, [0.1, 0.9])
    """
    sel = QRKeep(keep, side)
    counts = np.asarray(counts, dtype=float)
    t_edges, scale = _transform(score_edges, scale)
    q = 1.0 - sel.fraction if side == "high" else sel.fraction
    (t,), _, _ = score_quantiles(counts.sum(axis=0, keepdims=True), t_edges, q)
    beyond = fraction_beyond(t_edges, np.full(counts.shape[0], t))
    kept_w = beyond if side == "high" else 1.0 - beyond
    with np.errstate(invalid="ignore", divide="ignore"):
        kept = (kept_w * counts).sum(axis=1) / counts.sum(axis=1)
    return float(_inverse(np.array(t), scale)), kept
