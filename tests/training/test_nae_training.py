"""The nae and wnae families: both phases, energy logging, collapse flag, resume, ONNX parity."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

torch = pytest.importorskip("torch")

from coffea_anomaly.training.families.nae import (  # noqa: E402
    CollapseStopping,
    NAEFamily,
    NAENetwork,
    WNAEFamily,
    load_checkpoint,
)
from coffea_anomaly.errors import ConfigError  # noqa: E402
from coffea_anomaly.training.family import FitData, get_family  # noqa: E402
from coffea_anomaly.training.settings import LoopConfig  # noqa: E402
from coffea_anomaly.training.torch_family import Batch  # noqa: E402

NPIX = 12
#: a CPU-seconds recipe: tiny chains, tiny buffer, two energy epochs of two steps
TINY = {"pretrain_epochs": 2, "pretrain_batch_size": 32, "epochs": 2, "batch_size": 16,
        "steps_per_epoch": 2, "z_steps": 3, "x_steps": 3, "buffer_size": 40, "val_negatives": 16}  # fmt: skip
PARAMS = {"npix": NPIX, "latent_dim": 3, "channels": 4, "dense": 16}


def _images(n: int, seed: int) -> np.ndarray:
    """Unit-sum blobs with one or two prongs, like small jet images."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:NPIX, :NPIX]
    out = np.zeros((n, NPIX, NPIX))
    for i in range(n):
        for _ in range(1 + int(rng.random() < 0.3)):
            cy, cx = rng.normal(NPIX / 2, 1.5, size=2)
            out[i] += rng.uniform(0.5, 1.0) * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 2.0)
    return (out / out.sum(axis=(1, 2), keepdims=True)).astype(np.float32)


@pytest.fixture(scope="module")
def data() -> FitData:
    return FitData(_images(160, 1), _images(40, 2))


def _fit(family, data: FitData, options: dict, seed: int = 3, precision: str = "float32"):
    opts = family.options(options)
    torch.manual_seed(seed)
    model = family.build(PARAMS, data, opts)
    loop = LoopConfig(epochs=5, batch_size=32, seed=seed, precision=precision)
    history = family.fit(model, data, loop, opts, progress=False)
    return model, history


def test_registered_with_the_paper_defaults() -> None:
    nae, wnae = get_family("nae"), get_family("wnae")
    assert isinstance(nae, NAEFamily)
    assert isinstance(wnae, WNAEFamily)
    o = nae.options({})
    assert (o.z_steps, o.z_step_size, o.z_noise, o.x_steps, o.x_step_size, o.x_noise) == (30, 100.0, 1e-2, 30, 50.0, 1e-4)
    assert (o.buffer_size, o.replay_prob, o.learning_rate, o.batch_size, o.l2) == (10000, 0.95, 1e-5, 128, 1e-8)
    assert o.loss == "nae"
    assert wnae.options({}).loss == "wasserstein"
    assert NAENetwork().latent_dim == 3


def test_encoder_output_lies_on_the_sphere() -> None:
    model = NAENetwork(**PARAMS).eval()
    z = model.encode(torch.from_numpy(_images(5, 0)))
    np.testing.assert_allclose(z.norm(dim=1).detach(), 1.0, atol=1e-6)


def test_two_phases_log_energies_and_resume_reproduces_the_run(data: FitData, tmp_path: Path) -> None:
    family = get_family("nae")
    ckpt = tmp_path / "nae.ckpt"
    # interrupted after 1 energy epoch, then resumed for the second
    _fit(family, data, {**TINY, "epochs": 1, "checkpoint": str(ckpt)})
    state = load_checkpoint(ckpt)
    assert state["epoch"] == 1
    assert state["finished"]
    assert state["energy_history"]["val"]["e_neg"]
    resumed, h_resumed = _fit(family, data, {**TINY, "checkpoint": str(ckpt)})
    straight, h_straight = _fit(family, data, dict(TINY))

    names = [p.name for p in h_straight.phases]
    assert names == ["pretrain", "nae"]
    energy = h_straight.phases[1]
    for key in ("e_pos", "e_neg", "nae", "energy_sq", "accept_z", "accept_x"):
        assert len(energy.train[key]) == 2
    for key in ("e_pos", "e_neg", "loss", "collapse", "neg_diversity"):
        assert len(energy.val[key]) == 2
    assert energy.best_epoch in (1, 2)
    assert energy.stop_reason == "epochs"
    # the resumed run is the uninterrupted one
    assert [p.name for p in h_resumed.phases] == names
    assert h_resumed.phases[1].val["e_neg"] == pytest.approx(energy.val["e_neg"], rel=1e-5)
    for (k, a), b in zip(resumed.state_dict().items(), straight.state_dict().values(), strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-8, err_msg=k)
    # a checkpoint of another configuration is refused, not reused
    with pytest.raises(Exception, match="another configuration"):
        _fit(family, data, {**TINY, "x_steps": 4, "checkpoint": str(ckpt)})


def test_collapse_is_flagged_and_stops_the_phase(data: FitData) -> None:
    # any negative energy above 1e-9 x the positive one counts as a runaway here
    _, history = _fit(get_family("nae"), data, {**TINY, "epochs": 5, "collapse_energy_ratio": 1e-9})
    energy = history.phases[-1]
    assert energy.stop_reason == "sampler_collapse"
    assert energy.val["collapse"] == [1.0, 1.0]
    assert energy.val["collapse_energy"] == [1.0, 1.0]
    assert energy.best_epoch == 0  # the pre-trained weights are kept


def test_collapse_stopping_keeps_the_loss_closest_to_zero() -> None:
    rule = CollapseStopping("zero", patience=2)
    seen = [rule.update(e, {"loss": v, "collapse": c}) for e, (v, c) in
            enumerate([(0.5, 0), (-0.1, 0), (0.01, 1), (0.2, 0), (0.0, 1), (0.0, 1)], 1)]  # fmt: skip
    assert [d.best for d in seen] == [True, True, False, False, False, False]
    assert seen[-1].stop
    assert seen[-1].reason == "sampler_collapse"
    assert not seen[-2].stop


def test_wasserstein_loss_reaches_the_network_through_the_cost_matrix(data: FitData) -> None:
    pytest.importorskip("ot")
    from coffea_anomaly.training.families._langevin import ReplayBuffer
    from coffea_anomaly.training.families.nae import _Sampler

    family = get_family("wnae")
    opts = family.options({**TINY, "gamma": 0.0, "l2": 0.0})
    torch.manual_seed(0)
    model = family.build(PARAMS, data, opts)
    sampler = _Sampler(ReplayBuffer(40, 3, 0.95), torch.Generator().manual_seed(1))
    x = torch.from_numpy(data.x_train[:16])
    terms = family.energy_terms(model, Batch(x, torch.ones(16), {}), opts, sampler, e0=1e-3)
    assert set(terms) == {"wasserstein", "e_pos", "e_neg"}
    terms["wasserstein"].backward()
    dec = [p.grad for n, p in model.named_parameters() if n.startswith("decoder")]
    assert all(g is not None for g in dec)
    assert sum(float(g.abs().sum()) for g in dec) > 0


def test_wnae_trains_both_phases(data: FitData) -> None:
    pytest.importorskip("ot")
    _, history = _fit(get_family("wnae"), data, dict(TINY))
    energy = history.phases[-1]
    assert energy.name == "wasserstein"
    assert {"wasserstein", "e_pos", "e_neg"} <= set(energy.train)
    assert all(v >= 0 for v in energy.val["loss"])


def test_exported_energy_matches_torch(data: FitData) -> None:
    family = get_family("nae")
    model, _ = _fit(family, data, {**TINY, "epochs": 1})
    x = np.concatenate([data.x_val, _images(8, 9) * 0.5])
    proto, parity = family.export(model, x)
    assert parity <= 1e-5
    assert [o.name for o in proto.graph.output] == ["score"]
    got = ort.InferenceSession(proto.SerializeToString()).run(None, {"x": x})[0]
    want = family.predict(model, x)["score"]
    np.testing.assert_allclose(got, want, rtol=1e-5)
    with torch.no_grad():  # the score is the energy: the per-image reconstruction MSE
        mse = ((model(torch.from_numpy(x)) - torch.from_numpy(x)) ** 2).mean(dim=(1, 2)).numpy()
    np.testing.assert_allclose(want, mse, rtol=1e-5)


def test_bfloat16_iterations_change_only_the_arithmetic(data: FitData, tmp_path: Path) -> None:
    """``loop.precision: bfloat16`` (the shared loop's option) reaches the energy phase."""
    family = get_family("nae")
    _fit(family, data, {**TINY, "epochs": 1, "checkpoint": str(tmp_path / "pre.ckpt")})
    # both energy phases start from the same pre-trained weights
    start = {**TINY, "pretrain_epochs": 0, "epochs": 1, "init_from": str(tmp_path / "pre.pretrained.ckpt")}
    _, h_full = _fit(family, data, start)
    half, h_half = _fit(family, data, start, precision="bfloat16")
    a, b = h_full.phases[-1], h_half.phases[-1]
    assert a.initial_val["e0"] == pytest.approx(b.initial_val["e0"], rel=1e-6)
    # ... and the half-precision iterations land close to, but not on, the float32 ones
    assert b.train["e_pos"] != a.train["e_pos"]
    assert b.train["e_pos"][0] == pytest.approx(a.train["e_pos"][0], rel=0.05)
    assert all(np.isfinite(v) for k in ("nae", "e_neg") for v in b.train[k])
    assert all(p.dtype == torch.float32 for p in half.parameters())
    _, parity = family.export(half, data.x_val)  # the exported graph is float32
    assert parity <= 1e-5


def test_options_are_checked() -> None:
    family = get_family("nae")
    with pytest.raises(Exception, match="loss must be one of"):
        family.options({"loss": "kl"})
    with pytest.raises(Exception, match="unknown option"):
        family.options({"sampler": "pcd"})
    assert dataclasses.replace(family.options({}), z_steps=5).z_steps == 5


def test_energy_curves_plot_from_the_card(data: FitData, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from coffea_anomaly.inference.card import ModelCard, RepresentationSpec, TensorSpec
    from coffea_anomaly.training.nae_report import plot_energy_curves
    from coffea_anomaly.training.onnx_io import save_onnx

    family = get_family("nae")
    model, history = _fit(family, data, dict(TINY))
    proto, _ = family.export(model, data.x_val)
    card = ModelCard(
        name="nae_tiny", family="autoencoder", paper="normalized_autoencoder_nae", level="jet",
        representation=RepresentationSpec("jet_image", {"npix": NPIX}),
        inputs=(TensorSpec("x", (None, NPIX, NPIX)),), outputs=(TensorSpec("score", (None,)),),
        score_names=("score",), training={"phases": [p.to_dict() for p in history.phases]},
    )  # fmt: skip
    save_onnx(proto, tmp_path / "nae_tiny.onnx", card)
    png = plot_energy_curves(tmp_path / "nae_tiny.onnx", tmp_path / "energies.png")
    assert png.stat().st_size > 10_000


def test_plain_ae_from_a_pretrained_checkpoint(data: FitData, tmp_path: Path) -> None:
    """A run with a checkpoint leaves the pre-trained AE beside it (``X.pretrained.ckpt``);
    ``init_from`` it with no training gives exactly the AE that pre-training alone gives."""
    from coffea_anomaly.training.families.nae import pretrained_path

    family = get_family("nae")
    ckpt = tmp_path / "nae.ckpt"
    _nae, _ = _fit(family, data, {**TINY, "epochs": 1, "checkpoint": str(ckpt)})
    copy = pretrained_path(ckpt)
    assert copy == tmp_path / "nae.pretrained.ckpt"
    after_epoch_1, pretrained = load_checkpoint(ckpt), load_checkpoint(copy)
    assert (after_epoch_1["epoch"], pretrained["epoch"]) == (1, 0)
    ae, history = _fit(family, data, {**TINY, "pretrain_epochs": 0, "epochs": 0, "init_from": str(copy)})
    assert [p.stop_reason for p in history.phases] == ["init_from"]
    pre_only, _ = _fit(family, data, {**TINY, "epochs": 0})
    for k, v in ae.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), pre_only.state_dict()[k].numpy())
    assert any(not np.array_equal(v.numpy(), after_epoch_1["model"][k].numpy())
               for k, v in ae.state_dict().items())  # fmt: skip


def test_init_from_a_checkpoint_of_another_network_is_one_config_error(data: FitData, tmp_path: Path) -> None:
    """``input_scale`` is no weight: a state dict would load into a network with another
    scale without complaint, so the checkpoint's network params are compared first."""
    family = get_family("nae")
    ckpt = tmp_path / "nae.ckpt"
    _fit(family, data, {**TINY, "epochs": 1, "checkpoint": str(ckpt)})
    options = family.options({**TINY, "pretrain_epochs": 0, "epochs": 0, "init_from": str(ckpt)})
    other = family.build({**PARAMS, "input_scale": 40.0}, data, options)
    with pytest.raises(ConfigError, match="holds a network with params"):
        family.fit(other, data, LoopConfig(epochs=5, batch_size=32, seed=3), options, progress=False)


def test_input_scale_scales_what_the_encoder_reads_and_exports_with_parity(data: FitData) -> None:
    """The encoder of ``input_scale: s`` reads s·x; the energy stays the MSE of x itself;
    the exported energy graph (scale included) matches torch."""
    from coffea_anomaly.training.families.nae import NAENetwork

    torch.manual_seed(0)
    scaled = NAENetwork(**PARAMS, input_scale=40.0).eval()
    plain = NAENetwork(**PARAMS).eval()
    plain.load_state_dict(scaled.state_dict())
    x = torch.from_numpy(data.x_val[:8])
    with torch.no_grad():
        torch.testing.assert_close(scaled.encode(x), plain.encode(40.0 * x))
        recon = scaled(x)
        torch.testing.assert_close(scaled.energy(x), ((recon - x) ** 2).mean(dim=(1, 2)))
    assert scaled.hyperparameters()["input_scale"] == 40.0
    family = get_family("nae")
    proto, err = family.export(scaled, data.x_val)
    assert err < 1e-5
    sess = ort.InferenceSession(proto.SerializeToString())
    onnx_energy = sess.run(None, {sess.get_inputs()[0].name: data.x_val[:8]})[0]
    np.testing.assert_allclose(onnx_energy, scaled.energy(x).detach().numpy(), rtol=1e-5, atol=1e-9)
    with pytest.raises(ConfigError, match="input_scale must be a positive number"):
        NAENetwork(**PARAMS, input_scale=0.0)


def test_latent_codes_rebuild_the_network_from_the_checkpoint(data: FitData, tmp_path: Path) -> None:
    """nae_diagnostics reads a checkpoint without its config: the same points and energies
    as the trained network, for the running and the kept weights; wrong images are refused."""
    from coffea_anomaly.training.nae_diagnostics import latent_codes

    ckpt = tmp_path / "nae.ckpt"
    model, _ = _fit(get_family("nae"), data, {**TINY, "epochs": 1, "checkpoint": str(ckpt)})
    x = data.x_val[:10]
    z, e = latent_codes(ckpt, x)
    model.eval()
    with torch.no_grad():
        np.testing.assert_allclose(z, model.encode(torch.as_tensor(x)).numpy(), rtol=1e-6)
        np.testing.assert_allclose(e, model.energy(torch.as_tensor(x)).numpy(), rtol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(latent_codes(ckpt, x, key="best_model")[0], axis=1), 1.0, rtol=1e-6)
    with pytest.raises(ValueError, match=r"reads \(12, 12\) images"):
        latent_codes(ckpt, np.zeros((2, 10, 10)))
    with pytest.raises(ConfigError, match="has no weights"):
        latent_codes(ckpt, x, key="optimizer_state")
    # a file of another kind is one line, whatever torch.load thinks of it
    for name, content in (("model.onnx", b"\x08\x07\x12\x04onnx"), ("empty.ckpt", b"")):
        (tmp_path / name).write_bytes(content)
        with pytest.raises(ConfigError, match=f"{name} is not an NAE checkpoint"):
            load_checkpoint(tmp_path / name)
