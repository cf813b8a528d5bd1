"""open_events and detect_convention on real CMS files and on small files written here."""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import uproot

from coffea_anomaly.errors import ConfigError, InputDataError, MissingCollectionError
from coffea_anomaly.nanoaod import detect_convention, get_convention, open_events
from coffea_anomaly.representations import fatjet_constituents

N_EVENTS = 6


def _write(path: Path, fatjet: bool = True, constituents: bool = True) -> Path:
    """A NanoAOD-v15-style file: event i has i % 3 fat jets with 2 constituents each."""
    n_jets = np.arange(N_EVENTS) % 3
    tree: dict[str, object] = {
        "run": np.ones(N_EVENTS, dtype=np.uint32),
        "luminosityBlock": np.ones(N_EVENTS, dtype=np.uint32),
        "event": np.arange(N_EVENTS, dtype=np.uint64),
    }
    jet_pt = ak.unflatten(np.arange(1, n_jets.sum() + 1, dtype=np.float32) * 100, n_jets)
    if fatjet:
        tree["FatJet"] = ak.zip(
            {"pt": jet_pt, "eta": jet_pt * 0, "phi": jet_pt * 0, "mass": jet_pt * 0 + 10}
        )
    if constituents:
        n_c = 2 * n_jets
        cand_pt = ak.unflatten(np.arange(1, n_c.sum() + 1, dtype=np.float32), n_c)
        tree["PFCand"] = ak.zip(
            {
                "pt": cand_pt,
                "eta": cand_pt * 0.01,
                "phi": cand_pt * 0,
                "mass": cand_pt * 0,
                "charge": ak.values_astype(cand_pt * 0, np.int32),
                "pdgId": ak.values_astype(cand_pt * 0 + 22, np.int32),
            }
        )
        local = ak.local_index(cand_pt)
        tree["FatJetPFCand"] = ak.zip(
            {
                "jetIdx": ak.values_astype(local // 2, np.int32),
                "pfCandIdx": ak.values_astype(local, np.int32),
            }
        )
    with uproot.recreate(path) as f:
        f.mktree("Events", tree)  # a TTree (assigning a dict may write an RNTuple)
    return path


@pytest.fixture(scope="module")
def small_file(tmp_path_factory) -> Path:
    return _write(tmp_path_factory.mktemp("nanoaod") / "small.root")


@pytest.fixture(scope="module")
def real_events(cms_files):
    return {name: open_events(path) for name, path in cms_files.items()}


def test_both_real_files_open_and_their_convention_is_detected(real_events):
    assert detect_convention(real_events["pfnano"]) == "pfnano"
    assert detect_convention(real_events["v15"]) == "v15"
    assert len(real_events["pfnano"]) == 10
    assert len(real_events["v15"]) == 200
    assert get_convention(real_events["pfnano"]).candidate_index == "pFCandsIdx"
    # the v15 file carries per-branch counters (nFatJet_pt, ...); coffea reads them
    assert ak.sum(ak.num(real_events["v15"].FatJet.pt)) == 64


@pytest.mark.parametrize("mode", ["virtual", "eager", "dask"])
def test_every_mode_reads_the_same_events(small_file, mode):
    events = open_events(small_file, mode=mode)
    assert detect_convention(events) == "v15"
    pt = events.FatJet.pt
    if mode == "dask":
        pt = pt.compute()
    assert ak.num(pt).tolist() == [0, 1, 2, 0, 1, 2]
    assert ak.flatten(pt).tolist() == [100.0, 200.0, 300.0, 400.0, 500.0, 600.0]


def test_several_files_are_read_in_dask_mode(small_file, tmp_path):
    other = _write(tmp_path / "other.root")
    events = open_events({str(small_file): "Events", str(other): "Events"}, mode="dask")
    assert events.npartitions == 2
    assert events.event.compute().tolist() == list(range(N_EVENTS)) * 2


def test_entry_range_selects_events(small_file):
    events = open_events(small_file, mode="eager", entry_start=2, entry_stop=5)
    assert events.event.tolist() == [2, 3, 4]


def test_constituents_of_a_written_file(small_file):
    constituents = fatjet_constituents(open_events(small_file))
    assert ak.num(constituents, axis=2).tolist() == [[], [2], [2, 2], [], [2], [2, 2]]
    assert constituents.pt[2].tolist() == [[3.0, 4.0], [5.0, 6.0]]


def test_a_file_without_constituents_names_what_is_missing(tmp_path):
    events = open_events(_write(tmp_path / "no_pf.root", constituents=False))
    with pytest.raises(MissingCollectionError, match=r"no_pf\.root") as err:
        fatjet_constituents(events)
    assert "PFCand + FatJetPFCand (NanoAOD v15)" in err.value.missing


def test_a_file_without_fat_jets_names_fatjet(tmp_path):
    events = open_events(_write(tmp_path / "no_fj.root", fatjet=False))
    with pytest.raises(MissingCollectionError, match="FatJet") as err:
        detect_convention(events)
    assert err.value.missing == ["FatJet"]


def test_bad_arguments_are_clear_errors(small_file, tmp_path):
    with pytest.raises(ConfigError, match="mode"):
        open_events(small_file, mode="lazy")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="use mode='dask'"):
        open_events([small_file, tmp_path / "other.root"], mode="virtual")
    with pytest.raises(ConfigError, match="eager and virtual mode only"):
        open_events(small_file, mode="dask", entry_stop=3)
    with pytest.raises(InputDataError, match="no such file"):
        open_events(tmp_path / "absent.root")
    not_root = tmp_path / "text.root"
    not_root.write_text("not a ROOT file")
    with pytest.raises(InputDataError, match="cannot read"):
        open_events(not_root)
