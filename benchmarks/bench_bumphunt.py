"""Bump hunt: 100 masses x 9 categories scan plus 1000 pseudo-experiments, vs a MINUIT loop.

The workload of issue 5: a 3x3-category bump hunt (dijet function with F-test per
category, 100 scan masses, Fisher and joint-likelihood combinations) and 1000
background-only pseudo-experiments, each analysed like the data (900 signal-plus-
background fits and 9 background-only fits). The baseline is the straightforward
approach in the same process: one MINUIT fit (MIGRAD + HESSE, analytic gradient) per
mass, category and pseudo-experiment, timed on a few pseudo-experiments and scaled to
the same number of fits.

    NUMBA_NUM_THREADS=2 python -m benchmarks bumphunt --threads 2     # the 2-core target
    python -m benchmarks bumphunt --toys 200                          # quicker
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

__all__ = ["main"]


def _input(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """m_jj x score1 x score2 counts: a 4-parameter dijet spectrum of 1e6 events, flat scores."""
    from coffea_anomaly.stats.background import DijetFunction

    edges = np.arange(1500.0, 6001.0, 50.0)
    model = DijetFunction(edges, sqrt_s=13000.0, k=4)
    mu = model.expected(model.to_theta((1.0, 10.0, 5.0, 0.1)))
    mu = 1e6 * mu / mu.sum()
    rng = np.random.default_rng(seed)
    counts = rng.poisson(mu[:, None, None] * np.full((1, 30, 30), 1 / 900)).astype(float)
    score = np.linspace(0.0, 1.0, 31)
    return counts, edges, score, score


def _baseline_seconds_per_toy(result: object, n_toys: int) -> float:
    """Seconds per pseudo-experiment of a plain loop of MINUIT fits (one category timed, x9)."""
    from coffea_anomaly.stats.fit import fit_binned, signal_start
    from coffea_anomaly.stats.signal import GaussianSignal
    from coffea_anomaly.stats.toys import toy_counts

    cat = result.categories[0]  # type: ignore[attr-defined]
    model = cat.selection.model
    shapes = GaussianSignal(0.03).fractions(cat.edges, result.masses)  # type: ignore[attr-defined]
    start = time.perf_counter()
    for n in toy_counts(cat.background, 99, range(n_toys)):
        b = fit_binned(n, model, start=cat.selection.chosen.theta, check=False, refine=False)
        for shape in shapes:
            fit_binned(n, model, shape, mass=1.0, start=np.append(b.theta, signal_start(n, b.background, shape)),
                       check=False, refine=False)
    return (time.perf_counter() - start) / n_toys * len(result.categories)  # type: ignore[attr-defined]


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print a JSON summary."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks bumphunt", description=__doc__.splitlines()[0])
    parser.add_argument("--toys", type=int, default=1000)
    parser.add_argument("--masses", type=int, default=100)
    parser.add_argument("--threads", type=int, default=None, help="numba threads (<= NUMBA_NUM_THREADS)")
    parser.add_argument("--baseline-toys", type=int, default=2)
    args = parser.parse_args(argv)

    import numba

    from coffea_anomaly.stats import BumpHuntConfig, run_bumphunt

    counts, edges, s1, s2 = _input(seed=1)
    start = time.perf_counter()
    run_bumphunt((counts[:, :1, :1].sum(axis=(1, 2)), edges), BumpHuntConfig(n_masses=5, n_toys=2, bumphunter=False))
    warmup = time.perf_counter() - start  # imports, compiled-kernel cache, thread pool

    config = BumpHuntConfig(categories=(3, 3), n_masses=args.masses, n_toys=0, bumphunter=False,
                            threads=args.threads)
    start = time.perf_counter()
    observed = run_bumphunt((counts, edges, s1, s2), config)
    t_scan = time.perf_counter() - start

    config = BumpHuntConfig(categories=(3, 3), n_masses=args.masses, n_toys=args.toys, bumphunter=False,
                            threads=args.threads)
    start = time.perf_counter()
    full = run_bumphunt((counts, edges, s1, s2), config)
    t_total = time.perf_counter() - start

    per_toy = _baseline_seconds_per_toy(full, args.baseline_toys)
    baseline_total = t_scan + per_toy * args.toys
    n_fits = args.toys * len(full.categories) * (args.masses + 1)
    summary = {
        "workload": f"{len(full.categories)} categories x {args.masses} masses, {args.toys} pseudo-experiments",
        "threads": numba.get_num_threads() if args.threads is None else args.threads,
        "warmup_s": round(warmup, 2),
        "scan_s": round(t_scan, 2),
        "scan_plus_toys_s": round(t_total, 2),
        "toy_fits": n_fits,
        "toy_fits_per_s": round(n_fits / max(t_total - t_scan, 1e-9)),
        "baseline_minuit_loop_s": round(baseline_total, 1),
        "speedup_vs_minuit_loop": round(baseline_total / t_total, 1),
        "failed_toy_fits": int(full.toys.n_failed.sum()) if full.toys is not None else 0,
        "best_mass": round(observed.best_mass, 1),
        "joint_local_z": round(full.joint.local_z, 3),
        "joint_global_z": round(full.joint.global_z, 3),
        "target_s": 60,
    }
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
