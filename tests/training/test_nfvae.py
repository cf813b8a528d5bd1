"""QUAK's flow VAE: MADE masks, MAF log-determinants against a numerical Jacobian, distinct
flow weights, training on a shape it can learn, ONNX parity; and the QUAK bundle: one graph,
one output per prior, each matching its prior's own loss."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

torch = pytest.importorskip("torch")

from coffea_anomaly.errors import ConfigError  # noqa: E402
from coffea_anomaly.training.families.nfvae import MADE, NFVAE, MAFLayer  # noqa: E402
from coffea_anomaly.training.family import FitData, get_family  # noqa: E402
from coffea_anomaly.training.onnx_io import run_graph  # noqa: E402
from coffea_anomaly.training.settings import LoopConfig  # noqa: E402

NFVAE_FAMILY = get_family("nfvae")


def _numerical_jacobian(f, z: torch.Tensor, h: float = 1e-6) -> torch.Tensor:
    """Central differences in float64: column j = (f(z + h e_j) - f(z - h e_j)) / 2h."""
    cols = []
    for j in range(z.shape[0]):
        e = torch.zeros_like(z)
        e[j] = h
        cols.append((f(z + e) - f(z - e)) / (2 * h))
    return torch.stack(cols, dim=1)


@torch.no_grad()
def test_made_output_i_depends_only_on_earlier_inputs() -> None:
    torch.manual_seed(0)
    made = MADE(4, (16, 16)).double()
    z = torch.randn(4, dtype=torch.float64)
    for out in (0, 1):  # shift, raw log-scale
        jac = _numerical_jacobian(lambda v: made(v[None])[out][0], z)
        # d out_i / d z_j = 0 for j >= i: strictly lower triangular
        assert torch.all(torch.triu(jac).abs() < 1e-9), jac
    # and it does depend on earlier inputs (the masks do not cut everything)
    assert torch.tril(jac, -1).abs().sum() > 1e-6


@pytest.mark.parametrize("reverse", [False, True])
@torch.no_grad()
def test_maf_layer_log_det_matches_numerical_jacobian(reverse: bool) -> None:
    torch.manual_seed(1)
    layer = MAFLayer(4, (16, 16), reverse=reverse).double()
    # non-trivial weights: the default init gives log-scales near zero
    with torch.no_grad():
        for p in layer.parameters():
            p.mul_(5.0)
    for _ in range(3):
        z = torch.randn(4, dtype=torch.float64)
        jac = _numerical_jacobian(lambda v: layer(v[None])[0][0], z)
        _, logdet = layer(z[None])
        sign, want = torch.linalg.slogdet(jac)
        assert float(sign) != 0
        assert float(logdet[0]) == pytest.approx(float(want), abs=1e-6)
        assert abs(float(want)) > 0.05  # the check is not trivially 0 = 0


@torch.no_grad()
def test_flow_stack_log_det_matches_numerical_jacobian() -> None:
    torch.manual_seed(2)
    model = NFVAE(n_features=6, hidden=(8,), latent=3, flows=3, made_hidden=(12,)).double()
    with torch.no_grad():
        for layer in model.flows:
            for p in layer.parameters():
                p.mul_(2.0)
    z = torch.randn(3, dtype=torch.float64)
    jac = _numerical_jacobian(lambda v: model.flow(v[None])[0][0], z)
    _, logdet = model.flow(z[None])
    assert float(logdet[0]) == pytest.approx(float(torch.linalg.slogdet(jac)[1]), abs=1e-6)


def test_every_flow_layer_has_its_own_weights() -> None:
    model = NFVAE(flows=4)
    params = [list(layer.parameters()) for layer in model.flows]
    ptrs = [p.data_ptr() for layer in params for p in layer]
    assert len(ptrs) == len(set(ptrs))  # no tensor shared between (or within) layers
    ids = {id(layer.made) for layer in model.flows}
    assert len(ids) == 4
    # and they start different (independent initialisation), not copies of one another
    first = params[0][0].detach()
    assert all(not torch.equal(first, layer[0].detach()) for layer in params[1:])


def test_invalid_sizes_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="latent"):
        NFVAE(latent=1)
    with pytest.raises(ConfigError):
        MADE(1)


def _two_blobs(n: int, rng: np.random.Generator, shift: float) -> np.ndarray:
    """12 features that live on a 2-D curve (learnable by a latent-4 VAE) plus noise."""
    t = rng.normal(size=(n, 2))
    a = np.concatenate([t, np.sin(t), t**2, np.cos(t), t * 0.5, t[:, ::-1]], axis=1)
    return (a + 0.05 * rng.normal(size=a.shape) + shift).astype(np.float32)


def _fit(x: np.ndarray, seed: int = 3, epochs: int = 15):
    torch.manual_seed(seed)
    opts = NFVAE_FAMILY.options({"beta": 10.0})
    data = FitData(x_train=x[:-200], x_val=x[-200:], level="event")
    model = NFVAE_FAMILY.build({"n_features": 12, "hidden": [32, 16], "latent": 4, "flows": 2,
                                "made_hidden": [16]}, data, opts)  # fmt: skip
    loop = LoopConfig(epochs=epochs, batch_size=64, learning_rate=3e-3, patience=50, seed=seed)
    result = NFVAE_FAMILY.fit(model, data, loop, opts, progress=False)
    return model, result


def test_training_lowers_every_loss_and_separates_an_unlike_sample() -> None:
    rng = np.random.default_rng(0)
    x = _two_blobs(1200, rng, 0.0)
    model, result = _fit(x)
    phase = result.phases[0]
    # every named term of Eq. (3.3) is logged, training and validation
    assert {"recon", "kl", "logdet"} <= set(phase.train) and {"recon", "kl", "logdet"} <= set(phase.val)
    assert result.val_loss[-1] < 0.5 * result.initial_val_loss
    # the loss of points off the learned curve is larger than on it
    inside = NFVAE_FAMILY.predict(model, _two_blobs(300, rng, 0.0))["loss"]
    off = rng.normal(size=(300, 12)).astype(np.float32) * 1.5
    outside = NFVAE_FAMILY.predict(model, off)["loss"]
    assert np.median(outside) > 3 * np.median(inside)


def test_onnx_energy_matches_torch_to_1e_5() -> None:
    rng = np.random.default_rng(1)
    x = _two_blobs(600, rng, 0.0)
    model, _ = _fit(x, epochs=2)
    examples = np.concatenate([x[:40], rng.normal(size=(20, 12)).astype(np.float32) * 3])
    proto, worst = NFVAE_FAMILY.export(model, examples)
    assert worst <= 1e-5
    got = run_graph(proto, examples)["loss"]
    want = NFVAE_FAMILY.predict(model, examples)["loss"]
    np.testing.assert_allclose(got, want, rtol=1e-5)
    assert [o.name for o in proto.graph.output] == ["loss"]


# -- the bundle -------------------------------------------------------------------------


def _prior_config(tmp: Path, name: str, sample: Path, seed: int) -> Path:
    cfg = {
        "name": name, "level": "event", "family": "quak",
        "model": {"kind": "nfvae", "params": {"n_features": 6, "hidden": [16], "latent": 2, "flows": 2,
                                              "made_hidden": [8]}},  # fmt: skip
        "representation": {"kind": "dijet_features", "config": {"features": ["mass", "tau21", "tau32"]}},
        "train": {"path": str(sample), "selection": {"lead_pt_min": 1000.0}},
        "loop": {"epochs": 2, "batch_size": 32, "seed": seed, "test_fraction": 0.0, "patience": 5},
    }
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.mark.slow
def test_bundle_trains_each_prior_and_exports_one_graph(generated: dict[str, Path], tmp_path: Path) -> None:
    from click.testing import CliRunner

    from coffea_anomaly.cli.main import cli
    from coffea_anomaly.inference.onnx_model import OnnxModel
    from coffea_anomaly.training.bundle import load_bundle_config
    from coffea_anomaly.training.data import load_inputs
    from coffea_anomaly.training.pipeline import fit_from_config
    from coffea_anomaly.training.settings import load_training_config

    qcd, wp = generated["qcd_dijet"], generated["wprime_xy"]
    _prior_config(tmp_path, "p_bkg", qcd, 1)
    _prior_config(tmp_path, "p_sig", wp, 2)
    bundle = {
        "name": "toy_quak", "priors": {"background": "p_bkg", "wprime_2prong": "p_sig.yaml"},
        "test": {"path": str(qcd), "label": "qcd", "selection": {"lead_pt_min": 1000.0}},
        "signals": [{"path": str(wp), "label": "wp", "selection": {"lead_pt_min": 1000.0}}],
    }  # fmt: skip
    (tmp_path / "toy_quak.yaml").write_text(yaml.safe_dump(bundle))
    out = tmp_path / "toy_quak.onnx"
    res = CliRunner().invoke(cli, ["train", str(tmp_path / "toy_quak.yaml"), "--out", str(out), "--quiet"])
    assert res.exit_code == 0, res.output
    assert "2 priors (background, wprime_2prong)" in res.output

    model = OnnxModel(out)
    card = model.card
    assert card.score_names == ("background", "wprime_2prong")
    assert card.score_keys("quak") == {"quak.background": "background", "quak.wprime_2prong": "wprime_2prong"}
    assert card.training["priors"]["wprime_2prong"]["sample"] == str(wp)
    assert {"auc_wp_vs_qcd_background", "auc_wp_vs_qcd_wprime_2prong"} <= set(card.metrics)
    assert set(card.background_quantiles) == {"background", "wprime_2prong"}

    # each output equals its prior trained alone with the same config (same seed: same model)
    from coffea_anomaly.inference.card import load_onnx

    cfg = load_bundle_config(tmp_path / "toy_quak.yaml")
    prior = fit_from_config(load_training_config(cfg.priors["wprime_2prong"]), progress=False)
    x = prior.data.bkg.x
    want = prior.family.predict(prior.model, x)["loss"]
    got = run_graph(load_onnx(out), x)
    np.testing.assert_allclose(got["wprime_2prong"], want, rtol=1e-5)
    assert not np.allclose(got["background"], got["wprime_2prong"])

    # evaluate --quak: one envelope ROC per QUAK space, plot and JSON
    ev = tmp_path / "eval"
    res = CliRunner().invoke(cli, ["evaluate", str(out), "--signal", str(wp), "--background", str(qcd), "--quiet",
                                   "--quak", "background", "--quak", "background,wprime_2prong", "--out", str(ev)])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "QUAK 1-D (background): AUC =" in res.output and "QUAK 2-D (background, wprime_2prong)" in res.output
    spaces = json.loads((ev / "quak_roc.json").read_text())["spaces"]
    assert [s["space"] for s in spaces] == [["background"], ["background", "wprime_2prong"]]
    assert (ev / "quak_roc.png").stat().st_size > 0


def test_bundle_refuses_bad_prior_names_and_priors_with_different_inputs(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from coffea_anomaly.selection import DijetSelection
    from coffea_anomaly.training.bundle import _check_compatible, load_bundle_config
    from coffea_anomaly.training.settings import RepresentationChoice

    (tmp_path / "b.yaml").write_text(yaml.safe_dump({
        "name": "b", "priors": {"bad-name": "x"}, "test": {"path": "t"}}))  # fmt: skip
    with pytest.raises(ConfigError, match="identifiers|prior config"):
        load_bundle_config(tmp_path / "b.yaml")

    def fitted(features, lead_pt_min=1200.0):
        cfg = SimpleNamespace(level="event", train=SimpleNamespace(selection=DijetSelection(lead_pt_min=lead_pt_min)))
        return SimpleNamespace(cfg=cfg, rep=RepresentationChoice("dijet_features", {"features": features}))

    _check_compatible({"a": fitted(["mass"]), "b": fitted(["mass"])})
    with pytest.raises(ConfigError, match="representation"):
        _check_compatible({"a": fitted(["mass"]), "b": fitted(["mass", "tau21"])})
    with pytest.raises(ConfigError, match="selection"):
        _check_compatible({"a": fitted(["mass"]), "b": fitted(["mass"], 1000.0)})


def test_every_shipped_training_config_loads() -> None:
    from coffea_anomaly.resources import config_path
    from coffea_anomaly.training.bundle import is_bundle_config, load_bundle_config
    from coffea_anomaly.training.settings import load_training_config

    folder = config_path("training")
    names = sorted(p.name for p in folder.glob("*.yaml"))
    assert "quak.yaml" in names
    for name in names:
        path = folder / name
        if is_bundle_config(path):
            bundle = load_bundle_config(path)
            assert len(bundle.priors) >= 3
            for prior in bundle.priors.values():
                assert load_training_config(prior).model.kind == "nfvae"
        else:
            assert load_training_config(path).name


@pytest.mark.slow
def test_shipped_quak_scores_dijet_events_through_score(generated: dict[str, Path]) -> None:
    """models/quak.onnx through coffea_anomaly.score on freshly generated dijet events: one
    field per prior (at least 3), finite for every scored event; the QCD background prior
    gives QCD a lower loss than the W' it never saw, and the two-prong prior (trained on a
    W' of other masses) the W' a lower loss than QCD (a tiny sample: only the signs)."""
    import awkward as ak
    from coffea.nanoevents import NanoEventsFactory

    from coffea_anomaly import score
    from coffea_anomaly.inference.onnx_model import OnnxModel
    from coffea_anomaly.selection import select_dijets
    from coffea_anomaly.representations import fatjet_constituents
    from coffea_anomaly.training.data import sample_files

    model = OnnxModel("quak")
    assert len(model.card.score_names) >= 3
    assert model.card.score_names[0] == "background"
    medians: dict[str, dict[str, float]] = {}
    for process in ("qcd_dijet", "wprime_xy"):
        files = sample_files(generated[process])
        losses: dict[str, list[np.ndarray]] = {"background": [], "wprime_2prong": []}
        for f in files:
            events = NanoEventsFactory.from_root({f: "Events"}, mode="eager").events()
            jets, cons, keep, _ = select_dijets(events.FatJet, fatjet_constituents(events), model.card.trained_selection)
            out = score(jets, model, constituents=cons)
            assert set(ak.fields(out)) == set(model.card.score_names)  # one model: its score names
            for prior, got in losses.items():
                loss = ak.to_numpy(ak.drop_none(out[prior]))
                assert np.all(np.isfinite(loss))
                got.append(loss)
        medians[process] = {prior: float(np.median(np.concatenate(got))) for prior, got in losses.items()}
    assert medians["wprime_xy"]["background"] > medians["qcd_dijet"]["background"]
    assert medians["wprime_xy"]["wprime_2prong"] < medians["qcd_dijet"]["wprime_2prong"]


def test_columns_restrict_what_the_model_sees_and_export_as_a_gather() -> None:
    rng = np.random.default_rng(5)
    x = _two_blobs(600, rng, 0.0)
    torch.manual_seed(2)
    opts = NFVAE_FAMILY.options({})
    data = FitData(x_train=x[:-200], x_val=x[-200:], level="event")
    cols = [2, 3, 4, 5, 8, 9]
    model = NFVAE_FAMILY.build({"n_features": 12, "hidden": [16, 8], "latent": 2, "flows": 2, "made_hidden": [8],
                                "columns": cols}, data, opts)  # fmt: skip
    NFVAE_FAMILY.fit(model, data, LoopConfig(epochs=2, batch_size=64, seed=2), opts, progress=False)
    assert model.hyperparameters()["columns"] == cols
    np.testing.assert_allclose(model.shift.numpy(), x[:-200][:, cols].mean(axis=0), rtol=1e-5, atol=1e-6)
    # a change in a column it does not see changes nothing; one it sees does
    other = x[:50].copy()
    other[:, [0, 1, 6, 7, 10, 11]] += 100.0
    base = NFVAE_FAMILY.predict(model, x[:50])["loss"]
    np.testing.assert_array_equal(NFVAE_FAMILY.predict(model, other)["loss"], base)
    seen = x[:50].copy()
    seen[:, 3] += 5.0
    assert np.all(NFVAE_FAMILY.predict(model, seen)["loss"] != base)
    proto, worst = NFVAE_FAMILY.export(model, x[:60])
    assert worst <= 1e-5 and proto.graph.input[0].type.tensor_type.shape.dim[1].dim_value == 12
    assert "Gather" in {n.op_type for n in proto.graph.node}
    with pytest.raises(ConfigError, match="distinct indices"):
        NFVAE(columns=[0, 0])
    with pytest.raises(ConfigError, match="distinct indices"):
        NFVAE(n_features=12, columns=[12])
