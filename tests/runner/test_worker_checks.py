"""File checks run on the workers: the client process opens no input file; checks can be
saved (``--save-preprocessed``) and reused (``--preprocessed``); the accounting still holds."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uproot
from handmade_events import write_handmade
from toy_models import image_toy

from coffea_anomaly.errors import ConfigError
from coffea_anomaly.runner import RunConfig, run_analysis
from coffea_anomaly.runner import files as files_mod
from coffea_anomaly.runner.execute import dask_client

N_FILES = 200
EVENTS = [[(600.0 + i, 0.2, 90.0 + i)] for i in range(5)]


@pytest.fixture(scope="module")
def many(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """200 small files (5 events each) plus one that is not a ROOT file, and a toy model."""
    base = tmp_path_factory.mktemp("many")
    one = write_handmade(base / "f0000.root", EVENTS)
    paths = [str(one)]
    for i in range(1, N_FILES):
        paths.append(str(shutil.copy(one, base / f"f{i:04d}.root")))
    bad = base / "broken.root"
    bad.write_bytes(b"not a ROOT file" * 10)
    return {"files": paths, "bad": str(bad), "model": str(image_toy(base / "toy.onnx"))}


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    with dask_client(2, None) as c:
        yield c


@pytest.fixture
def opens(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every ROOT file this (client) process opens with uproot, by path."""
    seen: list[str] = []
    real = uproot.reading.ReadOnlyFile.__init__

    def counting(self: Any, file_path: Any, *args: Any, **kwargs: Any) -> None:
        seen.append(str(file_path))
        real(self, file_path, *args, **kwargs)

    monkeypatch.setattr(uproot.reading.ReadOnlyFile, "__init__", counting)
    return seen


@pytest.mark.slow  # 200 files on a LocalCluster: ~25 s on the loaded 2-core machine
def test_client_opens_no_file( many: dict[str, Any], client: Any, opens: list[str],
                              tmp_path: Path) -> None:  # fmt: skip
    fileset = {"many": {"files": many["files"] + [many["bad"]], "metadata": {"role": "background"}}}
    cfg = RunConfig(fileset=fileset, models=[many["model"]], executor="dask", chunksize=1000,
                    skip_bad_files=True, plots=False)  # fmt: skip
    res = run_analysis(cfg, tmp_path / "out", client=client)
    assert opens == [], f"the client opened {len(opens)} file(s), e.g. {opens[:3]}"
    ds = res.summary["datasets"]["many"]
    assert ds["files"] == N_FILES + 1
    assert ds["events_read"] == N_FILES * len(EVENTS)
    assert [s["path"] for s in ds["skipped_files"]] == [many["bad"]]
    assert ds["events_in_skipped_files"] == "unknown"  # not a ROOT file: no header to count from
    assert ds["files_with_unknown_events"] == [many["bad"]]


def test_checks_are_saved_and_reused(many: dict[str, Any], client: Any, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    saved = tmp_path / "checked.json"
    fileset = {"many": many["files"][:20]}
    cfg = RunConfig(fileset=fileset, models=[many["model"]], executor="dask", plots=False,
                    save_preprocessed=str(saved))  # fmt: skip
    first = run_analysis(cfg, tmp_path / "first", client=client)
    import json

    data = json.loads(saved.read_text())
    finfo = data["many"]["files"][many["files"][0]]
    assert finfo["object_path"] == "Events" and finfo["num_entries"] == len(EVENTS) and len(finfo["uuid"]) == 32

    def no_checks(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a file was checked again")

    monkeypatch.setattr(files_mod, "_check_batch", no_checks)
    monkeypatch.setattr("coffea_anomaly.runner.run.run_checks", no_checks)
    again = run_analysis(RunConfig(fileset=fileset, models=[many["model"]], executor="iterative", plots=False,
                                   preprocessed=str(saved)), tmp_path / "again")  # fmt: skip
    assert again.summary["datasets"]["many"]["cutflow"] == first.summary["datasets"]["many"]["cutflow"]
    assert again.summary["all_events_accounted"]


def test_preprocessed_that_is_not_ours_is_one_line(tmp_path: Path, many: dict[str, Any]) -> None:
    other = tmp_path / "other.json"
    other.write_text('{"ds": {"files": {}}}')
    with pytest.raises(ConfigError, match="--save-preprocessed"):
        run_analysis(RunConfig(fileset={"ds": many["files"][:1]}, models=[many["model"]], plots=False,
                               preprocessed=str(other)), tmp_path / "out")  # fmt: skip


def test_iterative_checks_in_process(many: dict[str, Any], tmp_path: Path) -> None:
    cfg = RunConfig(fileset={"ds": many["files"][:3] + [many["bad"]]}, models=[many["model"]], plots=False,
                    skip_bad_files=True)  # fmt: skip
    res = run_analysis(cfg, tmp_path / "it")
    ds = res.summary["datasets"]["ds"]
    assert ds["events_read"] == 3 * len(EVENTS)
    assert ds["skipped_files"][0]["reason"].startswith("unreadable")
