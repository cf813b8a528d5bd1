"""``bumphunt.json`` and the plots of a bump hunt.

The only writer of a :class:`~coffea_anomaly.stats.result.BumpHuntResult`: results are plain
data and never import this module.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .._version import __version__
from ..config import config_to_dict
from ..fileio import write_json
from .combine import z_from_p

if TYPE_CHECKING:
    from .result import BumpHuntResult, CategoryResult

__all__ = ["SCHEMA", "result_to_dict", "write_report"]

SCHEMA = "coffea-anomaly/bumphunt/1"

_FUNCTIONS = {
    "dijet": "dN/dm = p0 (1-x)^p1 / x^(p2 + p3 ln x + p4 ln^2 x), x = m_jj/sqrt(s); p0 in events/GeV",
    "bernstein": "sum_j c_j (n+1) B_{j,n}(t), t = (m_jj - m_lo)/(m_hi - m_lo); c_j = events carried by B_{j,n}",
}


def _clean(obj: Any) -> Any:
    """JSON-safe copy: numpy to Python, NaN/inf to None."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _clean(obj.tolist())
    if isinstance(obj, (np.bool_, bool)):
        return bool(obj)
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        v = float(obj)
        return v if math.isfinite(v) else None
    return obj


def _fit_dict(fit: Any) -> dict[str, Any]:
    out = {
        "model": fit.model,
        "valid": fit.valid,
        "accurate_covariance": fit.accurate,
        "nll": fit.nll,
        "deviance": fit.deviance,
        "ndf": fit.ndf,
        "edm": fit.edm,
        "nfcn": fit.nfcn,
        "message": fit.message,
        "parameters": {k: {"value": v, "error": e} for k, (v, e) in fit.physical().items()},
    }
    if fit.mass is not None:
        out["mass"] = fit.mass
        out["signal_yield"] = {"value": fit.signal_yield, "error": fit.signal_error}
    return out


def _category_dict(c: CategoryResult, best: int) -> dict[str, Any]:
    scan = c.scan
    i_max = int(np.argmax(scan.q0[0]))
    sel = c.selection
    return {
        "name": c.category.name,
        "score_ranges": [list(r) for r in c.category.score_ranges],
        "fraction_of_selected": c.category.fraction,
        "n_events": c.category.n_events,
        "n_events_fit_range": float(c.counts.sum()),
        "background": {
            **_fit_dict(sel.chosen),
            "selection": {
                "method": sel.method,
                "alpha": sel.alpha,
                "candidates": {
                    name: {"deviance": f.deviance, "ndf": f.ndf, "n_params": f.n_params, "valid": f.valid,
                           "message": f.message}
                    for name, f in sel.fits.items()
                },
                "tests": [
                    {"smaller": s.smaller, "larger": s.larger, "statistic": s.statistic, "p_value": s.p_value,
                     "larger_accepted": s.larger_accepted}
                    for s in sel.steps
                ],
            },
        },
        "scan": {
            "q0": scan.q0[0],
            "local_z": scan.z[0],
            "local_p": scan.p_local[0],
            "signal_yield": scan.signal_yield[0],
            "signal_yield_error": scan.signal_error[0],
            "converged": scan.converged[0],
            "negative_yield_at_boundary": scan.boundary[0],
        },
        "max_local": {"mass": float(scan.masses[i_max]), "local_z": float(scan.z[0, i_max]),
                      "global_p": c.global_p, "global_z": float(z_from_p(np.array(c.global_p)))},
        "at_best_mass": {"local_z": float(scan.z[0, best]), "signal_yield": float(scan.signal_yield[0, best]),
                         "signal_yield_error": float(scan.signal_error[0, best])},
        "fit_at_best_mass": None if c.fit_at_best is None else {
            **_fit_dict(c.fit_at_best), "negative_yield_at_boundary": bool(scan.boundary[0, best])},
        "bumphunter": None if c.bumphunter is None else {
            "mass_range": list(c.bumphunter.mass_range),
            "first_bin": c.bumphunter.start,
            "width_bins": c.bumphunter.width,
            "n_observed": c.bumphunter.n_obs,
            "n_reference": c.bumphunter.n_ref,
            "local_p": c.bumphunter.local_p,
            "local_z": c.bumphunter.local_z,
            "test_statistic": c.bumphunter.t_obs,
            "global_p": c.bumphunter.global_p,
            "global_p_error": c.bumphunter.global_p_error,
            "global_z": c.bumphunter.global_z,
            "n_pseudo_experiments": c.bumphunter.n_toys,
            "widths": [c.bumphunter.width_min, c.bumphunter.width_max],
        },
    }


def result_to_dict(r: BumpHuntResult) -> dict[str, Any]:
    """The JSON summary of a bump hunt (see docs/BUMPHUNT.md for the fields)."""
    cfg = r.config
    edges = r.categories[0].edges
    head = r.headline
    s, s_err = r.signal_yield
    sizes = cfg.dijet_params if cfg.background == "dijet" else cfg.bernstein_orders
    out = {
        "schema": SCHEMA,
        "package_version": __version__,
        "input": r.source,
        "config": config_to_dict(cfg),
        "best": {
            "mass": r.best_mass,
            "combination": cfg.headline,
            "local_significance": head.local_z,
            "local_p": 0.5 * math.erfc(head.local_z / math.sqrt(2)),
            "global_significance": head.global_z,
            "global_p": head.global_p,
            "global_method": head.method,
            "global_significance_pseudo_experiments": head.toys_z,
            "pseudo_experiments_give_lower_limit": head.toys_z_is_limit,
            "global_significance_gross_vitells": head.gv_z,
            "signal_yield": s,
            "signal_yield_error": s_err,
        },
        "combinations": {
            name: {**dataclasses.asdict(g), "method": g.method, "global_z": g.global_z, "global_p": g.global_p}
            for name, g in (("joint_likelihood", r.joint), ("fisher", r.fisher))
        },
        "method": {
            "background": {"family": cfg.background, "function": _FUNCTIONS[cfg.background],
                           "candidates": list(sizes), "selection": cfg.selection, "alpha": cfg.selection_alpha,
                           "bin_integration": f"Gauss-Legendre, {r.nodes} nodes per bin" if cfg.background == "dijet"
                           else "exact"},
            "signal": r.signal,
            "likelihood": "binned Poisson (half deviance); reported fits MINUIT MIGRAD+HESSE with analytic "
                          "gradient and Hessian; scans and pseudo-experiments a compiled Newton minimiser of "
                          "the same cost",
            "test_statistic": "q0: one-sided profile likelihood ratio, signal yield free in sign, q0 = 0 if "
                              "yield <= 0; local Z = sqrt(q0), p = 1 - Phi(Z) (asymptotic)",
            "combination": {
                "fisher": "X = -2 sum ln p_c ~ chi2(2C)",
                "joint_likelihood": "common mass, independent backgrounds and non-negative yields per "
                                    "category: q0 = sum q0_c ~ sum_j binom(C,j) 2^-C chi2(j)",
                "headline": cfg.headline,
            },
            "global": {
                "pseudo_experiments": cfg.n_toys,
                "seed": cfg.seed,
                "gross_vitells_reference_level_z2": cfg.gv_level,
                "gross_vitells": "p = 1 - Phi(Z) + N(c0) exp(-(Z^2 - c0)/2) on the Z^2 curve",
            },
            "bumphunter": "sliding windows, Poisson p-values against the fitted background, t = -ln p_min, "
                          "global p from pseudo-experiments" if cfg.bumphunter else None,
        },
        "fit_range": [float(edges[0]), float(edges[-1])],
        "n_bins": int(edges.size - 1),
        "scan": {
            "mass": r.masses,
            "joint_q0": r.joint_q0,
            "joint_local_z": r.joint_z,
            "fisher_local_z": r.fisher_z,
        },
        "categories": [_category_dict(c, r.best_index) for c in r.categories],
        "pseudo_experiments": None if r.toys is None else {
            "n": r.toys.n_toys,
            "seed": r.toys.seed,
            "failed_fits": int(r.toys.n_failed.sum()),
            "joint_max_local_z_quantiles": dict(zip(("50%", "84%", "97.5%"),
                                                    np.quantile(r.toys.joint_z, [0.5, 0.84, 0.975]).tolist(),
                                                    strict=True)),
            "fisher_max_local_z_quantiles": dict(zip(("50%", "84%", "97.5%"),
                                                     np.quantile(r.toys.fisher_z, [0.5, 0.84, 0.975]).tolist(),
                                                     strict=True)),
        },
        "qr_selection": r.qr,
        "warnings": list(r.warnings),
    }
    return _clean(out)


def write_report(result: BumpHuntResult, out_dir: str | Path, *, plots: bool = True) -> dict[str, Path]:
    """Write ``bumphunt.json`` and the PNG plots into ``out_dir``; return their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    if plots:
        from .plots import plot_all

        paths.update(plot_all(result, out))
    data = result_to_dict(result)
    data["plots"] = sorted(p.name for p in paths.values())
    paths["json"] = write_json(out / "bumphunt.json", data, sort_keys=False)
    return paths
