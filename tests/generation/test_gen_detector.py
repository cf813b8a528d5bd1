"""The toy detector: acceptance, thresholds and Gaussian smearing of calorimeter deposits."""

from __future__ import annotations

import numpy as np
import pytest

from coffea_anomaly.generation.detector import apply_detector
from coffea_anomaly.generation.settings import DetectorConfig


def particles(rows):
    """(pdgId, charge, pt, eta, phi, mass) rows -> the flat inputs of apply_detector."""
    pdg, charge, pt, eta, phi, mass = (np.array(c, dtype=float) for c in zip(*rows))
    px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
    energy = np.sqrt(px**2 + py**2 + pz**2 + mass**2)
    return px, py, pz, energy, mass, pdg.astype(np.int64), charge


def run(rows, seed=0, config=DetectorConfig()):
    return apply_detector(*particles(rows), config, np.random.default_rng(seed))


def test_tracks_are_kept_exactly_and_acceptance_is_applied():
    rows = [
        (211, 1.0, 10.0, 1.0, 0.5, 0.13957),   # track: kept, unchanged
        (-13, 1.0, 20.0, 1.0, -0.5, 0.10566),  # muon in the tracker: kept
        (13, -1.0, 20.0, 3.0, 0.0, 0.10566),   # muon beyond the tracker: lost
        (22, 0.0, 30.0, 5.5, 0.0, 0.0),        # photon beyond the calorimeter: lost
        (130, 0.0, 0.2, 0.0, 0.0, 0.497611),   # neutral hadron below threshold: lost
        (211, 1.0, 50.0, 3.0, 1.0, 0.13957),   # charged beyond the tracker: calorimeter deposit
    ]
    cands = run(rows)
    assert cands.keep.tolist() == [True, True, False, False, False, True]
    assert cands.pdg_id.tolist() == [211, -13, 211]
    assert cands.charge.tolist() == [1, 1, 1]
    assert cands.pt[:2].tolist() == [np.float32(10.0), np.float32(20.0)]
    assert cands.pt[2] != np.float32(50.0)  # smeared
    np.testing.assert_allclose(cands.eta, [1.0, 1.0, 3.0], rtol=1e-6)
    np.testing.assert_allclose(cands.phi, [0.5, -0.5, 1.0], rtol=1e-6)
    np.testing.assert_allclose(cands.mass, [0.13957, 0.10566, 0.13957], rtol=1e-6)
    assert cands.pt.dtype == np.float32 and cands.charge.dtype == np.int32


@pytest.mark.parametrize(
    ("pdg_id", "expected"),
    [(22, np.hypot(0.05 / 10.0, 0.005)), (130, np.hypot(1.0 / 10.0, 0.05))],
    ids=["photon-em", "neutral-hadron"],
)
def test_calorimeter_resolution_is_the_documented_one(pdg_id, expected):
    n = 20000
    mass = 0.0 if pdg_id == 22 else 0.497611
    cands = run([(pdg_id, 0.0, 100.0, 0.0, 0.0, mass)] * n, seed=3)  # E = 100 GeV at eta = 0
    ratio = cands.pt.astype(float) / 100.0
    assert abs(ratio.mean() - 1.0) < 4 * expected / np.sqrt(n)
    assert ratio.std() == pytest.approx(expected, rel=0.03)


def test_same_seed_same_smearing_other_seed_other_smearing():
    rows = [(22, 0.0, 40.0, 0.3, 0.1, 0.0)] * 5
    assert run(rows, seed=1).pt.tolist() == run(rows, seed=1).pt.tolist()
    assert run(rows, seed=1).pt.tolist() != run(rows, seed=2).pt.tolist()
