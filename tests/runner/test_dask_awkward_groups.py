"""The dask-awkward executor builds one graph per group of files (not per file), shows files
and chunks done, and gives the histograms of the iterative executor."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from handmade_events import write_handmade
from toy_models import image_toy

from coffea_anomaly.runner import RunConfig, run_analysis
from coffea_anomaly.runner import execute as execute_mod
from coffea_anomaly.runner.execute import _FileItem, _group_fileset

EVENTS = [[(600.0 + i, 0.2, 90.0 + i)] for i in range(6)]


def test_a_group_keeps_each_dataset_s_form_and_metadata() -> None:
    available = {
        "a": {"files": {"a1": {"steps": [[0, 3]]}, "a2": {"steps": [[0, 2]]}}, "compressed_form": "FA",
              "metadata": {"role": "background"}},
        "b": {"files": {"b1": {"steps": [[0, 4], [4, 8]]}}, "compressed_form": "FB", "metadata": None},
    }  # fmt: skip
    group = [_FileItem("a", "a2", available["a"]["files"]["a2"]), _FileItem("b", "b1", available["b"]["files"]["b1"])]
    got = _group_fileset(available, group)
    assert got == {
        "a": {"files": {"a2": {"steps": [[0, 2]]}}, "compressed_form": "FA", "metadata": {"role": "background"}},
        "b": {"files": {"b1": {"steps": [[0, 4], [4, 8]]}}, "compressed_form": "FB", "metadata": None},
    }
    assert [it.events for it in group] == [2, 8]


@pytest.mark.slow  # a LocalCluster and an iterative run: ~20-30 s on the loaded 2-core machine
def test_groups_progress_and_histograms(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capfd: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    one = write_handmade(tmp_path / "f0.root", EVENTS)
    paths = [str(one)] + [str(shutil.copy(one, tmp_path / f"f{i}.root")) for i in range(1, 5)]
    model = str(image_toy(tmp_path / "toy.onnx"))
    graphs: list[int] = []
    real = execute_mod._group_fileset

    def counting(available: dict[str, Any], group: list[Any]) -> dict[str, Any]:
        graphs.append(len(group))
        return real(available, group)

    monkeypatch.setattr(execute_mod, "FILES_PER_GRAPH", 2)
    monkeypatch.setattr(execute_mod, "_group_fileset", counting)
    opts: dict[str, Any] = {"fileset": {"ds": paths}, "models": [model], "chunksize": 4, "plots": False}
    dak = run_analysis(RunConfig(executor="dask-awkward", workers=1, **opts), tmp_path / "dak", progress=True)
    err = capfd.readouterr().err
    assert graphs == [2, 2, 1]  # 5 files, 2 per graph
    assert "5/5" in err
    assert "chunks 10/10" in err
    it = run_analysis(RunConfig(executor="iterative", **opts), tmp_path / "it")
    assert dak.summary["all_events_accounted"]
    assert dak.summary["datasets"]["ds"]["cutflow"] == it.summary["datasets"]["ds"]["cutflow"]
    h_dak, h_it = dak.hists["score_toy_image"], it.hists["score_toy_image"]
    assert (h_dak.values(flow=True) == h_it.values(flow=True)).all()
