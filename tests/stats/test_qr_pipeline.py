"""Quantile-regression selections and categories in the bump hunt: hand-made histograms,
run_bumphunt, bumphunt.json and the CLI."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import hist
import numpy as np
import pytest
import uproot
from scipy import stats

from coffea_anomaly.cli.main import main
from coffea_anomaly.config import config_from_dict, config_to_dict
from coffea_anomaly.errors import ConfigError
from coffea_anomaly.stats import BumpHuntConfig, run_bumphunt
from coffea_anomaly.stats.categories import parse_cut
from coffea_anomaly.stats.plots import plot_qr
from coffea_anomaly.stats.qr_categories import make_qr_categories
from coffea_anomaly.stats.quantile_regression import QRKeep
from coffea_anomaly.stats.report import result_to_dict
from coffea_anomaly.stats.signal import GaussianSignal

Spectrum = Callable[[float], np.ndarray]
SCORE_EDGES = np.concatenate([[-np.inf], np.geomspace(1e-4, 1.0, 121), [np.inf]])
LOG_EDGES = np.concatenate([[-np.inf], np.log(SCORE_EDGES[1:-1]), [np.inf]])


def _uniform(n_mjj: int = 3, n1: int = 10, n2: int = 10) -> tuple[np.ndarray, np.ndarray, tuple, tuple]:
    """Flat in both scores on [0, 1], 1000 events per m_jj bin (no flow bins)."""
    counts = np.full((n_mjj, n1, n2), 1000.0 / (n1 * n2))
    mjj = np.linspace(1000.0, 1000.0 * (n_mjj + 1), n_mjj + 1)
    return counts, mjj, (np.linspace(0, 1, n1 + 1), np.linspace(0, 1, n2 + 1)), ("score1", "score2")


def test_quak_selection_high_background_loss_low_signal_loss() -> None:
    counts, mjj, edges, names = _uniform()
    cats, report = make_qr_categories(counts, mjj, edges, names,
                                      keeps=(QRKeep(0.2), QRKeep(0.5, "low", "score2")))
    (cat,) = cats
    assert cat.name == "all"
    assert cat.counts == pytest.approx([100.0, 100.0, 100.0])  # 20 % x 50 % of 1000 at every m_jj
    (lo1, hi1), (lo2, hi2) = cat.score_ranges
    assert lo1 == pytest.approx(0.8, abs=1e-6)
    assert hi1 == np.inf
    assert lo2 == -np.inf
    assert hi2 == pytest.approx(0.5, abs=1e-6)
    first, second = report["axes"]
    assert first["axis"] == "score1"
    assert first["kept_fraction"] == [pytest.approx([0.2] * 3)]
    assert first["fixed_cut"]["kept_fraction"] == pytest.approx([0.2] * 3)
    assert second["within_bands_of"] == "score1"
    assert second["bands"][0]["kept_fraction"] == [pytest.approx([0.5] * 3)]


def test_two_by_two_bands_split_the_selection_evenly() -> None:
    counts, mjj, edges, names = _uniform()
    cats, _ = make_qr_categories(counts, mjj, edges, names, keeps=(QRKeep(0.5),), shape=(2, 2))
    assert [c.name for c in cats] == ["1x1", "1x2", "2x1", "2x2"]
    for c in cats:
        assert c.counts == pytest.approx([125.0] * 3)
        assert c.fraction == pytest.approx(0.25)
    assert cats[0].score_ranges[0] == pytest.approx((0.5, 0.75))
    assert cats[3].score_ranges[1] == (pytest.approx(0.5), np.inf)


def test_fixed_cuts_apply_first() -> None:
    counts, mjj, edges, names = _uniform()
    cats, _ = make_qr_categories(counts.sum(axis=2), mjj, edges[:1], names[:1],
                                 keeps=(QRKeep(0.5),), cuts=(parse_cut("score1<0.6"),))
    # score1 < 0.6 keeps 600 per m_jj bin; the highest half of those is 0.3 < score1 < 0.6
    assert cats[0].counts == pytest.approx([300.0] * 3)
    assert cats[0].score_ranges[0][0] == pytest.approx(0.3)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"keeps": (QRKeep(0.1, "high", "score3"),)}, "unknown axis"),
        ({"keeps": (QRKeep(0.1), QRKeep(0.2, "low", "score1"))}, "one quantile-regression selection per"),
        ({"shape": (2, 2, 2)}, "score axes"),
    ],
)
def test_errors(kwargs: dict, message: str) -> None:
    counts, mjj, edges, names = _uniform()
    with pytest.raises(ConfigError, match=message):
        make_qr_categories(counts, mjj, edges, names, **kwargs)


def _correlated(edges: np.ndarray, spectrum: Spectrum, signal: float, seed: int = 11) -> hist.Hist:
    """m_jj x score: a log-normal score whose median rises 4x over the range, and a
    2.5 TeV signal at large scores (a few % of the events under it, as the QR
    fit on the data itself needs)."""
    centres = 0.5 * (edges[1:] + edges[:-1])
    median = 1e-2 * (centres / 1500.0) ** 1.2
    cdf = stats.norm.cdf((LOG_EDGES[None, :] - np.log(median)[:, None]) / 0.7)
    p_bkg = np.diff(cdf, axis=1)
    sig = signal * GaussianSignal(0.03).fractions(edges, np.array([2500.0]))[0]
    p_sig = np.diff(stats.norm.cdf((LOG_EDGES - np.log(0.3)) / 0.3))
    rng = np.random.default_rng(seed)
    counts = rng.poisson(spectrum(1e5)[:, None] * p_bkg + sig[:, None] * p_sig[None, :]).astype(float)
    h = hist.Hist(hist.axis.StrCategory(["data"], name="dataset"), hist.axis.Variable(edges, name="mjj"),
                  hist.axis.Variable(SCORE_EDGES[1:-1], name="score"), storage=hist.storage.Weight())
    view = h.view(flow=True)
    view.value[0, 1:-1] = counts
    view.variance[0, 1:-1] = counts
    return h


def test_bumphunt_with_a_qr_selection(edges: np.ndarray, spectrum: Spectrum, tmp_path: Path) -> None:
    h = _correlated(edges, spectrum, signal=120.0)
    config = BumpHuntConfig(qr_keep=("0.1",), n_masses=30, n_toys=0, bumphunter=False)
    res = run_bumphunt(h, config, dataset="data")
    assert res.qr is not None
    assert len(res.categories) == 1
    axis = res.qr["axes"][0]
    kept = np.array(axis["kept_fraction"][0], dtype=float)
    n = np.array(axis["events_per_mjj_bin"])
    centres = 0.5 * (edges[1:] + edges[:-1])
    full = (n > 500) & (np.abs(centres / 2500.0 - 1) > 0.15)  # populated, away from the signal
    assert np.all(np.abs(kept[full] - 0.1) < 4 * np.sqrt(0.09 / n[full]))
    fixed = np.array(axis["fixed_cut"]["kept_fraction"], dtype=float)
    assert fixed[full][0] < 0.06
    assert fixed[full][-1] > 2 * fixed[full][0]
    assert abs(res.best_mass / 2500.0 - 1) < 0.04
    assert res.local_z > 3
    data = result_to_dict(res)
    json.dumps(data, allow_nan=False)
    assert data["qr_selection"]["keep"] == ["high:0.1"]
    assert data["categories"][0]["n_events"] == pytest.approx(0.1 * h.sum().value, rel=0.05)
    assert config_from_dict(BumpHuntConfig, json.loads(json.dumps(config_to_dict(config)))) == config
    assert plot_qr(res, tmp_path / "qr.png").stat().st_size > 10_000


def test_config_validation() -> None:
    with pytest.raises(ConfigError, match="qr-keep"):
        BumpHuntConfig(qr_keep=("score2<0.5",))
    with pytest.raises(ConfigError, match="qr_degree"):
        BumpHuntConfig(qr_degree=-1)
    with pytest.raises(ConfigError, match="score axes"):
        run_bumphunt((np.ones(20) * 100, np.arange(1000.0, 3001.0, 100.0)), BumpHuntConfig(qr_keep=("0.1",)))


def test_cli_qr_keep_and_categories(tmp_path: Path, edges: np.ndarray, spectrum: Spectrum,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    h = _correlated(edges, spectrum, signal=0.0)[{"dataset": 0}]
    with uproot.recreate(tmp_path / "hists.root") as f:
        f["data/mjj_score_m"] = h
    out = tmp_path / "o"
    try:
        main(["bumphunt", str(tmp_path), "--out", str(out), "--hist", "mjj_score_m", "--dataset", "data",
              "--qr-keep", "0.3", "--categories", "3", "--qr-degree", "2", "--toys", "0", "--n-masses", "8",
              "--no-bumphunter", "--no-plots", "--quiet"])
        code = 0
    except SystemExit as err:
        code = int(err.code or 0)
    assert code == 0, capsys.readouterr().err
    data = json.loads((out / "bumphunt.json").read_text())
    assert data["config"]["qr_keep"] == ["0.3"]
    assert data["config"]["qr_degree"] == 2
    assert [c["name"] for c in data["categories"]] == ["1", "2", "3"]
    axis = data["qr_selection"]["axes"][0]
    assert [f["degree"] for f in axis["fits"] if f] == [2, 2, 2]
    assert axis["target_fractions"] == pytest.approx([0.1, 0.1, 0.1])
    for c in data["categories"]:
        assert c["fraction_of_selected"] == pytest.approx(1 / 3, abs=0.01)
