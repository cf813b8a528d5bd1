"""run_bumphunt end to end, on histograms shaped like the dijet processor's."""

from __future__ import annotations

import json
from collections.abc import Callable

import hist
import numpy as np
import pytest

from coffea_anomaly.config import config_from_dict, config_to_dict
from coffea_anomaly.errors import ConfigError, InputDataError
from coffea_anomaly.stats import BumpHuntConfig, SignalTemplateConfig, run_bumphunt
from coffea_anomaly.stats.report import result_to_dict
from coffea_anomaly.stats.signal import GaussianSignal

Spectrum = Callable[[float], np.ndarray]


def _quak_hist(edges: np.ndarray, spectrum: Spectrum, signal: float, seed: int = 3) -> hist.Hist:
    """m_jj x score1 x score2 with a dataset axis; background flat in the scores, a W'-like
    signal at 3.3 TeV with large score1 and small score2 (QUAK: large L_bkg, small L_sig)."""
    h = hist.Hist(
        hist.axis.StrCategory(["data"], name="dataset"),
        hist.axis.Variable(edges, name="mjj"),
        hist.axis.Regular(20, 0.0, 1.0, name="score1"),
        hist.axis.Regular(20, 0.0, 1.0, name="score2"),
        storage=hist.storage.Weight(),
    )
    rng = np.random.default_rng(seed)
    bkg = rng.poisson(spectrum(2e5)[:, None, None] * np.full((1, 20, 20), 1 / 400))
    sig_m = signal * GaussianSignal(0.03).fractions(edges, np.array([3300.0]))[0]
    score = np.zeros((20, 20))
    score[16:, :4] = 1 / 16
    sig = rng.poisson(sig_m[:, None, None] * score[None])
    counts = (bkg + sig).astype(float)
    view = h.view(flow=False)
    view.value[0] = counts
    view.variance[0] = counts
    return h


@pytest.mark.slow
def test_three_by_three_categories_find_the_injected_signal(edges: np.ndarray, spectrum: Spectrum) -> None:
    h = _quak_hist(edges, spectrum, signal=250.0)
    config = BumpHuntConfig(categories=(3, 3), n_masses=40, n_toys=100, seed=2)
    res = run_bumphunt(h, config, dataset="data")
    assert len(res.categories) == 9
    assert abs(res.best_mass / 3300.0 - 1) < 0.03
    corner = max(res.categories, key=lambda c: c.scan.q0[0, res.best_index])
    assert corner.category.name == "3x1"  # high score1, low score2
    assert corner.category.score_ranges[0][0] == pytest.approx(2 / 3, abs=0.05)
    assert res.joint.local_z > 4
    assert res.fisher.local_z > 4
    assert res.joint.toys_p == 0.0
    assert res.joint.toys_z_is_limit
    assert res.joint.method == "Gross-Vitells"
    assert res.joint.gv_z > 3
    assert res.toys is not None
    assert res.toys.n_toys == 100
    s, ds = res.signal_yield
    assert s == pytest.approx(250.0 * 9 / 16 * 0.75, abs=4 * ds)  # the corner holds 9/16 of 3/4 of it
    assert not res.warnings
    data = result_to_dict(res)
    json.dumps(data, allow_nan=False)  # valid JSON (NaN became null)
    assert data["best"]["mass"] == pytest.approx(res.best_mass)
    assert len(data["categories"]) == 9
    bh = res.categories[0].bumphunter
    assert data["categories"][0]["bumphunter"]["mass_range"] == pytest.approx(list(bh.mass_range))
    assert data["categories"][0]["bumphunter"]["width_bins"] == bh.width
    assert config_from_dict(BumpHuntConfig, data["config"]) == config


def test_background_only_gives_no_significant_global_excess(edges: np.ndarray, spectrum: Spectrum) -> None:
    counts = np.random.default_rng(5).poisson(spectrum(5e4)).astype(float)
    res = run_bumphunt((counts, edges), BumpHuntConfig(n_masses=40, n_toys=200, seed=3))
    assert len(res.categories) == 1
    assert res.joint.local_z == pytest.approx(res.fisher.local_z, abs=1e-9)  # one category
    assert res.joint.toys_p > 0.01
    assert res.joint.method == "pseudo-experiments"
    assert res.global_z < res.local_z
    assert 0 <= res.joint.gv_p <= 1


def test_bernstein_and_template_options(edges: np.ndarray, spectrum: Spectrum) -> None:
    # QUAK-like: a third-order Bernstein polynomial on a narrow range, a template signal
    t_edges = np.linspace(2600.0, 3400.0, 33)
    template = GaussianSignal(0.03).fractions(t_edges, np.array([3000.0]))[0]
    mu = spectrum(5e4) + 400 * GaussianSignal(0.03).fractions(edges, np.array([2700.0]))[0]
    counts = np.random.default_rng(8).poisson(mu).astype(float)
    config = BumpHuntConfig(
        background="bernstein", bernstein_orders=(3, 4, 5), mjj_range=(2000.0, 3500.0), n_masses=30, n_toys=0,
        signal_template=SignalTemplateConfig(tuple(t_edges), tuple(template), 3000.0), bumphunter=False,
    )
    res = run_bumphunt((counts, edges), config)
    assert res.categories[0].selection.chosen.model.startswith("bernstein")
    assert res.categories[0].edges[0] == 2000.0
    assert res.categories[0].edges[-1] == 3500.0
    assert abs(res.best_mass / 2700.0 - 1) < 0.03
    assert res.signal["shape"] == "template"
    assert res.toys is None
    assert res.joint.method == "Gross-Vitells"
    assert res.joint.gv_n_ref_source == "observed scan"


def test_config_round_trip_and_validation() -> None:
    cfg = BumpHuntConfig(categories=(4, 4), score_cuts=("score1>0.5",), mjj_range=(1500.0, 6000.0), threads=2,
                         signal_template=SignalTemplateConfig((1.0, 2.0, 3.0), (1.0, 2.0), 2.0))
    assert config_from_dict(BumpHuntConfig, json.loads(json.dumps(config_to_dict(cfg)))) == cfg
    for bad in ({"background": "expo"}, {"categories": (3, 3, 3)}, {"signal_width": 0.0}, {"mjj_range": (5.0, 1.0)},
                {"dijet_params": (2, 3)}, {"selection": "aic"}):
        with pytest.raises(ConfigError):
            BumpHuntConfig(**bad)
    with pytest.raises(ConfigError, match="unknown option"):
        config_from_dict(BumpHuntConfig, {"n_toy": 3})


def test_pipeline_errors(edges: np.ndarray, spectrum: Spectrum) -> None:
    counts = np.random.default_rng(5).poisson(spectrum(5e4)).astype(float)
    with pytest.raises(ConfigError, match="score axes"):
        run_bumphunt((counts, edges), BumpHuntConfig(categories=(3,), n_toys=0))
    with pytest.raises(InputDataError, match="bins"):
        run_bumphunt((counts, edges), BumpHuntConfig(mjj_range=(1500.0, 1700.0), n_toys=0))
