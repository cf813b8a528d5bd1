"""RNTuple files are taken like TTree files: checks, accounting, run (iterative and dask), score().

The RNTuple copies are written with uproot (``file["Events"] = {branch: array}`` writes an
RNTuple) from a hand-made file and from both real CMS files, each kept branch copied as a
field of the same name. One run holds each original and its copy as two datasets, so
their histograms are compared bin for bin within one output.

The CMS copies keep the event-level branches and the jet, particle-flow and generator
collections (300-400 of the files' 1 800-2 700 branches), not the trigger bits and the other
physics objects: with uproot 5.7 opening an RNTuple costs time quadratic in its number of
fields (scikit-hep/uproot5#1637), ~50 s per chunk for the full files, which made the two
full-file runs the slowest tests of the suite (~115 s each) without testing more.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import uproot
from handmade_events import write_handmade
from toy_models import image_toy

from coffea_anomaly.runner import RunConfig, run_analysis
from coffea_anomaly.runner.files import check_file

EVENTS = [[(600.0 + 7 * i, 0.1 * (i % 9), 90.0 + i), (560.0, -0.4, 111.0 + 2 * i)] for i in range(30)]


#: the collections (NanoAOD and PFNano spellings) copied into the RNTuple versions of the CMS files
COLLECTIONS = {"FatJet", "Jet", "SubJet", "PFCands", "PFCand", "FatJetPFCands", "FatJetPFCand", "GenPart"}


def copied(name: str) -> bool:
    """Event-level branches (no ``_``, not a count) and the branches and counts of ``COLLECTIONS``."""
    if name.startswith("n") and name[1:2].isupper():
        return name[1:] in COLLECTIONS
    return "_" not in name or name.split("_", 1)[0] in COLLECTIONS


def to_rntuple(src: Path, dst: Path, treename: str = "Events") -> Path:
    """Copy the branches of ``src``'s TTree that ``copied`` keeps into an RNTuple of the same name in ``dst``."""
    with uproot.open(src) as f:
        tree = f[treename]
        data = {name: tree[name].array(library="ak") for name in tree.keys() if copied(name)}
    with uproot.recreate(dst) as out:
        out[treename] = data
    return dst


@pytest.fixture(scope="module")
def pairs(tmp_path_factory: pytest.TempPathFactory, cms_files: dict[str, Path]) -> dict[str, tuple[Path, Path]]:
    """``{name: (TTree file, RNTuple copy)}`` for a hand-made file and both CMS files."""
    base = tmp_path_factory.mktemp("rntuple")
    sources = {"handmade": write_handmade(base / "handmade.root", EVENTS), **cms_files}
    return {name: (src, to_rntuple(src, base / f"{name}.rntuple.root")) for name, src in sources.items()}


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return image_toy(tmp_path_factory.mktemp("model") / "toy_image.onnx")


def test_copies_are_rntuples(pairs: dict[str, tuple[Path, Path]]) -> None:
    for _, (tt, rn) in pairs.items():
        with uproot.open(tt) as a, uproot.open(rn) as b:
            assert "TTree" in a["Events"].classname
            assert "RNTuple" in b["Events"].classname
            kept = [k for k in a["Events"].keys() if copied(k)]
            assert set(b["Events"].keys(recursive=False)) == set(kept)
            assert any(k.startswith("FatJet_") for k in kept)


def test_copied_keeps_events_and_jet_collections_only() -> None:
    keep = ["run", "event", "genWeight", "nFatJet", "FatJet_pt", "nPFCands", "PFCands_eta", "nPFCand",
            "FatJetPFCand_pFCandsIdx", "GenPart_pdgId", "nGenPart"]  # fmt: skip
    drop = ["HLT_PFJet500", "L1_SingleJet180", "Flag_goodVertices", "nElectron", "Electron_pt", "nGenJetAK8",
            "GenJetAK8_pt", "Muon_pt", "PV_npvs"]  # fmt: skip
    assert [n for n in keep + drop if copied(n)] == keep


def test_check_file_takes_rntuple(pairs: dict[str, tuple[Path, Path]]) -> None:
    for name, (tt, rn) in pairs.items():
        a, b = check_file(str(tt)), check_file(str(rn))
        assert a.ok and b.ok, (name, a.error, b.error)
        assert (a.entries, a.convention) == (b.entries, b.convention), name
        assert b.uuid and len(bytes.fromhex(b.uuid)) == 16


def test_truncated_rntuple_is_reported(pairs: dict[str, tuple[Path, Path]], tmp_path: Path) -> None:
    data = pairs["v15"][1].read_bytes()
    bad = tmp_path / "truncated.rntuple.root"
    bad.write_bytes(data[: len(data) * 2 // 3])
    chk = check_file(str(bad))
    assert not chk.ok
    assert chk.error.startswith(("truncated", "unreadable")), chk.error


@pytest.mark.parametrize(("executor", "which"), [
    ("iterative", ("handmade",)),
    pytest.param("iterative", ("handmade", "pfnano", "v15"), marks=pytest.mark.slow),
    pytest.param("dask", ("handmade", "pfnano", "v15"), marks=pytest.mark.slow),
])  # fmt: skip
def test_run_gives_the_same_histograms_for_rntuple(executor: str, which: tuple[str, ...],
                                                   pairs: dict[str, tuple[Path, Path]], model: Path,
                                                   tmp_path: Path) -> None:  # fmt: skip
    pairs = {name: pairs[name] for name in which}
    fileset = {f"{kind}_{name}": [str(p)] for name, (tt, rn) in pairs.items() for kind, p in (("tt", tt), ("rn", rn))}
    # a narrow pT window keeps the jet images few (the test is about reading, not scoring)
    cfg = RunConfig(fileset=fileset, models=[str(model)], executor=executor, workers=2, chunksize=64, plots=False,
                    selection={"pt_min": 550.0, "pt_max": 650.0})  # fmt: skip
    res = run_analysis(cfg, tmp_path / executor)
    assert res.summary["all_events_accounted"]
    for name, (tt, _) in pairs.items():
        a, b = res.summary["datasets"][f"tt_{name}"], res.summary["datasets"][f"rn_{name}"]
        assert a["events_in_files"] == b["events_in_files"] == b["events_read"] > 0, name
        assert a["cutflow"] == b["cutflow"], name
        assert a["cutflow"]["jets scored"] > 0 or name != "handmade", name
        for hname, h in res.hists.items():
            _same(h, f"tt_{name}", f"rn_{name}", f"{executor}: {hname}/{name}")


def _same(h: Any, a: str, b: str, what: str) -> None:
    present = list(h.axes["dataset"])
    assert (a in present) == (b in present), what
    if a not in present:  # nothing selected in either
        return
    va, vb = h[{"dataset": a}].view(flow=True), h[{"dataset": b}].view(flow=True)
    np.testing.assert_array_equal(va["value"], vb["value"], err_msg=what)
    np.testing.assert_array_equal(va["variance"], vb["variance"], err_msg=what)


def test_score_and_training_reader_take_rntuple(pairs: dict[str, tuple[Path, Path]], model: Path) -> None:
    import awkward as ak

    from coffea_anomaly import open_events, score
    from coffea_anomaly.training.data import _num_entries

    tt, rn = pairs["handmade"]
    assert _num_entries(str(rn), "Events") == _num_entries(str(tt), "Events") == len(EVENTS)
    s_tt = score(open_events(str(tt), mode="eager"), str(model))
    s_rn = score(open_events(str(rn), mode="eager"), str(model))
    assert ak.to_list(s_tt) == ak.to_list(s_rn)
    assert ak.count(s_rn) == 2 * len(EVENTS)
