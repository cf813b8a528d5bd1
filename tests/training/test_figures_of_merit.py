"""The papers' figures of merit on hand-made scores whose values are known."""

from __future__ import annotations

import numpy as np
import pytest

from coffea_anomaly.metrics import (background_rejection_at, mass_by_score_quantile, mass_sculpting_jsd,
                                    signal_efficiency_at)  # fmt: skip
from coffea_anomaly.training.evaluate import figures_of_merit, plot_labels, plot_sculpting

# background scores 0..999 (uniform), signal scores: 1000 items, half above every background
BKG = np.arange(1000.0)
SIG = np.r_[np.arange(500.0) * 2 + 0.5, np.full(500, 2000.0)]


def test_e10_e100_and_rejection_on_a_known_roc() -> None:
    # keeping the top 10 % of background (score >= 900): signal above 900 = 500 + 50
    assert signal_efficiency_at(SIG, BKG, 0.1) == pytest.approx(0.55, abs=1e-3)
    assert signal_efficiency_at(SIG, BKG, 0.01) == pytest.approx(0.505, abs=1e-3)
    # ε_S = 0.2 is reached before any background passes: infinite rejection
    assert background_rejection_at(SIG, BKG, 0.2) == np.inf
    # ε_S = 0.75 needs the signal down to score 500.5 → 499 background items pass
    assert background_rejection_at(SIG, BKG, 0.75) == pytest.approx(1000 / 499)


def test_random_score_has_e10_of_ten_percent() -> None:
    rng = np.random.default_rng(1)
    s, b = rng.uniform(size=200_000), rng.uniform(size=200_000)
    assert signal_efficiency_at(s, b, 0.1) == pytest.approx(0.1, abs=3e-3)
    assert signal_efficiency_at(s, b, 0.01) == pytest.approx(0.01, abs=1e-3)
    assert background_rejection_at(s, b, 0.2) == pytest.approx(5.0, rel=0.03)


def test_sculpting_jsd_is_zero_for_an_independent_score_and_large_for_the_mass_itself() -> None:
    rng = np.random.default_rng(2)
    mass = rng.exponential(50.0, size=100_000)
    independent = rng.uniform(size=mass.size)
    assert mass_sculpting_jsd(mass, independent, 0.05) < 0.01
    # the score is the mass: the top 5 % are the heaviest jets, a disjoint shape
    assert mass_sculpting_jsd(mass, mass, 0.05) > 0.7
    assert mass_sculpting_jsd(mass, mass, 0.01) >= mass_sculpting_jsd(mass, mass, 0.05)
    # two bins: all (0.95, 0.05) against the tail (0, 1), base-2 divergence by hand
    m = np.r_[np.zeros(95), np.ones(5)]
    p, q = np.array([0.95, 0.05]), np.array([0.0, 1.0])
    mid = (p + q) / 2
    want = 0.5 * np.sum(p * np.log2(p / mid)) + 0.5 * np.sum(q[1:] * np.log2(q[1:] / mid[1:]))
    assert mass_sculpting_jsd(m, m, 0.05, bins=[-0.5, 0.5, 1.5]) == pytest.approx(want)


def test_mean_mass_per_decile() -> None:
    mass = np.arange(100.0)
    assert mass_by_score_quantile(mass, mass, 10) == [4.5 + 10 * k for k in range(10)]
    assert mass_by_score_quantile(mass, -mass, 10)[0] == 94.5
    flat = mass_by_score_quantile(mass, np.zeros(100) + np.arange(100) % 10, 10)
    assert max(flat) - min(flat) < 10


def test_figures_of_merit_collects_every_number(tmp_path) -> None:
    mass = BKG / 10
    fom = figures_of_merit(SIG, BKG, background_mass=mass)
    assert fom["e10"] == pytest.approx(0.55, abs=1e-3)
    assert fom["max_sic"]["eps_b_floor"] == 1e-3 and fom["max_sic"]["value"] > 10
    assert fom["jsd_top_0.05"] > 0.5 and len(fom["mean_mass_by_score_decile"]) == 10
    assert "jsd_top_0.05" not in figures_of_merit(SIG, BKG)
    png = plot_sculpting({"a": (mass, BKG, None), "b": (mass, np.random.default_rng(0).uniform(size=1000), None)},
                         tmp_path / "s.png")  # fmt: skip
    assert png.stat().st_size > 1000


def _evaluation(auc: float, sic: float, name: str = "score"):
    from coffea_anomaly.training.evaluate import Evaluation

    merits = {name: {"auc": auc, "rejection_at_eps_s_0.2": 10 * auc, "e10": auc / 2, "e100": auc / 10,
                     "max_sic": {"value": sic, "eps_s": 0.5, "eps_b": 0.01, "eps_b_floor": 1e-3}}}  # fmt: skip
    return Evaluation(aucs={name: auc}, n_signal=1, n_background=1, signal_scores={}, background_scores={},
                      merits=merits, model_name=f"run{auc}")  # fmt: skip


def test_seed_spread_is_the_mean_and_sample_std_of_each_figure_over_the_runs() -> None:
    from coffea_anomaly.errors import ConfigError
    from coffea_anomaly.training.evaluate import seed_spread

    spread = seed_spread([_evaluation(0.80, 2.0), _evaluation(0.84, 2.6), _evaluation(0.82, 2.3)])
    auc = spread["score"]["auc"]
    assert auc["mean"] == pytest.approx(0.82) and auc["std"] == pytest.approx(0.02)  # sqrt((.02²+.02²)/2)
    assert (auc["min"], auc["max"], auc["values"]) == (0.80, 0.84, [0.80, 0.84, 0.82])
    assert spread["score"]["max_sic"]["mean"] == pytest.approx(2.3) and spread["score"]["max_sic"]["std"] == pytest.approx(0.3)
    assert spread["score"]["e100"]["mean"] == pytest.approx(0.082)
    assert "jsd_top_0.05" not in spread["score"]  # no run has the background masses
    with pytest.raises(ConfigError, match="at least two runs"):
        seed_spread([_evaluation(0.8, 2.0)])
    with pytest.raises(ConfigError, match="not have the same scores"):
        seed_spread([_evaluation(0.8, 2.0), _evaluation(0.8, 2.0, name="kl")])


def test_models_sharing_a_card_name_get_distinct_plot_labels() -> None:
    """Two λ of one config (same card name) must not overwrite each other's curve or panel."""
    names = ["image_cnn_ae", "image_adversarial_ae", "image_adversarial_ae"]
    paths = ["models/image_cnn_ae.onnx", "models/image_adversarial_ae.onnx", "runs/adv_1e-4.onnx"]
    assert plot_labels(paths, names) == ["image_cnn_ae", "image_adversarial_ae", "image_adversarial_ae (adv_1e-4)"]
    assert plot_labels(["a/m.onnx", "b/m.onnx"], ["m", "m"]) == ["m #1", "m #2"]
    assert plot_labels(["x.onnx"], ["x"]) == ["x"]
