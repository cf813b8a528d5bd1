"""Run configs: YAML in, validated frozen dataclass out; bad values get one clear error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from coffea_anomaly.errors import ConfigError
from coffea_anomaly.runner import RunConfig, load_fileset, load_run_config


def test_yaml_paths_are_relative_to_the_config(tmp_path: Path) -> None:
    (tmp_path / "fs.json").write_text(json.dumps({"qcd": {"files": {"a.root": "Events"}}}))
    cfg_path = tmp_path / "run.yaml"
    cfg_path.write_text("processor: jet\nfileset: fs.json\nmodels: [my.onnx, image_cnn_ae]\nworkers: 3\n")
    cfg = load_run_config(cfg_path)
    assert cfg.fileset == str(tmp_path / "fs.json")
    assert cfg.models == [str(tmp_path / "my.onnx"), "image_cnn_ae"]
    assert cfg.workers == 3
    fs = load_fileset(cfg.fileset)
    assert fs == {"qcd": {"files": {str(tmp_path / "a.root"): "Events"}, "metadata": {}}}


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("processor", "trijet", "processor must be"),
        ("executor", "spark", "executor must be one of"),
        ("workers", 0, "workers must be"),
        ("chunksize", 0, "chunksize must be"),
        ("max_chunks", 0, "max_chunks must be"),
    ],
)
def test_bad_values(field: str, value: object, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        RunConfig(fileset={"a": ["x.root"]}, **{field: value})


def test_unknown_option_is_named(tmp_path: Path) -> None:
    p = tmp_path / "run.yaml"
    p.write_text("fileset: {a: [x.root]}\nchunk_size: 10\n")
    with pytest.raises(ConfigError, match="unknown option.*chunk_size"):
        load_run_config(p)


def test_fileset_list_form_and_errors(tmp_path: Path) -> None:
    assert load_fileset({"a": ["/x.root"]}) == {"a": {"files": {"/x.root": "Events"}, "metadata": {}}}
    with pytest.raises(ConfigError, match="lists no files"):
        load_fileset({"a": {"files": {}}})
    with pytest.raises(ConfigError, match="cannot read fileset"):
        load_fileset(tmp_path / "missing.json")
