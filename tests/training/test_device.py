"""``loop.device``: where a torch family trains. CI has no GPU: the CUDA tests run only where
torch sees one (``pytest tests/training/test_device.py`` on a GPU machine before a GPU
training run); the CPU side (the choice of device, its errors, ``auto``) runs everywhere."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from coffea_anomaly.errors import ConfigError  # noqa: E402
from coffea_anomaly.training._torch import training_device  # noqa: E402
from coffea_anomaly.training.families._langevin import ReplayBuffer, langevin  # noqa: E402
from coffea_anomaly.training.family import FitData, get_family  # noqa: E402
from coffea_anomaly.training.settings import LoopConfig  # noqa: E402

CUDA = torch.cuda.is_available()
needs_cuda = pytest.mark.skipif(not CUDA, reason="no CUDA device")
without_cuda = pytest.mark.skipif(CUDA, reason="a CUDA device is present")


def _features(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 2))
    return (z @ np.random.default_rng(0).normal(size=(2, 8)) + 0.05 * rng.normal(size=(n, 8))).astype(np.float32)


def _dense_fit(device: str) -> tuple[object, list[float]]:
    family = get_family("dense_ae")
    data = FitData(_features(300, 1), _features(100, 2))
    torch.manual_seed(0)
    model = family.build({"n_features": 8, "hidden": [8], "latent": 2}, data, None)
    result = family.fit(model, data, LoopConfig(epochs=3, batch_size=32, seed=4, device=device), None, progress=False)
    return model, result.val_loss


def test_unknown_device_is_one_config_error() -> None:
    with pytest.raises(ConfigError, match="device must be one of cpu, cuda, auto"):
        LoopConfig(device="tpu")


@without_cuda
def test_cuda_without_a_gpu_is_one_config_error_naming_the_way_out() -> None:
    with pytest.raises(ConfigError, match="torch sees no CUDA device.*use cpu or auto"):
        training_device("cuda")
    with pytest.raises(ConfigError, match="no CUDA device"):
        _dense_fit("cuda")


@without_cuda
def test_auto_without_a_gpu_is_the_cpu_run_exactly() -> None:
    assert training_device("auto") == torch.device("cpu")
    _, cpu = _dense_fit("cpu")
    _, auto = _dense_fit("auto")
    assert auto == cpu


def test_chain_noise_and_buffer_stay_on_the_cpu_stream() -> None:
    """The chains draw their noise from the CPU generator whatever the device of x, so a
    run's random stream does not depend on where it runs; the buffer keeps CPU points."""
    buf = ReplayBuffer(8, 3, 0.5)
    buf.push(torch.ones(4, 3, dtype=torch.float64))
    assert buf.data.device.type == "cpu" and buf.data.dtype == torch.float32
    x0 = torch.zeros(5, 2)
    a = langevin(lambda x: (x**2).sum(dim=1), x0, 4, 0.1, 0.3, metropolis=True, generator=torch.Generator().manual_seed(7))
    b = langevin(lambda x: (x**2).sum(dim=1), x0, 4, 0.1, 0.3, metropolis=True, generator=torch.Generator().manual_seed(7))
    assert torch.equal(a.x, b.x)


@needs_cuda
def test_dense_training_on_cuda_returns_a_cpu_model_close_to_the_cpu_run() -> None:
    model, gpu = _dense_fit("cuda")
    _, cpu = _dense_fit("cpu")
    assert all(p.device.type == "cpu" for p in model.parameters())
    np.testing.assert_allclose(gpu, cpu, rtol=1e-3)


@needs_cuda
@pytest.mark.parametrize("kind", ["nae", "wnae"])
def test_nae_training_on_cuda_returns_a_cpu_model_with_finite_energies(kind: str) -> None:
    if kind == "wnae":
        pytest.importorskip("ot")
    rng = np.random.default_rng(1)
    images = rng.random((96, 12, 12)).astype(np.float32)
    images /= images.sum(axis=(1, 2), keepdims=True)
    data = FitData(images[:64], images[64:])
    family = get_family(kind)
    opts = family.options({"pretrain_epochs": 1, "pretrain_batch_size": 32, "epochs": 2, "batch_size": 16,
                           "steps_per_epoch": 2, "z_steps": 3, "x_steps": 3, "buffer_size": 40,
                           "val_negatives": 16})  # fmt: skip
    torch.manual_seed(3)
    model = family.build({"npix": 12, "latent_dim": 3, "channels": 4, "dense": 16}, data, opts)
    history = family.fit(model, data, LoopConfig(epochs=2, batch_size=32, seed=3, device="cuda"), opts,
                         progress=False)  # fmt: skip
    assert all(p.device.type == "cpu" for p in model.parameters())
    energy = history.phases[-1]
    assert np.all(np.isfinite(energy.val["e_pos"])) and np.all(np.isfinite(energy.val["e_neg"]))


def test_the_gpu_recipes_load_train_on_cuda_and_pair_each_ae_with_its_nae() -> None:
    from coffea_anomaly.resources import config_path
    from coffea_anomaly.training.settings import load_training_config

    gpu = {p.stem: load_training_config(p) for p in config_path("training", "gpu").glob("*.yaml")}
    assert set(gpu) == {"nae_qcd", "nae_top", "wnae_qcd", "ae_top"}
    for name in ("nae_qcd", "nae_top", "wnae_qcd"):
        cfg = gpu[name]
        opts = get_family(cfg.model.kind).options(cfg.model.training)
        assert cfg.loop.device == "cuda" and cfg.loop.max_time_s is not None
        assert (opts.z_steps, opts.x_steps, opts.batch_size) == (30, 30, 128)  # the paper's Table 1
    # the plain AE reads the NAE run's pre-trained checkpoint: same network, or init_from refuses
    assert gpu["ae_top"].model.params == gpu["nae_top"].model.params
    assert gpu["ae_top"].model.training["init_from"] == "data/checkpoints/nae_top.pretrained.ckpt"
    assert gpu["nae_top"].model.training["checkpoint"] == "data/checkpoints/nae_top.ckpt"
    # wnae_qcd starts from nae_qcd's pre-trained AE, which the CPU ae_qcd reads too
    assert gpu["wnae_qcd"].model.training["init_from"] == "data/checkpoints/nae_qcd.pretrained.ckpt"
    assert gpu["wnae_qcd"].model.params == gpu["nae_qcd"].model.params
