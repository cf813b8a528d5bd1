"""Filesets in the forms analysts already have: our ``fileset.json``, a plain list of paths or
URLs per dataset, coffea's ``DataGroupSpec`` (object or JSON) and coffea's preprocessed JSON."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from coffea.dataset_tools.filespec import DataGroupSpec
from handmade_events import write_handmade
from toy_models import image_toy

from coffea_anomaly.errors import ConfigError
from coffea_anomaly.runner import RunConfig, load_fileset, run_analysis

EVENTS = [[(600.0 + i, 0.2, 90.0 + i)] for i in range(6)]


@pytest.fixture(scope="module")
def two(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Two small files (6 events each) and a toy image model."""
    base = tmp_path_factory.mktemp("forms")
    a = write_handmade(base / "a.root", EVENTS)
    b = Path(shutil.copy(a, base / "b.root"))
    return {"paths": [str(a), str(b)], "model": str(image_toy(base / "toy.onnx"))}


def _preprocessed(paths: list[str]) -> dict[str, Any]:
    """coffea's own ``preprocess`` output (run in this process), as its JSON holds it."""
    from coffea.dataset_tools import preprocess

    spec = DataGroupSpec.model_validate({"qcd": {"files": {p: "Events" for p in paths},
                                                 "metadata": {"role": "background"}}})  # fmt: skip
    available, _ = preprocess(spec, step_size=4, save_form=True, scheduler="synchronous")
    return json.loads(available.model_dump_json())


def test_every_form_gives_the_same_fileset(two: dict[str, Any], tmp_path: Path) -> None:
    paths = two["paths"]
    group = DataGroupSpec.model_validate({"qcd": {"files": {p: "Events" for p in paths}}})
    (tmp_path / "group.json").write_text(group.model_dump_json())
    (tmp_path / "pre.json").write_text(json.dumps(_preprocessed(paths)))
    forms = {
        "list": {"qcd": paths},
        "files list": {"qcd": {"files": paths}},
        "files mapping": {"qcd": {"files": {p: "Events" for p in paths}}},
        "DataGroupSpec": group,
        "DataGroupSpec JSON": tmp_path / "group.json",
        "coffea preprocessed JSON": tmp_path / "pre.json",
    }
    for form, fileset in forms.items():
        got = load_fileset(fileset)
        assert got["qcd"]["files"] == {p: "Events" for p in paths}, form
    assert load_fileset(tmp_path / "pre.json")["qcd"]["entries"] == {p: len(EVENTS) for p in paths}
    assert load_fileset(tmp_path / "pre.json")["qcd"]["metadata"] == {"role": "background"}


def test_urls_stay_urls() -> None:
    urls = ["root://eos.example.org//store/nano_1.root", "https://example.org/nano_2.root"]
    assert load_fileset({"remote": urls})["remote"]["files"] == {u: "Events" for u in urls}


def test_parquet_files_are_refused_in_one_line() -> None:
    fileset = {"qcd": {"files": {"x.parquet": {"object_path": None, "format": "parquet"}}}}
    with pytest.raises(ConfigError, match=r"x\.parquet is a parquet file; only ROOT files"):
        load_fileset(fileset)


def test_run_takes_a_datagroupspec(two: dict[str, Any], tmp_path: Path) -> None:
    group = DataGroupSpec.model_validate({"qcd": {"files": {p: "Events" for p in two["paths"]},
                                                  "metadata": {"role": "background"}}})  # fmt: skip
    res = run_analysis(RunConfig(fileset=group, models=[two["model"]], plots=False), tmp_path / "out")
    ds = res.summary["datasets"]["qcd"]
    assert ds["events_in_files"] == ds["events_read"] == 2 * len(EVENTS)
    assert res.summary["all_events_accounted"]
    assert ds["metadata"] == {"role": "background"}
    saved = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert set(saved["config"]["fileset"]["qcd"]["files"]) == set(two["paths"])


def test_run_takes_coffea_preprocessed_json_and_plain_lists(two: dict[str, Any], tmp_path: Path) -> None:
    pre = _preprocessed(two["paths"][:1])
    pre["list"] = two["paths"][1:]  # a second dataset as a plain list, in the same file
    (tmp_path / "pre.json").write_text(json.dumps(pre))
    res = run_analysis(RunConfig(fileset=str(tmp_path / "pre.json"), models=[two["model"]], plots=False),
                       tmp_path / "out")  # fmt: skip
    for name in ("qcd", "list"):
        ds = res.summary["datasets"][name]
        assert ds["events_in_files"] == ds["events_read"] == len(EVENTS), name
    assert res.summary["all_events_accounted"]
