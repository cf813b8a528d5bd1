"""The bump hunt from a histogram to significances: :func:`run_bumphunt`.

Steps (each in its own module):

1. categories from the score axes (:mod:`.categories`; mass-decorrelated by quantile
   regression, :mod:`.qr_categories`), or one category;
2. fit range and scan masses;
3. per category, background-only fits of the candidate models and the F-test
   (:mod:`.ftest`), then the observed mass scan (:mod:`.scan`);
4. Fisher and joint-likelihood combinations per mass (:mod:`.combine`), the best mass,
   and a MINUIT signal-plus-background fit there per category (:mod:`.fit`);
5. global significance from pseudo-experiments and Gross–Vitells (:mod:`.toys`);
6. the BumpHunter cross-check per category (:mod:`.bumphunter`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ConfigError, FitFailedError, InputDataError
from .background import choose_nodes
from .bumphunter import bumphunter
from .categories import Category, make_categories, parse_cut
from .combine import fisher, joint_q0, z_from_p
from .config import BumpHuntConfig
from .fit import fit_binned, signal_start
from .ftest import select_background
from .io import MjjHistogram, as_mjj_histogram
from .newton import num_threads
from .result import BumpHuntResult, CategoryResult, GlobalSignificance
from .scan import local_p, profile_scan
from .signal import GaussianSignal, SignalShape, TemplateSignal
from .toys import ToyCategory, ToyResult, global_p_value, gross_vitells, run_toys, upcrossings

__all__ = ["fit_range", "run_bumphunt", "scan_masses"]


def fit_range(counts: np.ndarray, edges: np.ndarray, mjj_range: tuple[float, float] | None) -> tuple[int, int]:
    """Bin range ``[lo, hi)`` of the fit.

    With ``mjj_range`` the bounds are snapped to the nearest edges; without, the fit starts
    at the most populated bin (the falling part of the spectrum, past any turn-on) and
    ends with the last non-empty bin.

    Example:
        >>> fit_range(np.array([1, 5, 9, 4, 2, 0]), np.arange(7.0), None)
        (2, 5)
    """
    edges = np.asarray(edges, dtype=float)
    if mjj_range is not None:
        lo = int(np.argmin(np.abs(edges - mjj_range[0])))
        hi = int(np.argmin(np.abs(edges - mjj_range[1])))
    else:
        nonzero = np.flatnonzero(counts > 0)
        if nonzero.size == 0:
            raise InputDataError("the m_jj histogram is empty")
        lo, hi = int(np.argmax(counts)), int(nonzero[-1]) + 1
    return lo, hi


def scan_masses(edges: np.ndarray, shape: SignalShape, n: int, mass_range: tuple[float, float] | None) -> np.ndarray:
    """Scan masses, log-spaced (even steps in units of a width proportional to the mass).

    Without ``mass_range`` the masses stay two signal widths inside the fit range.
    """
    if mass_range is None:
        lo, hi = float(edges[0]), float(edges[-1])
        rel_lo = shape.width(lo) / lo
        rel_hi = shape.width(hi) / hi
        mass_range = (lo * (1 + 2 * rel_lo), hi * (1 - 2 * rel_hi))
    if not mass_range[0] < mass_range[1]:
        raise ConfigError(f"the fit range {edges[0]:g}-{edges[-1]:g} GeV is too narrow for a mass scan")
    return np.geomspace(mass_range[0], mass_range[1], n) if n > 1 else np.array([np.sqrt(mass_range[0] * mass_range[1])])


def _signal(config: BumpHuntConfig) -> SignalShape:
    t = config.signal_template
    if t is None:
        return GaussianSignal(config.signal_width)
    return TemplateSignal(np.asarray(t.edges), np.asarray(t.counts), t.mass)


def _categories(h: MjjHistogram, config: BumpHuntConfig) -> tuple[list[Category], dict[str, Any] | None]:
    cuts = tuple(parse_cut(c) for c in config.score_cuts)
    qr = bool(config.qr_keep) or config.qr_categories
    if h.counts.ndim == 1:
        if cuts or config.categories or qr:
            raise ConfigError("score cuts, categories and QR selections need a histogram with score axes "
                              "(m_jj x score)")
        return [Category("all", h.counts, (), 1.0)], None
    if qr:
        from .qr_categories import make_qr_categories
        from .quantile_regression import parse_qr_keep

        return make_qr_categories(h.counts, h.mjj_edges, h.score_edges, h.score_names,
                                  keeps=tuple(parse_qr_keep(k) for k in config.qr_keep),
                                  shape=config.categories, cuts=cuts, degree=config.qr_degree)
    return make_categories(h.counts, h.score_edges, h.score_names, cuts=cuts, shape=config.categories), None


def _global(
    local_curve: np.ndarray, toy_max: np.ndarray | None, toy_crossings: np.ndarray | None, level: float
) -> GlobalSignificance:
    z_obs = float(np.max(local_curve))
    u_obs = max(z_obs, 0.0) ** 2
    observed_crossings = int(upcrossings(np.clip(local_curve, 0.0, None) ** 2, level))
    if toy_max is not None and toy_crossings is not None and toy_max.size:
        p, err = global_p_value(z_obs, toy_max)
        limit = p == 0.0
        z = float(z_from_p(np.array(max(p, 1.0 / toy_max.size))))
        n_ref, source = float(np.mean(toy_crossings)), "pseudo-experiments"
    else:
        p = err = z = float("nan")
        limit = False
        n_ref, source = float(observed_crossings), "observed scan"
    gv = gross_vitells(u_obs, n_ref, level)
    return GlobalSignificance(
        local_z=z_obs, toys_p=p, toys_p_error=err, toys_z=z, toys_z_is_limit=limit,
        gv_p=gv, gv_z=float(z_from_p(np.array(gv))), gv_n_ref=n_ref, gv_n_ref_source=source,
        gv_n_ref_observed=observed_crossings,
    )


def run_bumphunt(
    hist_or_arrays: Any,
    config: BumpHuntConfig | None = None,
    *,
    dataset: str | list[str] | None = None,
    progress: bool = False,
) -> BumpHuntResult:
    """Run the whole bump hunt on an m_jj histogram.

    Args:
        hist_or_arrays: an :class:`~coffea_anomaly.stats.io.MjjHistogram`, a ``hist``/UHI/
            uproot histogram (m_jj [x score [x score2]], optional ``dataset``/``label``
            category axes), a path (see :func:`~coffea_anomaly.stats.io.read_input`), or a
            tuple ``(counts, mjj_edges, *score_edges)``.
        config: the :class:`BumpHuntConfig` (defaults if None).
        dataset: dataset(s) to use when the histogram has a ``dataset`` axis.
        progress: show progress bars on stderr.

    Returns:
        The :class:`BumpHuntResult`.

    Raises:
        InputDataError: unusable input.
        ConfigError: inconsistent options.
        FitFailedError: a category's background fit did not converge (result attached).
    """
    config = config or BumpHuntConfig()
    h = as_mjj_histogram(hist_or_arrays, dataset=dataset)
    cats, qr_report = _categories(h, config)
    lo, hi = fit_range(h.mjj_counts, h.mjj_edges, config.mjj_range)
    edges = h.mjj_edges[lo : hi + 1]
    min_bins = max(config.dijet_params if config.background == "dijet" else config.bernstein_orders) + 3
    if hi - lo < min_bins:
        raise InputDataError(f"the fit range has {hi - lo} bins; at least {min_bins} are needed")
    shape = _signal(config)
    masses = scan_masses(edges, shape, config.n_masses, config.mass_range)
    shapes = shape.fractions(edges, masses)
    nodes = config.quadrature_nodes or choose_nodes(h.mjj_counts[lo:hi], edges, config.sqrt_s)
    sizes = config.dijet_params if config.background == "dijet" else config.bernstein_orders
    warnings: list[str] = []
    if not h.unit_weights:
        warnings.append("weighted histogram: the Poisson likelihood treats sums of weights as counts")

    per_cat = []
    with num_threads(config.threads):
        for cat in cats:
            counts = cat.counts[lo:hi]
            if counts.sum() <= 0:
                raise InputDataError(f"category {cat.name} has no events in the fit range")
            try:
                sel = select_background(counts, edges, family=config.background, sizes=sizes,
                                        method=config.selection, alpha=config.selection_alpha,
                                        sqrt_s=config.sqrt_s, nodes=nodes)
            except FitFailedError as err:
                raise FitFailedError(f"category {cat.name}: {err}", err.result) from err
            scan = profile_scan(counts, sel.model, shapes, masses, sel.chosen.theta)
            if scan.n_failed:
                warnings.append(f"category {cat.name}: {scan.n_failed} of {len(masses) + 1} scan fits did not converge")
            per_cat.append((cat, counts, sel, scan))

    q0 = np.stack([s.q0[0] for *_, s in per_cat])  # (C, M)
    j_q0, j_p = joint_q0(q0.T)
    joint_z = z_from_p(j_p)
    fisher_z = z_from_p(fisher(local_p(q0).T))
    best = int(np.argmax(joint_z if config.headline == "joint" else fisher_z))

    toys: ToyResult | None = None
    if config.n_toys > 0:
        toy_cats = [ToyCategory(sel.model, sel.chosen.expected, sel.chosen.theta, shapes) for _, _, sel, _ in per_cat]
        toys = run_toys(toy_cats, masses, config.n_toys, seed=config.seed, threads=config.threads,
                        chunk=config.toys_chunk, level=config.gv_level, progress=progress)
        if int(toys.n_failed.sum()):
            warnings.append(f"pseudo-experiments: {int(toys.n_failed.sum())} fits did not converge")

    results = []
    for c, (cat, counts, sel, scan) in enumerate(per_cat):
        shape_best = shapes[best]
        start = np.append(sel.chosen.theta, signal_start(counts, sel.chosen.expected, shape_best))
        fit_best = fit_binned(counts, sel.model, shape_best, mass=float(masses[best]), start=start, check=False)
        if not fit_best.valid and not scan.boundary[0, best]:  # a negative yield at mu = 0 is no failure
            warnings.append(f"category {cat.name}: fit at the best mass did not converge ({fit_best.message})")
        bh = None
        if config.bumphunter:
            bh = bumphunter(counts, sel.chosen.expected, edges, width_min=config.bh_width_min,
                            width_max=config.bh_width_max, n_toys=config.n_toys, seed=config.seed)
        gp = float("nan")
        if toys is not None:
            gp = global_p_value(float(scan.q0[0].max()), toys.max_q0[:, c])[0]
        results.append(CategoryResult(cat, edges, counts, sel, scan, fit_best, bh, gp))

    return BumpHuntResult(
        config=config,
        source=h.source,
        masses=masses,
        categories=results,
        joint_q0=j_q0,
        joint_z=joint_z,
        fisher_z=fisher_z,
        best_index=best,
        joint=_global(joint_z, None if toys is None else toys.joint_z,
                      None if toys is None else toys.joint_crossings, config.gv_level),
        fisher=_global(fisher_z, None if toys is None else toys.fisher_z,
                       None if toys is None else toys.fisher_crossings, config.gv_level),
        toys=toys,
        signal=shape.describe(),
        nodes=nodes,
        warnings=warnings,
        qr=qr_report,
    )
