"""Fixtures shared across the test suite."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# test helpers (toy_models.py) importable from every test folder
sys.path.insert(0, str(Path(__file__).resolve().parent))

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


@pytest.fixture(scope="session")
def small_samples(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Small generated samples (fileset.json paths): 200 QCD jets events, 100 top jets
    events, 200 dijet 'data' events with 10 % W' -> XY injected (unweighted)."""
    from coffea_anomaly.generation import generate_sample

    base = tmp_path_factory.mktemp("samples")
    specs = {
        "qcd_jets": ("qcd_jets", 200, {}),
        "top_jets": ("top_jets", 100, {}),
        "dijet_data": ("mixed", 200, {"background.bias_power": 0.0, "signal_fraction": 0.1}),
    }
    out = {}
    for name, (process, n, overrides) in specs.items():
        res = generate_sample(process, n, base / name, seed=7, workers=2, overrides=overrides, progress=False)
        out[name] = Path(res.fileset)
    return out


@pytest.fixture(scope="session")
def toy_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Toy ONNX models (mean of x**2) on the real jet-image and dijet-feature representations."""
    from toy_models import dijet_toy, image_toy

    base = tmp_path_factory.mktemp("models")
    return {
        "image": image_toy(base / "toy_image.onnx"),
        "dijet": dijet_toy(base / "toy_dijet.onnx"),
        "dijet_b": dijet_toy(base / "toy_dijet_b.onnx", name="toy_dijet_b", features=("mass", "tau21")),
    }


@pytest.fixture
def saved(monkeypatch: pytest.MonkeyPatch) -> list:
    """Figures passed to the plotting style's save(), kept for inspection (the PNGs are
    still written)."""
    from coffea_anomaly.plotting import style

    figs: list = []
    real = style.save

    def keep(fig, path):
        figs.append(fig)
        return real(fig, path)

    monkeypatch.setattr(style, "save", keep)
    return figs
