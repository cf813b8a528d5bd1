"""Fixtures shared across the test suite."""

from __future__ import annotations

from pathlib import Path

import pytest

#: the real CMS files shipped beside the repository (../shared/data/cms)
CMS_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "cms"


@pytest.fixture(scope="session")
def cms_files() -> dict[str, Path]:
    """The two real CMS files: PFNano (10 events) and NanoAOD v15 ttbar (200 events)."""
    files = {"pfnano": CMS_DIR / "pfnano_cms_mc.root", "v15": CMS_DIR / "nanoaod_v15_ttbar.root"}
    missing = [str(p) for p in files.values() if not p.exists()]
    if missing:
        pytest.fail(f"real CMS files not found (expected beside the repository): {missing}")
    return files
