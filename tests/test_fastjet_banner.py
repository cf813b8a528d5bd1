"""FastJet's banner never reaches stdout: not from the runner, not from features in training."""

from __future__ import annotations

import subprocess
import sys


def test_substructure_features_print_no_banner() -> None:
    code = (
        "import numpy as np, awkward as ak\n"
        "from coffea_anomaly.generation.jets import cluster_jets\n"
        "c = ak.Array([[{'pt': 100.0, 'eta': 0.1, 'phi': 0.2, 'mass': 0.0},"
        " {'pt': 50.0, 'eta': 0.3, 'phi': 0.1, 'mass': 0.0}]])\n"
        "jets = cluster_jets(c, 0.8, 10.0)\n"
        "print('jets', len(jets.pt[0]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert "jets 1" in out.stdout
    assert "FastJet" not in out.stdout
