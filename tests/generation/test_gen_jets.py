"""fastjet clustering, substructure and the event filters on hand-made jets."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest

from coffea_anomaly.generation.filters import dijet_mass, passes_filter
from coffea_anomaly.generation.jets import cluster_jets, four_vectors, substructure
from coffea_anomaly.generation.settings import FilterConfig


def cands(*events):
    """events of (pt, eta, phi) rows -> events x candidates (massless)."""
    return ak.Array([[{"pt": pt, "eta": eta, "phi": phi, "mass": 0.0} for pt, eta, phi in ev] for ev in events])


def test_anti_kt_finds_the_two_groups_pt_ordered_with_their_constituents():
    event = [(50.0, 0.0, 0.0), (300.0, 2.0, 2.0), (40.0, 0.1, 0.1), (200.0, 2.1, 2.2), (5.0, -3.0, -2.0)]
    jets = cluster_jets(cands(event, []), radius=0.8, min_pt=20.0)
    assert ak.num(jets.pt).tolist() == [2, 0]
    assert jets.pt[0, 0] > jets.pt[0, 1]
    assert sorted(jets.constituents[0, 0].tolist()) == [1, 3]
    assert sorted(jets.constituents[0, 1].tolist()) == [0, 2]
    np.testing.assert_allclose(jets.pt[0, 1], np.hypot(50 + 40 * np.cos(0.1), 40 * np.sin(0.1)), rtol=1e-12)


def test_clustering_no_candidates_gives_typed_empty_jets():
    jets = cluster_jets(cands([], []), radius=0.8, min_pt=20.0)
    assert ak.num(jets.pt).tolist() == [0, 0]
    assert str(ak.type(jets.constituents)) == "2 * var * var * int64"


def test_two_prong_jet_has_zero_tau2_and_keeps_its_mass_under_soft_drop():
    p4 = four_vectors(ak.Array([[100.0, 100.0]]), ak.Array([[0.0, 0.0]]), ak.Array([[0.2, -0.2]]),
                      ak.Array([[0.0, 0.0]]))
    taus, msd = substructure(p4, radius=0.8, nsub_beta=1.0, softdrop_beta=0.0, softdrop_zcut=0.1)
    mass = 2 * 100.0 * np.sin(0.2)  # two massless 100 GeV prongs 0.4 apart in phi
    assert taus.shape == (1, 4)
    assert taus[0, 0] > 0.1 and taus[0, 1] == pytest.approx(0.0, abs=1e-9)
    assert msd[0] == pytest.approx(mass, rel=1e-3)


def test_soft_drop_removes_a_soft_wide_angle_prong():
    p4 = four_vectors(ak.Array([[100.0, 100.0, 3.0]]), ak.Array([[0.0, 0.0, 0.6]]),
                      ak.Array([[0.05, -0.05, 0.0]]), ak.Array([[0.0, 0.0, 0.0]]))
    _, msd = substructure(p4, radius=0.8, nsub_beta=1.0, softdrop_beta=0.0, softdrop_zcut=0.1)
    assert msd[0] == pytest.approx(2 * 100.0 * np.sin(0.05), rel=1e-3)


def fatjets(*events):
    return ak.Array([[{"pt": pt, "eta": eta, "phi": phi, "mass": m, "truthMatch": t}
                      for pt, eta, phi, m, t in ev] for ev in events])


def test_dijet_mass_of_back_to_back_jets():
    jets = fatjets([(1000.0, 0.0, 0.0, 0.0, 0), (1000.0, 0.0, np.pi, 0.0, 0), (50.0, 1.0, 1.0, 5.0, 0)],
                   [(1500.0, 0.0, 0.0, 0.0, 0)])
    np.testing.assert_allclose(dijet_mass(jets.pt, jets.eta, jets.phi, jets.mass), [2000.0, 0.0], atol=1e-9)


def test_fatjet_window_filter():
    jets = fatjets([(600.0, 0.5, 0.0, 100.0, 0)], [(700.0, 0.0, 0.0, 1.0, 1)], [(600.0, 2.5, 0.0, 1.0, 1)],
                   [(560.0, -1.0, 0.0, 170.0, 1), (400.0, 0.0, 3.0, 10.0, 0)], [])
    window = FilterConfig(kind="fatjet_window", pt_min=550.0, pt_max=650.0, abs_eta_max=2.0)
    assert passes_filter(jets, window).tolist() == [True, False, False, True, False]
    matched = FilterConfig(kind="fatjet_window", pt_min=550.0, pt_max=650.0, abs_eta_max=2.0,
                           require_truth_match=True)
    assert passes_filter(jets, matched).tolist() == [False, False, False, True, False]


def test_dijet_filter():
    jets = fatjets([(1300.0, 0.0, 0.0, 0.0, 0), (1300.0, 0.0, np.pi, 0.0, 0)],  # mjj 2600
                   [(1100.0, 0.0, 0.0, 0.0, 0), (1100.0, 0.0, np.pi, 0.0, 0)],  # leading too soft
                   [(1300.0, 0.0, 0.0, 0.0, 0)],                                # one jet
                   [(1300.0, 2.0, 0.0, 0.0, 0), (1300.0, -2.0, np.pi, 0.0, 0)])  # mjj ~ 9.8 TeV
    dijet = FilterConfig(kind="dijet", leading_pt_min=1200.0, mjj_min=2000.0, mjj_max=8000.0)
    assert passes_filter(jets, dijet).tolist() == [True, False, False, False]
