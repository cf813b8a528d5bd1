"""The latent-space VAE family: KL closed form, KL-peak stopping, ensembles, ONNX parity."""

from __future__ import annotations

import math

import numpy as np
import onnxruntime as ort
import pytest

torch = pytest.importorskip("torch")

from coffea_anomaly.errors import ConfigError  # noqa: E402
from coffea_anomaly.training.families.vae import (  # noqa: E402
    DijetVAE,
    KLPeakStopping,
    VAEEnsemble,
    kl_to_prior,
)
from coffea_anomaly.training.family import FitData, get_family  # noqa: E402
from coffea_anomaly.training.settings import LoopConfig  # noqa: E402

VAE = get_family("vae")


def test_kl_matches_the_closed_form_on_hand_made_gaussians() -> None:
    mu = torch.tensor([[0.0], [1.0], [0.5]])
    sigma = torch.tensor([[1.0], [1.0], [2.0]])
    got = kl_to_prior(mu, (sigma**2).log())
    # KL(N(m, s^2) || N(0, 1)) = (s^2 + m^2 - 1)/2 - log s
    want = [(s * s + m * m - 1) / 2 - math.log(s) for m, s in ((0, 1), (1, 1), (0.5, 2))]
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-6)
    # dimensions add up
    two = kl_to_prior(torch.tensor([[1.0, 0.5]]), torch.tensor([[0.0, math.log(4.0)]]))
    assert float(two) == pytest.approx(want[1] + want[2], rel=1e-6)


def _run(values: list[float], rise: int = 5, fall: int = 5) -> tuple[int, int]:
    """(epoch kept, epoch stopped at; 0 = never) of the rule on a synthetic KL curve."""
    rule = KLPeakStopping(rise, fall)
    kept = 0
    for epoch, v in enumerate(values, 1):
        d = rule.update(epoch, {"kl": v})
        kept = epoch if d.best else kept
        if d.stop:
            return kept, epoch
    return kept, 0


def test_kl_peak_rises_five_falls_five_keeps_the_maximum() -> None:
    curve = [1, 2, 3, 4, 5, 6, 5.5, 5, 4.5, 4, 3.5, 3]  # peak at epoch 6 after 5 rises
    assert _run(curve) == (6, 11)
    # only four falls so far: keep going
    assert _run(curve[:10]) == (6, 0)
    # a peak after only four rises does not count; the later, higher peak does
    curve = [1, 2, 3, 4, 5, 4, 3, 2, 1, 0.5, 6, 7, 8, 9, 10, 9, 8, 7, 6, 5]
    assert _run(curve) == (15, 20)
    # a fall interrupted by a rise that stays below the peak restarts the count
    curve = [1, 2, 3, 4, 5, 6, 5, 4, 4.5, 4, 3, 2, 1, 0]
    assert _run(curve) == (6, 0)
    with pytest.raises(ConfigError):
        KLPeakStopping(0, 5)


def _features(n: int, seed: int, anomalous: bool = False) -> np.ndarray:
    """Six dijet-like features: two masses (GeV) and four tau ratios in (0, 1)."""
    rng = np.random.default_rng(seed)
    m = rng.gamma(2.0, 40.0, size=(n, 2)) + (np.array([500.0, 100.0]) if anomalous else 0.0)
    taus = rng.beta(5, 3, size=(n, 4)) * (0.5 if anomalous else 1.0)
    x = np.column_stack([m[:, 0], taus[:, 0], taus[:, 1], m[:, 1], taus[:, 2], taus[:, 3]])
    return x.astype(np.float32)


def _ensemble(k: int, seed: int = 0) -> VAEEnsemble:
    members = []
    for i in range(k):
        torch.manual_seed(seed + i)
        m = DijetVAE(6, (16, 16), 1)
        m.set_scaler(_features(200, 1), "maxabs")
        members.append(m)
    return VAEEnsemble(members).eval()


def test_ensemble_score_is_the_members_mean_and_onnx_agrees() -> None:
    model = _ensemble(3)
    x = _features(40, 5)
    xt = torch.from_numpy(x)
    with torch.no_grad():
        each = [kl_to_prior(*m.encode(xt)) for m in model.members]
        kl, mse, z_mean, _ = model(xt)
    np.testing.assert_allclose(kl.numpy(), torch.stack(each).mean(dim=0).numpy(), rtol=1e-6)
    proto, parity = VAE.export(model, x)
    assert parity <= 1e-5
    assert [o.name for o in proto.graph.output] == ["kl", "mse", "z_mean", "z_logvar"]
    sess = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    got_kl, got_z = sess.run(["kl", "z_mean"], {"x": x})
    np.testing.assert_allclose(got_kl, kl.numpy(), rtol=1e-5)
    np.testing.assert_allclose(got_z, z_mean.numpy(), rtol=1e-5, atol=1e-6)


def test_maxabs_scaler_lives_in_the_model() -> None:
    x = _features(300, 2)
    m = DijetVAE(6)
    m.set_scaler(x, "maxabs")
    np.testing.assert_allclose(m.scale.numpy(), np.abs(x).max(axis=0), rtol=1e-6)
    assert float(m.target(torch.from_numpy(x)).abs().max()) == pytest.approx(1.0)


def test_tiny_ensemble_trains_with_kl_logged_and_separates_an_obvious_anomaly() -> None:
    data = FitData(_features(800, 1), _features(200, 2), level="event")
    options = VAE.options({"ensemble": 2, "stopping": "loss", "alpha": 100.0})
    torch.manual_seed(7)
    model = VAE.build({"n_features": 6, "hidden": [16, 16], "latent": 1}, data, options)
    loop = LoopConfig(epochs=6, batch_size=100, optimizer="adam", learning_rate=3e-3, patience=6, seed=7)
    history = VAE.fit(model, data, loop, options, progress=False)
    assert len(model.members) == 2
    assert [p.name.split(" (")[0] for p in history.phases] == ["member 1", "member 2"]
    for phase in history.phases:
        assert {"loss", "recon", "kl"} <= set(phase.val)
        assert min(phase.val["loss"]) < phase.initial_val["loss"]
    # members differ (own seeds), and the score ranks the anomalies high
    w0, w1 = (m.encoder[0].weight.detach() for m in model.members)
    assert not torch.equal(w0, w1)
    from coffea_anomaly.metrics import roc_auc

    s_bkg = VAE.predict(model, _features(300, 3))
    s_sig = VAE.predict(model, _features(300, 4, anomalous=True))
    assert set(s_bkg) == {"kl", "mse"}
    assert roc_auc(s_sig["mse"], s_bkg["mse"]) > 0.9
    outputs = VAE.score_outputs(model, "event")
    assert [(o.name, o.score, o.shape) for o in outputs] == [
        ("kl", True, ()), ("mse", True, ()), ("z_mean", False, (1,)), ("z_logvar", False, (1,)),
    ]  # fmt: skip
