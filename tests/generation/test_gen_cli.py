"""``coffea-anomaly generate``: a summary line on success; one clear line and exit 1 on bad input."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from coffea_anomaly.cli.generate import command
from coffea_anomaly.cli.main import main

pytestmark = pytest.mark.slow


def test_generate_writes_the_sample_and_reports_speed(tmp_path):
    out = tmp_path / "qcd"
    result = CliRunner().invoke(command, ["qcd_jets", "--events", "6", "--out", str(out), "--seed", "4",
                                          "--set", "block_size=3", "--quiet"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("wrote 6 qcd_jets events in 2 file(s) to ")
    assert "events/s" in result.output and "acceptance" in result.output
    fileset = json.loads((out / "fileset.json").read_text())
    assert list(fileset) == ["qcd_jets"]
    assert fileset["qcd_jets"]["metadata"]["overrides"] == {"block_size": 3}
    assert sorted(p.name for p in out.glob("*.root")) == ["qcd_jets_00000.root", "qcd_jets_00001.root"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope"], "unknown process 'nope'; known processes: dark_shower, mixed, qcd_dijet, qcd_jets, "
                   "scalar_4c, top_jets, wprime_xy, zprime_3prong"),
        (["wprime_xy", "--set", "m_wprime=heavy"], "--set m_wprime: expected a float like 3500.0, got 'heavy'"),
        (["wprime_xy", "--set", "m_wprime"], "--set expects key=value, got 'm_wprime'"),
        (["wprime_xy", "--set", "colour=red"], "unknown option 'colour' for process wprime_xy"),
        (["top_jets", "--events", "0"], "--events must be >= 1, got 0"),
        (["top_jets", "--workers", "0"], "--workers must be >= 1, got 0"),
        (["top_jets", "--seed", "-1"], "--seed must be >= 0, got -1"),
    ],
    ids=["unknown-process", "bad-value", "no-equals", "unknown-option", "zero-events", "zero-workers",
         "negative-seed"],
)
def test_bad_input_is_one_line_and_exit_1(tmp_path, capsys, args, message):
    argv = ["generate", *args]
    if "--events" not in args:
        argv += ["--events", "5"]
    with pytest.raises(SystemExit) as exit_info:
        main([*argv, "--out", str(tmp_path / "out")])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("coffea-anomaly: error: ")
    assert message in err
    assert not (tmp_path / "out" / "fileset.json").exists()


def test_unwritable_output_is_one_line_and_exit_1(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(SystemExit) as exit_info:
        main(["generate", "qcd_jets", "--events", "5", "--out", str(blocker / "out")])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"cannot create output folder {blocker / 'out'}" in err
