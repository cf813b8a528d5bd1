"""Scoring never imports torch, even with torch installed (issue 8).

A Dask worker that unpickles an ``OnnxModel`` imports what the model's class needs; torch
would cost it seconds before its first chunk. Each check runs in a fresh interpreter and
prints the unwanted modules it finds in ``sys.modules`` (an empty line when there are none).
"""

from __future__ import annotations

import importlib.util
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from coffea_anomaly.inference.onnx_model import OnnxModel

HERE = Path(__file__).resolve().parent

#: printed last by every snippet: the unwanted modules that got imported
REPORT = "\nprint(','.join(m for m in ('torch', 'coffea.ml_tools') if m in sys.modules))"


def _fresh(code: str, stdin: bytes = b"") -> str:
    """Run ``code`` in a fresh interpreter; its last line of output."""
    out = subprocess.run(
        [sys.executable, "-c", "import sys\n" + code + REPORT],
        input=stdin,
        capture_output=True,
        check=False,
        timeout=120,
    )
    stderr = out.stderr.decode(errors="replace")
    assert out.returncode == 0, stderr[-3000:]
    return out.stdout.decode().strip().rsplit("\n", 1)[-1] if out.stdout.strip() else ""


def test_torch_is_installed_so_these_checks_mean_something() -> None:
    if importlib.util.find_spec("torch") is None:  # found without importing it here
        pytest.skip("torch is not installed: the checks below pass trivially")
    # the report does see torch when something imports it: an empty line below is a pass
    assert _fresh("import torch") == "torch"


def test_importing_score_does_not_import_torch() -> None:
    code = "from coffea_anomaly import score\nimport coffea_anomaly.inference"
    assert _fresh(code) == ""


def test_unpickled_model_scores_without_torch() -> None:
    model = OnnxModel("image_cnn_ae", intra_op_threads=1, inter_op_threads=1)
    blob = pickle.dumps(model)
    code = (
        "import pickle\n"
        "import numpy as np\n"
        "model = pickle.loads(sys.stdin.buffer.read())\n"
        "shape = [d or 1 for d in model.card.input.shape[1:]]\n"
        "x = np.random.default_rng(0).random((8, *shape), dtype=np.float32)\n"
        "scores = model.score_numpy(x)[model.score_names[0]]\n"
        "assert scores.shape == (8,) and np.isfinite(scores).all(), scores\n"
    )
    assert _fresh(code, stdin=blob) == ""


def test_building_and_calling_a_model_on_awkward_and_dask_does_not_import_torch() -> None:
    code = (
        f"sys.path.insert(0, {str(HERE)!r})\n"
        "import awkward as ak, dask, dask_awkward as dak\n"
        "from onnx_toys import mse_model, toy_image\n"
        "from coffea_anomaly import OnnxModel, score\n"
        "OnnxModel('image_cnn_ae')\n"
        "model = OnnxModel(mse_model((2, 2)), input_builder=toy_image)\n"
        "jets = ak.Array([[{'pt': 1.0}, {'pt': 2.0}], [], [{'pt': 3.0}]])\n"
        "cons = ak.Array([[[{'pt': 1.0}], [{'pt': 2.0}]], [], [[{'pt': 3.0}]]])\n"
        "eager = score(jets, model, constituents=cons)\n"
        "with dask.config.set({'awkward.optimization.enabled': False}):\n"
        "    lazy = score(dak.from_awkward(jets, 2), model, constituents=dak.from_awkward(cons, 2))\n"
        "    assert lazy.compute().tolist() == eager.tolist()\n"
    )
    assert _fresh(code) == ""


def test_importing_the_processors_does_not_import_torch() -> None:
    assert _fresh("import coffea_anomaly.processors") == ""
