"""Hard-process GenPart (mothers through shower copies) and fat-jet truth matching."""

from __future__ import annotations

import numpy as np

from coffea_anomaly.generation.truth import hard_process, truth_match

# A Pythia-like ttbar record: t -> W+ b, W+ -> u dbar (hadronic); tbar -> W- bbar, W- -> e nu.
# Columns: pdgId, status, mother1, (eta, phi) of a 500 GeV momentum.
TTBAR = [
    (90, -11, 0, 0.0, 0.0),    # 0 system
    (2212, -12, 0, 0.0, 0.0),  # 1 beam
    (2212, -12, 0, 0.0, 0.0),  # 2 beam
    (21, -21, 1, 0.0, 0.0),    # 3 incoming gluon (pt = 0 below)
    (21, -21, 2, 0.0, 0.0),    # 4 incoming gluon
    (6, -22, 3, 0.0, 0.0),     # 5 t
    (-6, -22, 3, 0.1, 3.0),    # 6 tbar
    (6, -62, 5, 0.0, 0.05),    # 7 t after the shower (copy)
    (24, -22, 7, 0.0, -0.1),   # 8 W+
    (5, -23, 7, 0.2, 0.3),     # 9 b
    (2, -23, 8, -0.3, -0.3),   # 10 u
    (-1, -23, 8, 0.1, -0.2),   # 11 dbar
    (-6, -62, 6, 0.1, 3.05),   # 12 tbar copy
    (-24, -22, 12, 0.0, 3.0),  # 13 W-
    (-5, -23, 12, 0.2, 2.9),   # 14 bbar
    (11, -23, 13, 0.3, 3.1),   # 15 e-
    (-12, -23, 13, -0.2, 3.0), # 16 nu_e bar
    (211, 83, 10, 0.0, 0.0),   # 17 a final pion (not hard)
]
# A QCD record: g g -> g g.
QCD = [
    (90, -11, 0, 0.0, 0.0),
    (2212, -12, 0, 0.0, 0.0),
    (2212, -12, 0, 0.0, 0.0),
    (21, -21, 1, 0.0, 0.0),
    (21, -21, 2, 0.0, 0.0),
    (21, 23, 3, 0.5, 1.0),
    (21, 23, 3, -0.5, -2.0),
]


def gen_of(*events):
    rows = [r for ev in events for r in ev]
    pdg, status, mother, eta, phi = (np.array(c) for c in zip(*rows))
    pt = np.where(np.abs(status) == 21, 0.0, 500.0)
    pz = np.where(np.abs(status) == 21, 100.0, pt * np.sinh(eta))
    return hard_process(pdg, status, mother, pt * np.cos(phi), pt * np.sin(phi), pz, np.full(len(pdg), 1.0),
                        np.array([len(ev) for ev in events]))


def test_genpart_keeps_the_hard_process_with_mothers_through_copies():
    gen = gen_of(TTBAR, QCD)
    assert gen.counts.tolist() == [12, 4]
    n0 = gen.counts[0]
    assert gen.pdg_id[:n0].tolist() == [21, 21, 6, -6, 24, 5, 2, -1, -24, -5, 11, -12]
    assert gen.status[:n0].tolist() == [21, 21, 22, 22, 22, 23, 23, 23, 22, 23, 23, 23]
    assert gen.mother[:n0].tolist() == [-1, -1, 0, 0, 2, 2, 4, 4, 3, 3, 8, 8]
    assert gen.pdg_id[n0:].tolist() == [21, 21, 21, 21]
    assert gen.mother[n0:].tolist() == [-1, -1, 0, 0]
    np.testing.assert_allclose(gen.pt[2], 500.0)
    assert gen.eta[0] == 1e4  # incoming parton along +z


def test_truth_match_needs_the_resonance_and_all_its_quarks_inside_the_jet():
    gen = gen_of(TTBAR, QCD)
    # event 0: jet on the hadronic top, jet on the leptonic top, jet off to the side;
    # event 1 (QCD): one jet on a gluon
    jet_eta = np.array([0.0, 0.1, 0.0, 0.5])
    jet_phi = np.array([0.0, 3.0, 1.5, 1.0])
    matched = truth_match(jet_eta, jet_phi, np.array([3, 1]), gen, (6,), 0.8)
    assert matched.tolist() == [1, 0, 0, 0]


def test_truth_match_fails_when_a_decay_quark_is_outside():
    gen = gen_of(TTBAR)
    # jet axis shifted so that the b (phi = 0.3) stays inside but the u (phi = -0.3, eta = -0.3) does not
    matched = truth_match(np.array([0.3]), np.array([0.45]), np.array([1]), gen, (6,), 0.8)
    assert matched.tolist() == [0]
    # and a small radius loses the match even on the top axis
    assert truth_match(np.array([0.0]), np.array([0.0]), np.array([1]), gen, (6,), 0.2).tolist() == [0]


def test_a_listed_particle_without_decay_products_matches_itself():
    gen = gen_of(QCD)
    matched = truth_match(np.array([0.5, -0.5]), np.array([1.0, 0.0]), np.array([2]), gen, (21,), 0.8)
    assert matched.tolist() == [1, 0]
