"""The same histograms, bin for bin, whatever the executor.

Iterative, futures (2 processes), coffea's DaskExecutor on a LocalCluster with 2 worker
*processes*, and the dask-awkward path (apply_to_fileset) on the same cluster. The samples
are unweighted, so every bin is an exact sum and must agree to the last bit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from coffea_anomaly.runner import RunConfig, run_analysis
from coffea_anomaly.runner.execute import dask_client

pytestmark = pytest.mark.slow

EXECUTORS = ["iterative", "futures", "dask", "dask-awkward"]


def _assert_same(a: dict[str, Any], b: dict[str, Any], what: str) -> None:
    assert sorted(a["hists"]) == sorted(b["hists"]), what
    for name in a["hists"]:
        ha, hb = a["hists"][name], b["hists"][name]
        assert list(ha.axes["dataset"]) == list(hb.axes["dataset"]) or sorted(ha.axes["dataset"]) == sorted(
            hb.axes["dataset"]
        ), (what, name)
        for ds in ha.axes["dataset"]:
            va = ha[{"dataset": ds}].view(flow=True)
            vb = hb[{"dataset": ds}].view(flow=True)
            np.testing.assert_array_equal(va["value"], vb["value"], err_msg=f"{what}: {name}/{ds}")
            np.testing.assert_array_equal(va["variance"], vb["variance"], err_msg=f"{what}: {name}/{ds}")
    assert a["cutflow"] == b["cutflow"], what


@pytest.fixture(scope="module")
def cluster() -> Any:
    with dask_client(2, None) as client:
        yield client


@pytest.mark.parametrize("processor", ["jet", "dijet"])
def test_all_executors_give_identical_histograms(
    processor: str, small_samples: dict[str, Path], toy_models: dict[str, Path], tmp_path: Path, cluster: Any
) -> None:
    if processor == "jet":
        fileset = {k: _files(small_samples[k]) for k in ("qcd_jets", "top_jets")}
        models = [str(toy_models["image"])]
    else:
        fileset = {"dijet_data": _files(small_samples["dijet_data"])}
        models = [str(toy_models["dijet"]), str(toy_models["dijet_b"])]
    outputs = {}
    for ex in EXECUTORS:
        cfg = RunConfig(processor=processor, fileset=fileset, models=models, executor=ex, workers=2,
                        chunksize=70, plots=False, selection={} if processor == "jet" else {"lead_pt_min": 1000.0})
        res = run_analysis(cfg, tmp_path / ex, client=cluster if ex.startswith("dask") else None)
        outputs[ex] = res.output
        assert res.summary["all_events_accounted"], ex
        assert res.summary["items_scored"] > 0, ex
    for ex in EXECUTORS[1:]:
        _assert_same(outputs["iterative"], outputs[ex], f"iterative vs {ex}")


def _files(fileset_json: Path) -> dict[str, Any]:
    import json

    (spec,) = json.loads(fileset_json.read_text()).values()
    return {"files": spec["files"], "metadata": {}}
