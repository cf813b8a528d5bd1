"""Latent characterisation: the conditional decoder learns a known (z, m_jj) dependence;
end to end, `coffea-anomaly characterise` writes the maps, the ratios and the arrays."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

torch = pytest.importorskip("torch")

from click.testing import CliRunner  # noqa: E402

from coffea_anomaly.training.characterise import (  # noqa: E402
    CharacteriseConfig,
    _marginal,
    _scan,
    train_conditional_decoder,
)


def test_conditional_decoder_learns_how_the_observables_depend_on_z_and_mjj() -> None:
    rng = np.random.default_rng(0)
    n = 4000
    z = rng.normal(size=(n, 1)).astype(np.float32)
    mjj = rng.uniform(2000, 6000, size=n).astype(np.float32)
    # observable 0 follows z, observable 1 follows m_jj, both standard-scaled targets
    target = np.column_stack([z[:, 0], (mjj - 4000) / 1000]).astype(np.float32)
    cfg = CharacteriseConfig(epochs=30, batch_size=256, learning_rate=3e-3)
    decoder = train_conditional_decoder(z, np.full_like(z, np.log(1e-4)), mjj, target,
                                        (4000.0, 1000.0), cfg, seed=1)  # fmt: skip
    zs, ms = np.linspace(-1, 1, 5), np.linspace(2500, 5500, 4)
    grid = _scan(decoder, zs, ms, (4000.0, 1000.0), (np.zeros(2), np.ones(2)))
    assert grid.shape == (4, 5, 2)
    np.testing.assert_allclose(grid[:, :, 0], np.broadcast_to(zs, (4, 5)), atol=0.15)
    # m_jj is smeared by 2.5 %, so the decoder can only learn it to about that precision
    np.testing.assert_allclose(grid[:, :, 1], np.broadcast_to(((ms - 4000) / 1000)[:, None], (4, 5)), atol=0.25)
    ratio = _marginal(grid + 3.0)  # positive observables
    assert ratio.shape == (4, 2)
    assert ratio[:, 0] == pytest.approx(np.ones(4), abs=0.05)  # z-averaged: flat in m_jj
    assert ratio[-1, 1] > ratio[0, 1]  # the m_jj-driven observable rises with m_jj


@pytest.mark.slow
def test_characterise_command_writes_maps_ratios_and_arrays(tmp_path: Path, generated) -> None:
    from coffea_anomaly.cli.main import cli

    sel = {"jet_pt_min": 300.0, "eta_max": 2.5}
    cfg = {
        "name": "tiny_vae", "level": "event",
        "model": {"kind": "vae", "params": {"n_features": 6, "hidden": [16, 16], "latent": 1},
                  "training": {"stopping": "loss"}},
        "representation": {"kind": "dijet_features", "config": {"features": ["mass", "tau21", "tau32"]}},
        "train": {"path": str(generated["qcd_dijet"]), "selection": sel},
        "loop": {"epochs": 3, "batch_size": 32},
    }  # fmt: skip
    (tmp_path / "vae.yaml").write_text(yaml.safe_dump(cfg))
    model = tmp_path / "vae.onnx"
    result = CliRunner().invoke(cli, ["train", str(tmp_path / "vae.yaml"), "--out", str(model), "--quiet"])
    assert result.exit_code == 0, result.output
    # "data": the QCD sample and the W' sample together (truth labels 0 and 1), absolute paths
    files = {}
    for name in ("qcd_dijet", "wprime_xy"):
        for ds, spec in json.loads((generated[name] / "fileset.json").read_text()).items():
            paths = {str(f if Path(f).is_absolute() else generated[name] / f): t for f, t in spec["files"].items()}
            files[ds] = {"files": paths, "metadata": spec.get("metadata", {})}
    (tmp_path / "data.json").write_text(json.dumps(files))
    out = tmp_path / "char"
    result = CliRunner().invoke(cli, ["characterise", str(model), "--data", str(tmp_path / "data.json"),
                                      "--out", str(out), "--epochs", "3", "--grid", "8", "--subsets", "2",
                                      "--quiet"])  # fmt: skip
    assert result.exit_code == 0, result.output
    for name in ("heatmaps.png", "marginal.png", "characterisation.npz", "characterisation.json"):
        assert (out / name).stat().st_size > 500
    arrays = np.load(out / "characterisation.npz")
    assert arrays["grid"].shape == (8, 8, 6)
    assert arrays["marginal_background_subsets"].shape == (2, 8, 6)
    summary = json.loads((out / "characterisation.json").read_text())
    assert summary["events"]["signal"] > 0 and summary["events"]["background"] > 0
    assert summary["features"] == ["mass_j1", "tau21_j1", "tau32_j1", "mass_j2", "tau21_j2", "tau32_j2"]
