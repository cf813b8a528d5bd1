"""``--skip-bad-files`` skips what is wrong with a *file*, nothing else (issue 13, item 3).

Errors of the model, its card or the configuration stop the run at once with one line,
whatever the flag; skipped files' events are counted from their header (or the fileset),
or said to be unknown and the accounting fails; a run that produced no histograms fails
and says why; a killed worker is one line.
"""

from __future__ import annotations

import json
import os
import signal
import zlib
from pathlib import Path
from typing import Any

import pytest
import uproot
from coffea import processor
from handmade_events import write_handmade
from toy_models import image_toy, mean_square_model

from coffea_anomaly.cli.main import main
from coffea_anomaly.errors import ConfigError, InputDataError, ModelCardError, ShapeMismatchError
from coffea_anomaly.runner import RunConfig, load_fileset, run_analysis
from coffea_anomaly.runner.execute import WorkerDiedError, execute, is_file_error

#: 40 events of two jets; 20 of the first jets are in the 550-650 GeV window, all second ones
EVENTS = [[(600.0 if i % 2 == 0 else 700.0, 0.1, 102.5 + 5 * i), (560.0, 0.3, 207.5 + 5 * i)] for i in range(40)]
SELECTION = {"pt_min": 550.0, "pt_max": 650.0, "eta_max": 2.0}


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A good file, one cut in half (header readable), junk bytes (nothing readable), and
    one with a corrupt basket (header fine, the FatJet_eta basket does not decompress)."""
    base = tmp_path_factory.mktemp("skip")
    good = write_handmade(base / "good.root", EVENTS)
    raw = bytearray(good.read_bytes())
    (base / "truncated.root").write_bytes(bytes(raw[: len(raw) // 2]))
    (base / "junk.root").write_bytes(b"not a ROOT file " * 64)
    branch = uproot.open(good)["Events"]["FatJet_eta"]
    end = int(branch.member("fBasketSeek")[0]) + int(branch.member("fBasketBytes")[0])
    raw[end - 20 : end - 8] = b"\xff" * 12
    (base / "corrupt.root").write_bytes(bytes(raw))
    return {name: str(base / f"{name}.root") for name in ("good", "truncated", "junk", "corrupt")}


def _cfg(fileset: Any, model: str, **kw: Any) -> RunConfig:
    opts: dict[str, Any] = {"chunksize": 10, "plots": False, "selection": SELECTION, "skip_bad_files": True}
    return RunConfig(fileset=fileset, models=[model], **{**opts, **kw})


# -- errors that are not about a file stop the run, whatever --skip-bad-files says ----------


def test_card_that_does_not_match_the_data_stops_at_once(files: dict[str, str], tmp_path: Path) -> None:
    # the card promises 40x40 inputs but its representation makes 37x37 images
    bad = mean_square_model(tmp_path / "bad.onnx", name="bad", kind="jet_image", config={"npix": 37},
                            shape=(40, 40), level="jet")  # fmt: skip
    with pytest.raises(ShapeMismatchError, match=r"40, 40.*37, 37|37, 37.*40, 40"):
        run_analysis(_cfg({"qcd": [files["good"]]}, str(bad)), tmp_path / "out")
    assert not (tmp_path / "out" / "summary.json").exists() and not (tmp_path / "out" / "hists.root").exists()


def test_unknown_representation_stops_at_once_through_the_cli(files: dict[str, str], tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    bad = mean_square_model(tmp_path / "odd.onnx", name="odd", kind="no_such_kind", config={}, shape=(40, 40),
                            level="jet")  # fmt: skip
    cfg = tmp_path / "run.yaml"
    cfg.write_text(f"fileset: {{qcd: [{files['good']}]}}\nmodels: [{bad}]\nskip_bad_files: true\n")
    with pytest.raises(SystemExit) as exc:
        main(["run", str(cfg), "--out", str(tmp_path / "out"), "--quiet"])
    err = capsys.readouterr().err.strip()
    assert exc.value.code == 1 and len(err.splitlines()) == 1
    assert err.startswith("coffea-anomaly: error: model 'odd': its card's representation cannot be built: "
                          "unknown representation kind 'no_such_kind'")  # fmt: skip
    assert not (tmp_path / "out" / "summary.json").exists()


def test_reversed_mjj_range_stops_before_any_work(files: dict[str, str], tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"'mjj_range': expected \[low, high\] with low < high"):
        _cfg({"qcd": [files["good"]]}, "dijet_dense_ae", processor="dijet", mjj_range=(8000.0, 1000.0))


class _FailsLater(processor.ProcessorABC):
    """A processor with a bug that shows only from entry 20 on (after the preflight's events)."""

    def process(self, events: Any) -> Any:
        if events.metadata["entrystart"] >= 20:
            raise ValueError("a bug, not a file problem")
        return {"cutflow": {events.metadata["dataset"]: {"events": len(events)}}}

    def postprocess(self, accumulator: Any) -> Any:
        return accumulator


def test_non_file_error_in_a_chunk_stops_the_run_even_with_skip(files: dict[str, str]) -> None:
    fileset = load_fileset({"qcd": [files["good"]]})
    with pytest.raises(InputDataError, match=r"good\.root entries 20-30: ValueError: a bug, not a file problem"):
        execute(_FailsLater(), fileset, chunksize=10, skip_bad_files=True)


def test_what_counts_as_a_file_error() -> None:
    assert is_file_error(zlib.error("Error -3 while decompressing data"))
    assert is_file_error(InputDataError("x.root: missing collection"))
    assert is_file_error(OSError("No such file"))
    assert not is_file_error(ShapeMismatchError("card says (N, 40, 40), input is (N, 37, 37)"))
    assert not is_file_error(ModelCardError("no card"))
    assert not is_file_error(ConfigError("bad option"))
    assert not is_file_error(ValueError("a bug"))
    wrapped = RuntimeError("chunk failed")
    wrapped.__cause__ = zlib.error("bad stream")
    assert is_file_error(wrapped)


# -- file problems are skipped, and their events counted -------------------------------------


def test_skipped_files_are_counted_from_their_header_or_unknown(files: dict[str, str], tmp_path: Path) -> None:
    res = run_analysis(_cfg({"qcd": [files["good"], files["truncated"]]}, _model_path(tmp_path)), tmp_path / "a")
    ds = res.summary["datasets"]["qcd"]
    assert ds["events_in_files"] == 80 and ds["events_read"] == 40 and ds["events_in_skipped_files"] == 40
    assert [(Path(s["path"]).name, s["events"]) for s in ds["skipped_files"]] == [("truncated.root", 40)]
    assert ds["all_events_accounted"] and res.summary["all_events_accounted"]

    res = run_analysis(_cfg({"qcd": [files["good"], files["junk"]]}, _model_path(tmp_path)), tmp_path / "b")
    ds = res.summary["datasets"]["qcd"]
    assert ds["events_read"] == 40 and res.hists["score_toy_image"][{"dataset": "qcd"}].sum().value == 60
    assert ds["events_in_files"] == "unknown" and ds["events_in_skipped_files"] == "unknown"
    assert ds["files_with_unknown_events"] == [files["junk"]]
    (skipped,) = ds["skipped_files"]
    assert skipped["events"] == "unknown" and skipped["reason"].startswith("unreadable (ValueError: not a ROOT file")
    assert ds["all_events_accounted"] is False and res.summary["all_events_accounted"] is False
    on_disk = json.loads((tmp_path / "b" / "summary.json").read_text())
    assert on_disk["all_events_accounted"] is False


def test_fileset_num_entries_count_an_unreadable_file(files: dict[str, str], tmp_path: Path) -> None:
    fileset = {"qcd": {"files": {files["good"]: "Events",
                                 files["junk"]: {"object_path": "Events", "num_entries": 25}}}}  # fmt: skip
    res = run_analysis(_cfg(fileset, _model_path(tmp_path)), tmp_path / "out")
    ds = res.summary["datasets"]["qcd"]
    assert (ds["events_in_files"], ds["events_read"], ds["events_in_skipped_files"]) == (65, 40, 25)
    assert ds["all_events_accounted"]


def test_corrupt_basket_chunks_are_skipped_and_counted(files: dict[str, str], tmp_path: Path) -> None:
    res = run_analysis(_cfg({"qcd": [files["corrupt"], files["good"]]}, _model_path(tmp_path)), tmp_path / "out")
    ds = res.summary["datasets"]["qcd"]
    assert ds["skipped_files"] == []  # the header is fine: the file passes the check before the job
    assert ds["events_read"] == 40 and ds["events_in_failed_chunks"] == 40 and ds["events_in_files"] == 80
    assert len(ds["failed_chunks"]) == 4
    assert all(w.startswith(files["corrupt"]) and "error" in why.lower() for w, why in ds["failed_chunks"].items())
    assert ds["all_events_accounted"]


def test_corrupt_basket_without_skip_is_one_line(files: dict[str, str], tmp_path: Path) -> None:
    cfg = _cfg({"qcd": [files["good"], files["corrupt"]]}, _model_path(tmp_path), skip_bad_files=False)
    with pytest.raises(InputDataError, match=r"corrupt\.root entries 0-10: error: Error -\d+ while decompressing") as info:
        run_analysis(cfg, tmp_path / "out")
    assert "\n" not in str(info.value)


@pytest.mark.slow
def test_dask_awkward_skips_a_corrupt_file(files: dict[str, str], tmp_path: Path) -> None:
    cfg = _cfg({"qcd": [files["corrupt"], files["good"], files["truncated"]]}, _model_path(tmp_path),
               executor="dask-awkward", workers=1)  # fmt: skip
    res = run_analysis(cfg, tmp_path / "out")
    ds = res.summary["datasets"]["qcd"]
    assert ds["events_read"] == 40 and ds["events_in_failed_chunks"] == 40 and ds["events_in_skipped_files"] == 40
    (where,) = ds["failed_chunks"]
    assert where == files["corrupt"] and "decompressing" in ds["failed_chunks"][where]
    assert ds["all_events_accounted"] and res.hists["score_toy_image"][{"dataset": "qcd"}].sum().value == 60


def test_run_without_histograms_fails_and_says_why(files: dict[str, str], tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    cfg = tmp_path / "run.yaml"
    cfg.write_text(f"fileset: {{qcd: [{files['junk']}, {files['truncated']}]}}\nmodels: [{_model_path(tmp_path)}]\n"
                   "skip_bad_files: true\nplots: false\n")  # fmt: skip
    with pytest.raises(SystemExit) as exc:
        main(["run", str(cfg), "--out", str(tmp_path / "out"), "--quiet"])
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert exc.value.code == 1 and len(err.splitlines()) == 1
    assert err.startswith(f"coffea-anomaly: error: no histograms were produced: 2 file(s) skipped (first: "
                          f"{files['junk']}: unreadable")  # fmt: skip
    assert "hists.root" not in captured.out
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["all_events_accounted"] is False and not (tmp_path / "out" / "hists.root").exists()


# -- a killed worker ------------------------------------------------------------------------


class _KillsItsWorker(processor.ProcessorABC):
    def process(self, events: Any) -> Any:
        os.kill(os.getpid(), signal.SIGKILL)

    def postprocess(self, accumulator: Any) -> Any:
        return accumulator


def test_killed_futures_worker_is_one_line(files: dict[str, str]) -> None:
    fileset = load_fileset({"qcd": [files["good"]]})
    with pytest.raises(WorkerDiedError, match="a worker process died while processing") as info:
        execute(_KillsItsWorker(), fileset, executor="futures", workers=1, chunksize=20)
    assert "\n" not in str(info.value)


def _model_path(tmp_path: Path) -> str:
    path = tmp_path / "toy_image.onnx"
    return str(path if path.exists() else image_toy(path))
