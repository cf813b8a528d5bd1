"""The jet autoencoders of Farina et al. and *QCD or What?*: architectures, ONNX export
(checker, dynamic batch, 1e-5 parity), and tiny trainings that lower the loss."""

from __future__ import annotations

import numpy as np
import onnx
import pytest

torch = pytest.importorskip("torch")

from coffea_anomaly.metrics import mass_sculpting_jsd  # noqa: E402
from coffea_anomaly.training.family import FitData, get_family  # noqa: E402
from coffea_anomaly.training.onnx_io import parity_error, run_graph  # noqa: E402
from coffea_anomaly.training.settings import LoopConfig  # noqa: E402

LOOP = LoopConfig(epochs=4, batch_size=32, learning_rate=3e-3, patience=10)


def _blobs(n: int, npix: int, seed: int) -> np.ndarray:
    """Unit-sum images with one bright core and a fainter second prong (jet-image-like)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:npix, 0:npix]
    c = npix / 2
    out = np.exp(-((yy - c) ** 2 + (xx - c) ** 2) / 2.0)[None].repeat(n, 0)
    pos = rng.uniform(0.2 * npix, 0.8 * npix, size=(n, 2))
    amp = rng.exponential(0.3, size=n)
    out += amp[:, None, None] * np.exp(-((yy - pos[:, :1, None]) ** 2 + (xx - pos[:, 1:, None]) ** 2) / 2.0)
    return (out / out.sum(axis=(1, 2), keepdims=True)).astype(np.float32)


def _four_vectors(n: int, seed: int, n_const: int = 40) -> np.ndarray:
    """Massless constituents, pT-ordered, zero padded after a random multiplicity."""
    rng = np.random.default_rng(seed)
    p = rng.normal(size=(n, n_const, 3)) * np.sort(rng.exponential(10.0, size=(n, n_const, 1)), axis=1)[:, ::-1]
    e = np.linalg.norm(p, axis=2, keepdims=True)
    x = np.concatenate([e, p], axis=2)
    x[np.arange(n_const)[None, :] >= rng.integers(10, n_const, size=(n, 1))] = 0.0
    return x.astype(np.float32)


def _check_export(family, model, x: np.ndarray) -> None:
    proto, parity = family.export(model, x)
    onnx.checker.check_model(proto, full_check=True)
    assert parity <= 1e-5
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param
    assert [o.name for o in proto.graph.output] == ["score"]
    want = family.predict(model, x)["score"]
    for n in (1, 3, len(x)):
        assert parity_error(run_graph(proto, x[:n])["score"], want[:n], float(np.median(want))) <= 1e-5


def _train(kind: str, params: dict, data: FitData, options: dict | None = None, loop: LoopConfig = LOOP):
    family = get_family(kind)
    opts = family.options(options or {})
    torch.manual_seed(0)
    model = family.build(params, data, opts)
    history = family.fit(model, data, loop, opts, progress=False)
    return family, model, history


# -- Farina et al., App. A ---------------------------------------------------------------


def test_farina_dense_ae_is_the_appendix_network() -> None:
    from coffea_anomaly.training.families.farina_dense_ae import FarinaDenseAutoencoder

    model = FarinaDenseAutoencoder()
    linears = [(m.in_features, m.out_features) for m in model.modules() if isinstance(m, torch.nn.Linear)]
    assert linears == [(1369, 32), (32, 6), (6, 32), (32, 1369)]
    out = model(torch.rand(2, 37, 37))
    assert out.shape == (2, 37, 37)
    torch.testing.assert_close(out.sum(dim=(1, 2)), torch.ones(2))  # softmax: unit intensity


def test_farina_cnn_ae_pads_37_to_40_and_follows_the_appendix() -> None:
    from coffea_anomaly.training.families.farina_cnn_ae import FarinaCNNAutoencoder

    model = FarinaCNNAutoencoder()
    convs = [(m.in_channels, m.out_channels, m.kernel_size) for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs == [(1, 128, (3, 3))] * 1 + [(128, 128, (3, 3))] * 4 + [(128, 1, (3, 3))]
    linears = [(m.in_features, m.out_features) for m in model.modules() if isinstance(m, torch.nn.Linear)]
    assert linears == [(12800, 32), (32, 6), (6, 32), (32, 12800)]
    x = torch.rand(2, 37, 37)
    t = model.target(x)
    assert t.shape == (2, 40, 40) and torch.equal(t[:, 1:38, 1:38], x) and float(t[:, 0].abs().sum()) == 0
    with torch.no_grad():
        out = model(x)
    assert out.shape == (2, 40, 40)
    torch.testing.assert_close(out.sum(dim=(1, 2)), torch.ones(2))


@pytest.mark.parametrize(("kind", "params"), [
    ("farina_dense_ae", {"npix": 12, "hidden": 16, "latent": 3}),
    ("farina_cnn_ae", {"npix": 11, "pad_to": 12, "channels": 4, "dense": 8, "latent": 3}),
])  # fmt: skip
def test_farina_autoencoders_train_and_export(kind: str, params: dict) -> None:
    npix = params["npix"]
    data = FitData(_blobs(256, npix, 1), _blobs(64, npix, 2))
    family, model, history = _train(kind, params, data, loop=LoopConfig(epochs=4, batch_size=32, learning_rate=1e-2))
    phase = history.phases[0]
    assert min(phase.val["mse"]) < phase.initial_val["mse"]
    assert phase.train["loss"][-1] < phase.train["loss"][0]
    _check_export(family, model, _blobs(20, npix, 3))


# -- QCD or What?, §2.2 ------------------------------------------------------------------


def test_cola_adds_the_jet_and_trainable_combinations_and_lola_the_mass() -> None:
    from coffea_anomaly.training.families.lola_ae import CoLa, LoLa, LoLaAutoencoder

    k = torch.as_tensor(_four_vectors(3, 1))
    cola = CoLa(40, 10)
    kt = cola(k)
    assert kt.shape == (3, 51, 4)
    torch.testing.assert_close(kt[:, 0], k.sum(dim=1))  # the jet
    torch.testing.assert_close(kt[:, 1:41], k)  # every constituent
    ext = LoLa(51, "mass")(kt)
    assert ext.shape == (3, 51, 5)
    m2 = kt[..., 0] ** 2 - (kt[..., 1:] ** 2).sum(-1)
    torch.testing.assert_close(ext[..., 4], torch.sqrt(m2.clamp_min(0) + 1e-6))
    assert LoLa(51, "scalars")(kt).shape == (3, 51, 5)
    model = LoLaAutoencoder()
    first = next(m for m in model.encoder if isinstance(m, torch.nn.Linear))
    assert first.in_features == 255  # 51 × (4 + 1), Fig. 3
    assert model(k).shape == (3, 40, 4)  # 40 four-vectors out (160 units)


@pytest.mark.parametrize("lola", ["mass", "scalars"])
def test_lola_ae_trains_and_exports(lola: str) -> None:
    params = {"n_constituents": 40, "combinations": 10, "hidden": [32, 16], "bottleneck": 6, "lola": lola}
    data = FitData(_four_vectors(256, 1), _four_vectors(64, 2))
    family, model, history = _train("lola_ae", params, data)
    assert float(model.scale) == pytest.approx(np.sqrt(np.mean(data.x_train.astype(np.float64) ** 2)), rel=1e-5)
    phase = history.phases[0]
    assert min(phase.val["mse"]) < phase.initial_val["mse"]
    _check_export(family, model, _four_vectors(20, 3))


# -- QCD or What?, §2.3 ------------------------------------------------------------------

AE_PARAMS = {"npix": 8, "bottleneck": 2, "channels": [2, 2], "kernel": 3, "dense": 8, "adversary": [32, 16]}


def _massive_sample(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """8×8 images whose second prong (intensity a, rare when large) sets the 'jet mass':
    a plain AE reconstructs the frequent light jets best, so its score grows with the mass."""
    rng = np.random.default_rng(seed)
    a = rng.exponential(0.4, size=n)
    img = np.zeros((n, 8, 8), np.float32)
    img[:, 3:5, 3:5] = 1.0
    col = np.full(n, 2)
    img[np.arange(n), 0, col] = a
    img[np.arange(n), 7, 7 - col] = a
    mass = 20.0 + 100.0 * a + rng.normal(0, 2.0, size=n)
    return img / img.sum(axis=(1, 2), keepdims=True), mass


def test_adversary_bins_are_equally_populated_with_overflow() -> None:
    from coffea_anomaly.training.families.adversarial_ae import AdversarialAutoencoder, mass_bin_edges

    mass = np.random.default_rng(0).exponential(50.0, size=10_000)
    edges = mass_bin_edges(mass, 10)
    params = {k: tuple(v) if isinstance(v, list) else v for k, v in AE_PARAMS.items() if k != "adversary"}
    model = AdversarialAutoencoder(mass_bins=10, **params)
    model.mass_edges.copy_(torch.as_tensor(edges, dtype=torch.float32))
    classes = model.mass_class(torch.as_tensor(mass, dtype=torch.float32)).numpy()
    counts = np.bincount(classes, minlength=12)
    assert counts[0] == counts[11] == 0 and len(counts) == 12
    assert np.all(np.abs(counts[1:11] - 1000) <= 2)
    assert model.mass_class(torch.tensor([-1.0, 1e9])).tolist() == [0, 11]
    assert model.adversary[-1].out_features == 12
    widths = [m.out_features for m in model.adversary if isinstance(m, torch.nn.Linear)]
    assert widths == [800, 400, 200, 100, 50, 25, 10, 12]


def test_adversarial_ae_logs_both_losses_and_exports_only_the_autoencoder() -> None:
    x, m = _massive_sample(256, 1)
    xv, mv = _massive_sample(64, 2)
    data = FitData(x, xv, aux_train={"mass": m}, aux_val={"mass": mv})
    family, model, history = _train("adversarial_ae", AE_PARAMS, data, {"lambda": 1e-3},
                                    LoopConfig(epochs=3, batch_size=32, learning_rate=3e-3))  # fmt: skip
    phase = history.phases[0]
    assert {"loss", "mse", "adversary", "adversary_ce"} <= set(phase.train) & set(phase.val)
    assert phase.train["mse"][-1] < phase.train["mse"][0]
    assert family.options({"lambda": 0.5}).lam == 0.5
    proto, _ = family.export(model, xv[:20])
    n_weights = sum(int(np.prod(t.dims)) for t in proto.graph.initializer)
    n_ae = sum(p.numel() for p in model.ae.parameters())
    assert n_weights < n_ae + 100  # the adversary (1.1M weights) is not in the graph
    _check_export(family, model, xv[:20])


def test_score_adversary_sees_the_batch_rank_of_the_log_mse() -> None:
    from coffea_anomaly.training.families.adversarial_ae import AdversarialAutoencoder

    x = torch.zeros(4, 2, 2)
    recon = x.clone()
    recon[:, 0, 0] = torch.tensor([1.0, 10.0, 100.0, 1000.0])  # MSE 0.25·(1, 1e2, 1e4, 1e6)
    params = {k: tuple(v) if isinstance(v, list) else v for k, v in AE_PARAMS.items() if k != "adversary"}
    model = AdversarialAutoencoder(adversary_input="score", adversary=(5,), **params)
    assert model.adversary[1].in_features == 1  # after the Flatten
    from coffea_anomaly.training.families.adversarial_ae import _batch_standardised_log_mse as z

    got = z(x, recon).numpy()
    want = np.array([-3.0, -1.0, 1.0, 3.0]) / np.sqrt(5.0)  # equally spaced logs, standardised
    np.testing.assert_allclose(got, want, rtol=1e-5)
    np.testing.assert_allclose(z(x, recon * 7.0).numpy(), want, rtol=1e-5)  # free of the scale
    assert z(x[:1], recon[:1]).tolist() == [0.0]


@pytest.mark.slow
@pytest.mark.parametrize(("adversary_input", "lam"), [("residual", 0.01), ("score", 0.1)])
def test_raising_lambda_lowers_the_mass_sculpting(adversary_input: str, lam: float) -> None:
    """Measured (JSD of the 5 % tail): residual 0.85 at λ = 0, 0.65 at λ = 0.01 (the
    adversary's cross entropy then at its uniform value ln 10); score 0.84 at λ = 0, 0.64 /
    0.65 / 0.65 at λ = 0.03 / 0.1 / 0.3 (no change at 1e-3 and 1e-2: the adversarial term is
    then too weak for this toy); 16 s per λ on one core."""
    x, m = _massive_sample(1000, 1)
    xv, mv = _massive_sample(200, 2)
    xt, mt = _massive_sample(2000, 3)
    data = FitData(x, xv, aux_train={"mass": m}, aux_val={"mass": mv})
    loop = LoopConfig(epochs=6, batch_size=64, learning_rate=1e-2, patience=20)
    jsd = {}
    for value in (0.0, lam):
        options = {"lambda": value, "adversary_input": adversary_input}
        family, model, _ = _train("adversarial_ae", AE_PARAMS, data, options, loop)
        jsd[value] = mass_sculpting_jsd(mt, family.predict(model, xt)["score"], 0.05)
    assert jsd[0.0] > 0.5  # the plain AE's 5 % tail is the heavy jets
    assert jsd[lam] < jsd[0.0] - 0.1, jsd
