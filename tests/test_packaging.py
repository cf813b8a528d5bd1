"""Packaging and public API: deliberate, lazy, and torch-free on import."""

from __future__ import annotations

import importlib
import importlib.metadata
import subprocess
import sys
import tomllib
from pathlib import Path

import coffea_anomaly

ROOT = Path(__file__).resolve().parents[1]


def test_every_subpackage_is_listed_in_pyproject() -> None:
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {
        "coffea_anomaly" + ("." + ".".join(p.parent.relative_to(ROOT / "coffea_anomaly").parts) if p.parent != ROOT / "coffea_anomaly" else "")
        for p in (ROOT / "coffea_anomaly").rglob("__init__.py")
    }
    found |= {"coffea_anomaly.processors", "coffea_anomaly.models", "coffea_anomaly.configs"}
    assert found <= listed, f"add to pyproject packages: {sorted(found - listed)}"


def test_import_does_not_import_torch_or_pythia() -> None:
    code = (
        "import sys, coffea_anomaly, coffea_anomaly.processors, coffea_anomaly.runner;"
        "bad = [m for m in ('torch', 'pythia8mc') if m in sys.modules]; print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_public_names_resolve() -> None:
    assert coffea_anomaly.__version__ == importlib.metadata.version("coffea-anomaly")
    for name in set(coffea_anomaly.__all__) - {"__version__"}:
        obj = getattr(coffea_anomaly, name)
        # the object defined under that name in a coffea_anomaly submodule, not a stand-in
        assert obj.__name__ == name
        assert obj.__module__.startswith("coffea_anomaly."), (name, obj.__module__)
        assert getattr(importlib.import_module(obj.__module__), name) is obj, name
    assert set(dir(coffea_anomaly)) == set(coffea_anomaly.__all__)


def test_cli_lists_subcommands() -> None:
    out = subprocess.run([sys.executable, "-m", "coffea_anomaly.cli.main", "--help"],
                         capture_output=True, text=True, check=True)
    for sub in ("generate", "train", "evaluate", "run", "bumphunt", "inspect", "demo"):
        assert sub in out.stdout


def test_errors_survive_pickling_to_and_from_workers() -> None:
    import pickle

    from coffea_anomaly import errors

    cases = [
        errors.MissingCollectionError(["FatJet", "PFCand"], where="f.root", hint="h"),
        errors.MissingDependencyError("torch", "train"),
        errors.FitFailedError("no convergence", result={"fval": 1.0}),
        errors.ShapeMismatchError("expects (N, 40, 40) but got (3, 37, 37)"),
    ]
    for err in cases:
        back = pickle.loads(pickle.dumps(err))
        assert type(back) is type(err) and str(back) == str(err)
