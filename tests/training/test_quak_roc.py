"""ROC envelopes of QUAK selections: 1-D equals the ordinary ROC; a useful prior helps,
a useless one does not hurt; hand-made cases whose counts are known."""

from __future__ import annotations

import numpy as np
import pytest

from coffea_anomaly.errors import ConfigError
from coffea_anomaly.training.metrics import roc_auc
from coffea_anomaly.training.quak_roc import quak_roc


def test_one_dimension_is_the_ordinary_roc() -> None:
    rng = np.random.default_rng(0)
    b, s = rng.normal(0, 1, 5000), rng.normal(1, 1, 3000)
    r = quak_roc({"bkg": s}, {"bkg": b}, ["bkg"])
    assert r.auc == pytest.approx(roc_auc(s, b), abs=2e-3)
    assert np.all(np.diff(r.tpr) >= 0) and np.all(np.diff(r.fpr) >= 0)
    assert (r.fpr[0], r.tpr[0], r.fpr[-1], r.tpr[-1]) == (0.0, 0.0, 1.0, 1.0)


def test_hand_made_two_dimensional_counts() -> None:
    # background: high signal loss; signal: high background loss and low signal loss
    bkg = {"b": np.array([0.1, 0.2, 0.3, 0.4]), "s": np.array([5.0, 6.0, 7.0, 8.0])}
    sig = {"b": np.array([0.35, 0.9]), "s": np.array([1.0, 9.0])}
    r = quak_roc(sig, bkg, ["b", "s"], steps=4)
    # thresholds are background quartiles: b at (0.175, 0.25, 0.325), s at (5.75, 6.5, 7.25);
    # "b > 0.325 and s < 5.75" keeps signal event 1 (0.35, 1.0) and no background
    assert r.rejection_at(0.5) == float("inf")
    # the whole signal needs "b > 0.325" with no s cut: the background event at 0.4 stays
    assert r.rejection_at(1.0) == pytest.approx(4.0)
    # with b alone the best cut keeps both signal events and one background event in four
    one = quak_roc(sig, bkg, ["b"], steps=4)
    assert one.rejection_at(0.5) == pytest.approx(4.0)
    assert one.auc < r.auc


def test_a_useful_prior_helps_and_a_useless_one_does_not_hurt() -> None:
    rng = np.random.default_rng(3)
    n = 20000
    bkg = {"b": rng.exponential(1, n), "useful": rng.normal(2, 1, n), "noise": rng.normal(0, 1, n)}
    sig = {"b": rng.exponential(1, n) + 0.5, "useful": rng.normal(0, 1, n), "noise": rng.normal(0, 1, n)}
    one = quak_roc(sig, bkg, ["b"])
    two = quak_roc(sig, bkg, ["b", "useful"])
    noisy = quak_roc(sig, bkg, ["b", "noise"])
    assert two.auc > one.auc + 0.1
    assert noisy.auc == pytest.approx(one.auc, abs=0.02)  # the envelope can only pick "no cut"
    weighted = quak_roc(sig, bkg, ["b", "useful"], signal_weights=np.full(n, 2.0),
                        background_weights=np.full(n, 0.5))  # fmt: skip
    assert weighted.auc == pytest.approx(two.auc, abs=1e-12)  # uniform weights change nothing


def test_missing_loss_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="missing"):
        quak_roc({"a": np.ones(3)}, {"a": np.ones(3)}, ["a", "b"])
    with pytest.raises(ConfigError):
        quak_roc({}, {}, [])


def test_evaluate_refuses_an_unknown_quak_loss_before_reading_samples(tmp_path) -> None:
    from click.testing import CliRunner

    from coffea_anomaly.cli.main import cli
    from coffea_anomaly.resources import model_path

    res = CliRunner().invoke(cli, ["evaluate", str(model_path("quak")), "--signal", str(tmp_path / "absent"),
                                   "--background", str(tmp_path / "absent"), "--quak", "background,nope"])  # fmt: skip
    assert res.exit_code != 0
    assert "nope is not a loss of" in str(res.exception) + res.output
    assert "known: background, wprime_2prong" in str(res.exception) + res.output
