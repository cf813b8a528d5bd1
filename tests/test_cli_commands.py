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
