"""The built-in families: architectures of the papers, per-item MSE score, standardisation,
and the registry that finds them."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from coffea_anomaly.errors import ConfigError  # noqa: E402
from coffea_anomaly.training.families._reconstruction import reconstruction_mse  # noqa: E402
from coffea_anomaly.training.families.dense_ae import DenseAutoencoder  # noqa: E402
from coffea_anomaly.training.families.image_cnn_ae import ImageCNNAutoencoder  # noqa: E402
from coffea_anomaly.training.family import FitData, family_names, get_family  # noqa: E402


def test_image_ae_follows_qcd_or_what_fig2() -> None:
    model = ImageCNNAutoencoder(npix=40, bottleneck=32)
    x = torch.rand(3, 40, 40)
    assert model(x).shape == (3, 40, 40)
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    # encoder 400 -> 100 -> 32, decoder 32 -> 100 -> 400
    assert [(m.in_features, m.out_features) for m in linears] == [
        (400, 100), (100, 32), (32, 100), (100, 400),
    ]  # fmt: skip
    assert any(isinstance(m, torch.nn.AvgPool2d) for m in model.encoder)
    # PReLU after every weight layer except the last one
    layers = [m for m in model.modules() if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d))]
    n_prelu = sum(isinstance(m, torch.nn.PReLU) for m in model.modules())
    assert (len(layers), n_prelu) == (12, 11)
    # the last layer is linear: a convolution, no activation after it
    assert isinstance(model.decoder[-2][-1], torch.nn.Conv2d)


@pytest.mark.parametrize("bottleneck", [6, 34])
def test_image_ae_bottleneck_is_the_smallest_layer(bottleneck: int) -> None:
    model = ImageCNNAutoencoder(bottleneck=bottleneck)
    z = model.encoder(torch.rand(2, 40, 40))
    assert z.shape == (2, bottleneck)


def test_odd_image_size_is_refused() -> None:
    with pytest.raises(ConfigError, match="even"):
        ImageCNNAutoencoder(npix=37)


def test_score_is_mse_averaged_over_pixels() -> None:
    torch.manual_seed(0)
    model = ImageCNNAutoencoder(npix=8, bottleneck=3, channels=(2, 2), dense=5).eval()
    x = torch.rand(4, 8, 8)
    with torch.no_grad():
        want = ((model(x) - x) ** 2).sum(dim=(1, 2)) / 64
        got = reconstruction_mse(model, x)
    assert torch.allclose(got, want, rtol=1e-6)


def test_dense_ae_standardises_inside_the_model() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(loc=[5.0, -2.0, 0.0], scale=[2.0, 0.5, 1.0], size=(1000, 3))
    x[:, 2] = 7.0  # a constant feature keeps unit scale
    model = DenseAutoencoder(n_features=3, hidden=(4,), latent=2)
    model.set_standardisation(x)
    np.testing.assert_allclose(model.mean.numpy(), x.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(model.std.numpy()[:2], x.std(axis=0)[:2], rtol=1e-5)
    assert model.std.numpy()[2] == 1.0
    assert {"mean", "std"} <= set(dict(model.named_buffers()))
    t = model.target(torch.as_tensor(x, dtype=torch.float32))
    np.testing.assert_allclose(t.mean(dim=0).numpy()[:2], 0.0, atol=1e-4)


def test_dense_ae_refuses_wrong_standardisation_shape() -> None:
    with pytest.raises(ConfigError, match=r"\(n, 12\)"):
        DenseAutoencoder().set_standardisation(np.zeros((5, 3)))


def test_families_are_found_by_name_and_build_from_params() -> None:
    assert {"dense_ae", "image_cnn_ae"} <= set(family_names())
    family = get_family("dense_ae")
    data = FitData(np.zeros((4, 5), np.float32), np.zeros((2, 5), np.float32))
    model = family.build({"n_features": 5, "hidden": [8], "latent": 2}, data, family.options({}))
    assert isinstance(model, DenseAutoencoder)
    assert family.hyperparameters(model) == {"n_features": 5, "hidden": [8], "latent": 2}
    assert [o.name for o in family.score_outputs(model, "event")] == ["score"]
    assert "per event, averaged over the input's 5 values" in family.score_outputs(model, "event")[0].meaning
    with pytest.raises(ConfigError, match="unknown model kind 'nope'; known: .*dense_ae"):
        get_family("nope")
    with pytest.raises(ConfigError, match="invalid parameters"):
        family.build({"widths": 3}, data, None)
    with pytest.raises(ConfigError, match=r"takes items of shape \(6,\) but the representation gives \(5,\)"):
        family.build({"n_features": 6}, data, None)
    with pytest.raises(ConfigError, match="unknown option"):
        family.options({"beta": 1.0})  # the dense AE has no training options of its own
