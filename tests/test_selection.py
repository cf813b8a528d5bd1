"""The one jet/dijet selection (coffea_anomaly.selection) on hand-made jets with known answers."""

from __future__ import annotations

import awkward as ak
import pytest
from coffea.nanoevents.methods import vector

from coffea_anomaly.errors import ConfigError, MissingCollectionError
from coffea_anomaly.selection import (
    DijetSelection,
    JetSelection,
    dijet_steps,
    jet_mask,
    looser_than,
    select_dijets,
    select_jets,
    selection_from_dict,
    selection_to_dict,
)


def _jets(events: list[list[tuple[float, ...]]]) -> ak.Array:
    """Events of jets given as (pt, eta[, truthMatch]); phi alternates, mass 50 GeV."""
    rows = [
        [{"pt": j[0], "eta": j[1], "phi": 0.0 if i % 2 == 0 else 3.0, "mass": 50.0,
          "truthMatch": int(j[2]) if len(j) > 2 else 1} for i, j in enumerate(ev)]
        for ev in events
    ]  # fmt: skip
    return ak.zip(
        {k: ak.Array([[j[k] for j in ev] for ev in rows]) for k in ("pt", "eta", "phi", "mass", "truthMatch")},
        with_name="PtEtaPhiMLorentzVector", behavior=vector.behavior,
    )  # fmt: skip


WINDOW = JetSelection(pt_min=550, pt_max=650, eta_max=2.0)


def test_jet_window_is_half_open_and_eta_strict() -> None:
    jets = _jets([[(550.0, 0.0), (650.0, 0.0), (600.0, 2.0), (600.0, -1.99)], []])
    assert jet_mask(jets, WINDOW).tolist() == [[True, False, False, True], []]


def test_jet_selection_truth_matching_and_leading_selected_jets() -> None:
    jets = _jets([[(700.0, 0.0, 1), (600.0, 0.1, 0), (590.0, 0.2, 1), (580.0, 0.3, 1)]])
    sel = JetSelection(pt_min=550, pt_max=650, truth_match=True, max_jets=1)
    kept, cons, steps = select_jets(jets, None, sel)
    assert kept.pt.tolist() == [[590.0]]  # the leading jet *after* the cuts, not the event's leading
    assert cons is None
    assert [ak.sum(m) for m in steps.values()] == [3, 2, 1]


def test_truth_matching_without_the_branch_names_it() -> None:
    jets = ak.Array([[{"pt": 600.0, "eta": 0.0}]])
    with pytest.raises(MissingCollectionError, match="FatJet_truthMatch"):
        jet_mask(jets, JetSelection(truth_match=True))


DIJET = DijetSelection(jet_pt_min=300, lead_pt_min=1200, eta_max=2.5, deta_max=1.3)


def test_dijet_selection_takes_the_two_leading_jets_then_cuts() -> None:
    jets = _jets([
        [(1300.0, 0.0), (400.0, 1.0)],                    # passes
        [(1100.0, 0.0), (900.0, 0.5)],                    # leading too soft
        [(1300.0, 0.0), (400.0, 1.5)],                    # |deta| too large
        [(1300.0, 0.0), (200.0, 0.0), (500.0, 0.0)],      # second jet too soft: the third does not replace it
        [(1300.0, 0.0)],                                  # one jet only
        [(1500.0, 3.0), (1300.0, 0.1), (400.0, 0.2)],     # forward leading jet: vetoed, not (1300, 400)
    ])  # fmt: skip
    steps = dijet_steps(jets, DIJET)
    assert list(steps) == [">= 2 fat jets", "jets pT, |eta|", "leading jet pT", "|delta eta|"]
    assert steps["|delta eta|"].tolist() == [True, False, False, False, False, False]
    kept, _, keep, _ = select_dijets(jets, None, DIJET)
    assert keep.tolist() == steps["|delta eta|"].tolist()
    assert kept.pt.tolist() == [[1300.0, 400.0]]


def test_leading_selected_pairing_cuts_first() -> None:
    jets = _jets([[(1500.0, 3.0), (1300.0, 0.1), (400.0, 0.2)]])
    sel = DijetSelection(jet_pt_min=300, lead_pt_min=1200, eta_max=2.5, pair="leading_selected")
    kept, _, keep, _ = select_dijets(jets, None, sel)
    assert keep.tolist() == [True]
    assert kept.pt.tolist() == [[1300.0, 400.0]]


def test_mjj_range_is_half_open() -> None:
    # two massless-ish back-to-back jets at eta 0: m_jj ~ 2 pT
    jets = _jets([[(1000.0, 0.0), (1000.0, 0.0)], [(500.0, 0.0), (500.0, 0.0)]])
    mjj = (jets[:, 0] + jets[:, 1]).mass
    lo, hi = float(mjj[1]), float(mjj[0])
    steps = dijet_steps(jets, DijetSelection(mjj_min=lo, mjj_max=hi))
    assert steps["m_jj range"].tolist() == [False, True]


def test_selection_round_trips_through_its_card_form() -> None:
    for sel in (WINDOW, DIJET, DijetSelection(pair="leading_selected", mjj_max=8000.0)):
        data = selection_to_dict(sel)
        assert data["kind"] == sel.kind
        assert selection_from_dict(data) == sel
    with pytest.raises(ConfigError, match="kind"):
        selection_from_dict({"kind": "triplet"})
    with pytest.raises(ConfigError, match="pair"):
        DijetSelection(pair="random")
    with pytest.raises(ConfigError, match="pt_min < pt_max"):
        JetSelection(pt_min=650, pt_max=550)


def test_looser_than_names_each_looser_cut() -> None:
    assert looser_than(WINDOW, WINDOW) == []
    assert looser_than(JetSelection(pt_min=560, pt_max=640, eta_max=1.5), WINDOW) == []
    loose = looser_than(JetSelection(pt_min=500, pt_max=None, eta_max=2.0), WINDOW)
    assert loose == ["pt_min=500 (trained with 550)", "pt_max=None (trained with 650)"]
    assert looser_than(DijetSelection(jet_pt_min=300, lead_pt_min=1200, eta_max=2.5), DIJET) == [
        "deta_max=None (trained with 1.3)"
    ]
    assert looser_than(DIJET, WINDOW)  # another kind of selection is never "as tight"
