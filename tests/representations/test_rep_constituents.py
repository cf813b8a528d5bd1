"""fatjet_constituents: grouping PF candidates by fat jet from the cross-reference indices."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest

from coffea_anomaly.errors import InputDataError, MissingCollectionError
from coffea_anomaly.nanoaod import CONVENTIONS
from coffea_anomaly.representations import empty_jets, fatjet_constituents


def _events(convention: str, with_charge: bool = True) -> ak.Array:
    """3 events in one convention, links deliberately not grouped by jet.

    Event 0: 2 jets; jet 0 owns candidates 2 and 0, jet 1 owns candidate 1.
    Event 1: no jet (one unrelated candidate).
    Event 2: 3 jets; jet 0 owns candidates 0 and 2, jet 1 has none stored, jet 2 owns 1.
    """
    conv = CONVENTIONS[convention]
    cands = [
        [
            (10.0, 0.1, 0.2, 0.0, 1, 211),
            (20.0, 1.1, 1.2, 0.1, -1, -211),
            (30.0, 0.2, 0.1, 0.0, 0, 22),
        ],
        [(5.0, 0.0, 0.0, 0.0, 0, 22)],
        [(1.0, -1.0, 2.0, 0.0, 1, 11), (2.0, 1.0, -2.0, 0.0, 0, 130), (3.0, -1.1, 2.1, 0.0, 0, 22)],
    ]
    links = [[(0, 2), (1, 1), (0, 0)], [], [(2, 1), (0, 0), (0, 2)]]
    n_jets = [2, 0, 3]
    names = ["pt", "eta", "phi", "mass", "charge", "pdgId"]
    if not with_charge:
        names.remove("charge")
    records = []
    for ev_cands, ev_links, nj in zip(cands, links, n_jets, strict=False):
        records.append(
            {
                "FatJet": [
                    {"pt": 100.0 + j, "eta": 0.0, "phi": 0.0, "mass": 10.0} for j in range(nj)
                ],
                conv.candidates: [
                    {
                        k: v
                        for k, v in zip(
                            ["pt", "eta", "phi", "mass", "charge", "pdgId"], c, strict=False
                        )
                        if k in names
                    }
                    for c in ev_cands
                ],
                conv.links: [{conv.jet_index: j, conv.candidate_index: c} for j, c in ev_links],
            }
        )
    return ak.Array(records)


@pytest.mark.parametrize("convention", ["v15", "pfnano"])
def test_candidates_are_grouped_by_their_jet_index(backend, convention):
    events = _events(convention)
    constituents = backend.awkward(fatjet_constituents(backend(events)))
    assert ak.num(constituents, axis=1).tolist() == [2, 0, 3]  # aligned with FatJet
    assert constituents.pt.tolist() == [[[30.0, 10.0], [20.0]], [], [[1.0, 3.0], [], [2.0]]]
    assert constituents.charge.tolist() == [[[0, 1], [-1]], [], [[1, 0], [], [0]]]
    assert constituents.pdgId[0, 1].tolist() == [-211]
    assert empty_jets(constituents).tolist() == [[False, False], [], [False, True, False]]
    # vector Momentum4D behaviour: px, energy, sums
    assert constituents.px[0, 1, 0] == pytest.approx(20.0 * np.cos(1.2))
    assert ak.sum(constituents[0, 0], axis=0).pt > 0


def test_empty_jets_works_on_dask_arrays(backend):
    constituents = fatjet_constituents(backend(_events("v15")))
    flags = backend.awkward(empty_jets(constituents))
    assert flags.tolist() == [[False, False], [], [False, True, False]]


def test_optional_fields_are_kept_only_when_present():
    constituents = fatjet_constituents(_events("v15", with_charge=False))
    assert constituents.fields == ["pt", "eta", "phi", "mass", "pdgId"]


def test_an_index_outside_its_collection_is_an_error():
    events = _events("v15")
    bad_links = ak.Array([[{"jetIdx": 0, "pfCandIdx": 7}], [], []])
    events = ak.with_field(events, bad_links, "FatJetPFCand")
    with pytest.raises(InputDataError, match="1 of 1 fat-jet constituent links point outside"):
        fatjet_constituents(events)


def test_missing_constituent_collections_are_named():
    events = _events("v15")
    with pytest.raises(MissingCollectionError, match="FatJetPFCand") as err:
        fatjet_constituents(events[["FatJet", "PFCand"]])
    assert err.value.missing == ["FatJetPFCand"]
    with pytest.raises(MissingCollectionError, match=r"PFCands \+ FatJetPFCands \(PFNano\)"):
        fatjet_constituents(events[["FatJet"]])
    with pytest.raises(MissingCollectionError, match="FatJet"):
        fatjet_constituents(events[["PFCand", "FatJetPFCand"]])


def test_missing_index_or_kinematic_fields_are_named():
    events = _events("v15")
    no_index = ak.with_field(events, events.FatJetPFCand[["jetIdx"]], "FatJetPFCand")
    with pytest.raises(MissingCollectionError, match="FatJetPFCand_pfCandIdx"):
        fatjet_constituents(no_index)
    no_mass = ak.with_field(events, events.PFCand[["pt", "eta", "phi"]], "PFCand")
    with pytest.raises(MissingCollectionError, match="PFCand_mass"):
        fatjet_constituents(no_mass)
