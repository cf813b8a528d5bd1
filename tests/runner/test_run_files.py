"""Every file is checked before a run: bad files stop it with one line, or are skipped and named."""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import uproot

from coffea_anomaly.errors import InputDataError
from coffea_anomaly.runner.files import check_file, check_fileset


def _write(path: Path, *, fatjet: bool = True, constituents: bool = True, n: int = 5) -> Path:
    jets = ak.Array([[{"pt": 600.0, "eta": 0.1, "phi": 0.2, "mass": 80.0}]] * max(n, 1))[:n]
    branches: dict = {"run": np.ones(n, "u4"), "event": np.arange(n, dtype="u8")}
    if fatjet:
        branches["FatJet"] = ak.zip({k: jets[k] for k in jets.fields})
    if constituents:
        cands = ak.Array([[{"pt": 10.0, "eta": 0.1, "phi": 0.2, "mass": 0.0}]] * max(n, 1))[:n]
        branches["PFCand"] = ak.zip({k: cands[k] for k in cands.fields})
        table = ak.Array([[{"jetIdx": 0, "pfCandIdx": 0}]] * max(n, 1))[:n]
        branches["FatJetPFCand"] = ak.zip({k: table[k] for k in table.fields})
    with uproot.recreate(path) as f:
        # mktree gives the NanoAOD layout: nFatJet counter + FatJet_pt branches
        f.mktree("Events", {k: v.type if isinstance(v, ak.Array) else v.dtype for k, v in branches.items()})
        if n:
            f["Events"].extend(branches)
    return path


def test_good_file(tmp_path: Path) -> None:
    chk = check_file(str(_write(tmp_path / "ok.root")))
    assert chk.ok and chk.entries == 5 and chk.convention == "v15"


def test_missing_fatjet_named(tmp_path: Path) -> None:
    chk = check_file(str(_write(tmp_path / "nofj.root", fatjet=False)))
    assert not chk.ok and "FatJet" in chk.error


def test_missing_constituents_named(tmp_path: Path) -> None:
    chk = check_file(str(_write(tmp_path / "nocand.root", constituents=False)))
    assert not chk.ok and "PFCand" in chk.error and "FatJetPFCand" in chk.error


def test_empty_file_is_not_an_error(tmp_path: Path) -> None:
    chk = check_file(str(_write(tmp_path / "empty.root", n=0)))
    assert chk.ok and chk.entries == 0


def test_truncated_file(tmp_path: Path) -> None:
    good = _write(tmp_path / "good.root", n=50)
    data = good.read_bytes()
    bad = tmp_path / "truncated.root"
    bad.write_bytes(data[: len(data) // 2])
    chk = check_file(str(bad))
    assert not chk.ok
    assert "truncated" in chk.error or "unreadable" in chk.error


def test_not_a_root_file(tmp_path: Path) -> None:
    p = tmp_path / "junk.root"
    p.write_text("hello")
    assert not check_file(str(p)).ok


def test_real_cms_files_pass(cms_files: dict[str, Path]) -> None:
    conv = {name: check_file(str(p)).convention for name, p in cms_files.items()}
    assert conv == {"pfnano": "pfnano", "v15": "v15"}


def test_check_fileset_raises_or_skips(tmp_path: Path) -> None:
    good = str(_write(tmp_path / "a.root"))
    bad = str(_write(tmp_path / "b.root", fatjet=False))
    fs = {"ds": {"files": {good: "Events", bad: "Events"}, "metadata": {}}}
    with pytest.raises(InputDataError, match=r"b\.root: missing collection FatJet"):
        check_fileset(fs, skip_bad_files=False)
    usable, checks = check_fileset(fs, skip_bad_files=True)
    assert list(usable["ds"]["files"]) == [good]
    assert [c.ok for c in checks["ds"]] == [True, False]
