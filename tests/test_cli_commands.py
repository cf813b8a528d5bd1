"""Every subcommand the CLI lists exists and has help (no placeholder for unbuilt ones)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from coffea_anomaly.cli.main import SUBCOMMANDS, cli


@pytest.mark.parametrize("name", sorted(SUBCOMMANDS))
def test_listed_subcommand_runs_its_help(name: str) -> None:
    result = CliRunner().invoke(cli, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert f"Usage: cli {name}" in result.output or f"{name} [OPTIONS]" in result.output
    assert "not available" not in result.output


def test_the_benchmarks_are_not_a_subcommand() -> None:
    # they live in benchmarks/ beside the package: `make bench` / `python -m benchmarks`
    assert "bench" not in SUBCOMMANDS


def test_evaluate_says_when_the_signal_scores_lower(capsys: pytest.CaptureFixture[str]) -> None:
    """A QUAK signal prior's loss is low for signal-like events: its AUC (high = signal) is
    below 0.5, and the line says so with the reversed AUC; a tagger above 0.5 gets no note."""
    from types import SimpleNamespace

    from coffea_anomaly.cli.evaluate import _echo

    result = SimpleNamespace(signal_name="wp", n_signal=10, background_name="qcd", n_background=20,
                             aucs={"background": 0.8154, "wprime_2prong": 0.1422}, merits=None)  # fmt: skip
    _echo(result)
    out = capsys.readouterr().out.splitlines()
    assert out[1] == "AUC (background) = 0.8154"
    assert out[2] == "AUC (wprime_2prong) = 0.1422 (the signal scores lower: 1 − AUC = 0.8578)"


def test_auc_text_notes_only_an_auc_below_one_half() -> None:
    from coffea_anomaly.metrics import auc_text

    assert auc_text(0.76) == "0.760" and auc_text(0.5) == "0.500"
    assert auc_text(0.21) == "0.210 (the signal scores lower: 1 − AUC = 0.790)"
    assert auc_text(float("nan")) == "nan"  # nothing to compare: no misleading note
