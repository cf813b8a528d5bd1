"""The demo's jet-model zoo: every shipped jet model on one ROC of tops vs QCD, with the
background mass sculpting, and its report section."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from coffea_anomaly.demo import ZOO_JET_MODELS, _sections, _shipped, _zoo
from coffea_anomaly.inference.card import read_card
from coffea_anomaly.resources import model_path


def test_the_zoo_lists_shipped_jet_models_trained_on_qcd() -> None:
    shipped = _shipped(ZOO_JET_MODELS)
    assert {"image_cnn_ae", "farina_pca", "nae_qcd"} <= set(shipped)
    for name in shipped:
        card = read_card(model_path(name))
        assert card.level == "jet" and card.training["label"] == "qcd", name


@pytest.mark.slow
def test_zoo_scores_each_model_on_the_demo_jets_and_draws_roc_and_sculpting(generated, tmp_path: Path) -> None:
    samples = {k: SimpleNamespace(fileset=generated[k] / "fileset.json") for k in ("qcd_jets", "top_jets")}
    lines: list[str] = []
    zoo = _zoo(("farina_pca", "image_cnn_ae"), samples, tmp_path / "zoo", lines.append)
    assert set(zoo["aucs"]) == {"farina_pca", "image_cnn_ae"}
    assert all(0.5 < auc <= 1.0 for auc in zoo["aucs"].values()), zoo["aucs"]  # both tag tops
    assert zoo["figures"] == ["zoo/roc.png", "zoo/sculpting.png"]
    assert all((tmp_path / f).stat().st_size > 10_000 for f in zoo["figures"])
    assert zoo["n_signal"] > 0 and zoo["n_background"] > zoo["n_signal"]
    assert any("AUC farina_pca: tops vs QCD" in line for line in lines)
    # the report section shows it
    summary = {"events_read": 1, "items_scored": 1, "wall_time_s": 1.0, "items_scored_per_s": 1.0,
               "all_events_accounted": True, "datasets": {}, "models": {"m": {}}, "plots": []}  # fmt: skip
    run = SimpleNamespace(out_dir=tmp_path / "jets", summary=summary)
    section = next(s for s in _sections(tmp_path, {"zoo": zoo}, run, run) if s["title"].startswith("Jet model zoo"))
    assert section["figures"] == zoo["figures"] and len(section["bullets"]) == 2
