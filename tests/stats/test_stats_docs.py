"""The examples in the stats docstrings run and give what they say."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["background", "bumphunter", "categories", "combine", "ftest", "pipeline", "quantile_regression", "scan",
           "signal", "toys"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(f"coffea_anomaly.stats.{name}")
    failed, tried = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert tried > 0
    assert failed == 0


@pytest.mark.slow
def test_stats_never_imports_models() -> None:
    import subprocess
    import sys

    code = ("import sys, coffea_anomaly.stats.pipeline, coffea_anomaly.stats.report; "
            "bad = [m for m in sys.modules if m.startswith(('coffea_anomaly.inference', "
            "'coffea_anomaly.representations', 'torch', 'onnxruntime'))]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
