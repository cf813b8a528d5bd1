"""Atomic writes: a finished file or none, never a half-written one."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from coffea_anomaly.fileio import atomic_path, atomic_write, write_json


def test_atomic_write_text_and_bytes(tmp_path: Path) -> None:
    assert atomic_write(tmp_path / "a.txt", "héllo\n").read_text(encoding="utf-8") == "héllo\n"
    assert atomic_write(tmp_path / "b.bin", b"\x00\x01").read_bytes() == b"\x00\x01"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.bin"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = atomic_write(tmp_path / "out.json", "old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert list(tmp_path.iterdir()) == [target]


def test_write_json_handles_numpy_and_paths(tmp_path: Path) -> None:
    obj = {"b": np.float32(0.5), "a": np.arange(3), "n": np.int64(7), "p": Path("x/y")}
    path = write_json(tmp_path / "s.json", obj)
    text = path.read_text()
    assert text.endswith("}\n") and text.index('"a"') < text.index('"b"')
    assert json.loads(text) == {"a": [0, 1, 2], "b": 0.5, "n": 7, "p": "x/y"}
    with pytest.raises(TypeError, match="not JSON serialisable"):
        write_json(tmp_path / "bad.json", {"x": object()})
    assert not (tmp_path / "bad.json").exists()
