"""docs/USAGE.md: every code block runs, and its run-config reference is the generated one.

Python blocks run in a folder holding a small hand-made ``events.root`` (with fat jets in
the shipped models' pT window and their constituents), a ``fileset.json`` naming it and
the page's YAML run config as ``my_run.yaml``; shell blocks run there with this
environment's ``coffea-anomaly`` on the PATH. A block whose first line is
``# doc-test: skip: <reason>`` is not run, and must give its reason.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from coffea_anomaly.runner.config_reference import BEGIN, END, config_reference, replace_reference

USAGE = Path(__file__).resolve().parents[1] / "docs" / "USAGE.md"
SKIP = "# doc-test: skip:"
_BLOCK = re.compile(r"^```(\w+)\n(.*?)^```", re.S | re.M)


def _blocks() -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for m in _BLOCK.finditer(USAGE.read_text())]


def _is_slow(code: str) -> bool:
    """Blocks that start a Dask cluster or a whole run take more than a few seconds."""
    return "LocalCluster" in code or "coffea-anomaly run" in code or "mode=\"dask\"" in code


def _runnable() -> list:
    params = []
    for i, (lang, code) in enumerate(_blocks()):
        if code.startswith(SKIP) or lang not in ("python", "bash"):
            continue
        marks = [pytest.mark.slow] if _is_slow(code) else []
        first = next(line for line in code.splitlines() if line.strip() and not line.startswith("#"))
        params.append(pytest.param(lang, code, id=f"{i}-{lang}-{first[:40]}", marks=marks))
    return params


def test_the_run_config_reference_is_generated_from_the_dataclasses() -> None:
    text = USAGE.read_text()
    start, stop = text.index(BEGIN), text.index(END) + len(END)
    assert text[start:stop] == config_reference(), (
        "docs/USAGE.md is out of date: python -m coffea_anomaly.runner.config_reference --write docs/USAGE.md"
    )
    assert replace_reference(text) == text
    for key in ("`skip_bad_files`", "`model_options`", "`pt_max`", "`deta_max`", "`pair`"):
        assert key in text[start:stop]


def test_every_block_is_run_or_says_why_not() -> None:
    blocks = _blocks()
    assert len(blocks) >= 8
    for lang, code in blocks:
        assert lang in ("python", "bash", "yaml"), lang
        if code.startswith(SKIP):
            assert len(code.splitlines()[0]) > len(SKIP) + 10, f"a skipped block must say why: {code[:80]}"
    skipped = [c for _, c in blocks if c.startswith(SKIP)]
    assert len(skipped) <= 4
    assert sum(lang == "python" and not c.startswith(SKIP) for lang, c in blocks) >= 5


def test_the_yaml_run_config_is_valid(tmp_path: Path) -> None:
    from coffea_anomaly.runner import load_run_config

    (yaml_block,) = [code for lang, code in _blocks() if lang == "yaml"]
    (tmp_path / "my_run.yaml").write_text(yaml_block)
    cfg = load_run_config(tmp_path / "my_run.yaml")
    assert cfg.models == ["image_cnn_ae"] and cfg.selection == {"pt_min": 500.0}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with a hand-made events.root, its fileset.json and the page's my_run.yaml."""
    from handmade_events import write_handmade

    root = tmp_path_factory.mktemp("usage")
    events = [[(600.0, 0.3 * (i % 5) - 0.6, 60.0 + 15 * (i % 9)), (580.0, -0.4, 90.0)] for i in range(40)]
    write_handmade(root / "events.root", events)
    fileset = {"my_sample": {"files": {"events.root": "Events"}, "metadata": {"role": "background"}}}
    (root / "fileset.json").write_text(json.dumps(fileset))
    (yaml_block,) = [code for lang, code in _blocks() if lang == "yaml"]
    (root / "my_run.yaml").write_text(yaml_block)
    return root


@pytest.mark.parametrize(("lang", "code"), _runnable())
def test_usage_block_runs(lang: str, code: str, workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if lang == "python" and not _is_slow(code):
        # in-process: the imports are paid once for all blocks
        monkeypatch.chdir(workdir)
        exec(compile(code, str(USAGE), "exec"), {"__name__": "__usage__"})
        return
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    cmd = [sys.executable, "-c", code] if lang == "python" else ["bash", "-e", "-c", code]
    res = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
