"""The shipped analysis configs parse and validate (their data are made by the user)."""

from __future__ import annotations

import pytest

from coffea_anomaly.resources import config_path
from coffea_anomaly.runner import load_run_config


@pytest.mark.parametrize("name", ["top_vs_qcd_jets.yaml", "dijet_search.yaml", "quak_blackbox.yaml"])
def test_shipped_analysis_configs_load(name: str) -> None:
    cfg = load_run_config(config_path("analyses", name))
    assert cfg.processor in ("jet", "dijet")
    assert cfg.models
