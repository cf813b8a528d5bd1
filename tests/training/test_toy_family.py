"""A model family defined only in this file trains, exports and scores end to end.

This is the plug-in contract: a new family is one module with one registration. Nothing
in the loop, the exporter, the card, ``evaluate``, ``score()`` or the CLI knows it. The
toy has two loss terms, its own training option and two named scores.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import yaml

torch = pytest.importorskip("torch")

from click.testing import CliRunner  # noqa: E402

from coffea_anomaly.cli.main import cli  # noqa: E402
from coffea_anomaly.inference.card import ModelCard, RepresentationSpec, TensorSpec  # noqa: E402
from coffea_anomaly.inference.onnx_model import OnnxModel  # noqa: E402
from coffea_anomaly.training.family import FitData, ScoreOutput, get_family, register_family  # noqa: E402
from coffea_anomaly.training.onnx_io import save_onnx  # noqa: E402
from coffea_anomaly.training.settings import LoopConfig  # noqa: E402
from coffea_anomaly.training.torch_family import Batch, Phase, TorchFamily  # noqa: E402


class LinearAE(torch.nn.Module):
    def __init__(self, n_features: int = 12, latent: int = 2) -> None:
        super().__init__()
        self.item_shape = (n_features,)
        self.register_buffer("mean", torch.zeros(n_features))
        self.register_buffer("std", torch.ones(n_features))
        self.enc = torch.nn.Linear(n_features, latent)
        self.dec = torch.nn.Linear(latent, n_features)

    def parts(self, x):
        t = (x - self.mean) / self.std
        z = self.enc(t)
        return t, z, self.dec(z)


@dataclass(frozen=True)
class ToyOptions:
    l2: float = 1e-3


@register_family
class ToyLinearFamily(TorchFamily):
    name = "toy_linear_ae"
    options_class = ToyOptions
    outputs = (
        ScoreOutput("mse", "reconstruction MSE per {item} over {n} standardised values"),
        ScoreOutput("latent_norm", "squared norm of the latent vector"),
    )

    def network(self, params):
        return LinearAE(**params)

    def prepare(self, model, data, options):
        x = torch.as_tensor(data.x_train)
        model.mean.copy_(x.mean(dim=0))
        model.std.copy_(x.std(dim=0).clamp_min(1e-6))

    def loss_terms(self, model, batch: Batch, l2: float = ToyOptions.l2):
        t, z, r = model.parts(batch.x)
        return {"mse": ((r - t) ** 2).mean(dim=1), "l2": l2 * (z**2).sum(dim=1)}

    def phases(self, loop, options):
        # the family's own option reaches its loss through the phase
        return [Phase("train", loss=lambda m, b: self.loss_terms(m, b, options.l2))]

    def scores(self, model, x):
        t, z, r = model.parts(x)
        return {"mse": ((r - t) ** 2).mean(dim=1), "latent_norm": (z**2).sum(dim=1)}


def _low_rank(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    mix = np.random.default_rng(0).normal(size=(2, 12))
    return (rng.normal(size=(n, 2)) @ mix + 0.05 * rng.normal(size=(n, 12)) + 3.0).astype(np.float32)


def test_toy_family_trains_exports_and_scores_without_any_other_edit(tmp_path: Path) -> None:
    family = get_family("toy_linear_ae")
    assert isinstance(family, ToyLinearFamily)
    options = family.options({"l2": 0.01})
    data = FitData(_low_rank(600, 1), _low_rank(200, 2), level="event")
    torch.manual_seed(0)
    model = family.build({"n_features": 12, "latent": 2}, data, options)
    history = family.fit(model, data, LoopConfig(epochs=10, batch_size=32, learning_rate=0.01), options, progress=False)
    phase = history.phases[0]
    assert set(phase.train) == set(phase.val) == {"loss", "mse", "l2"}  # each term logged
    assert phase.val["loss"][-1] == pytest.approx(phase.val["mse"][-1] + phase.val["l2"][-1])
    assert min(phase.val["mse"]) < 0.5 * phase.initial_val["mse"]

    x = _low_rank(50, 3)
    proto, parity = family.export(model, x)
    assert [o.name for o in proto.graph.output] == ["mse", "latent_norm"]
    assert parity <= 1e-5
    outputs = family.score_outputs(model, "event")
    card = ModelCard(
        name="toy", family="toy", paper="", level="event",
        representation=RepresentationSpec("dijet_features", {"features": ["mass"]}),
        inputs=(TensorSpec("x", (None, 12)),),
        outputs=tuple(TensorSpec(o.name, (None,), meaning=o.meaning) for o in outputs),
        score_names=tuple(o.name for o in outputs),
    )  # fmt: skip
    save_onnx(proto, tmp_path / "toy.onnx", card)
    got = OnnxModel(tmp_path / "toy.onnx").score_numpy(x)
    want = family.predict(model, x)
    for name in ("mse", "latent_norm"):
        np.testing.assert_allclose(got[name], want[name], rtol=1e-5)
    assert outputs[0].meaning == "reconstruction MSE per event over 12 standardised values"


QUAK = ["mass", "tau1", "tau21", "tau32", "tau43", "n_charged"]


@pytest.mark.slow
def test_toy_family_through_train_evaluate_and_score(tmp_path: Path, generated) -> None:
    from coffea_anomaly import score
    from coffea_anomaly.nanoaod import open_events
    from coffea_anomaly.training.data import sample_files

    sel = {"jet_pt_min": 300.0, "eta_max": 2.5}
    cfg = {
        "name": "toy_quak", "level": "event",
        "model": {"kind": "toy_linear_ae", "params": {"n_features": 12, "latent": 2},
                  "training": {"l2": 0.01}},
        "representation": {"kind": "dijet_features", "config": {"features": QUAK}},
        "train": {"path": str(generated["qcd_dijet"]), "label": "qcd", "selection": sel},
        "signals": [{"path": str(generated["wprime_xy"]), "label": "wprime", "selection": sel}],
        "loop": {"epochs": 3, "batch_size": 16},
    }  # fmt: skip
    (tmp_path / "toy.yaml").write_text(yaml.safe_dump(cfg))
    out = tmp_path / "toy_quak.onnx"
    result = CliRunner().invoke(cli, ["train", str(tmp_path / "toy.yaml"), "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    card = OnnxModel(out).card
    assert card.score_names == ("mse", "latent_norm")
    assert set(card.background_quantiles) == {"mse", "latent_norm"}
    assert {"auc_wprime_vs_qcd_mse", "auc_wprime_vs_qcd_latent_norm"} <= set(card.metrics)
    assert card.training["model"]["training"] == {"l2": 0.01}
    assert [p["name"] for p in card.training["phases"]] == ["train"]

    result = CliRunner().invoke(cli, ["evaluate", str(out), "--signal", str(generated["wprime_xy"]),
                                      "--background", str(generated["qcd_dijet"]), "--quiet"])  # fmt: skip
    assert result.exit_code == 0, result.output
    aucs = dict(re.findall(r"AUC \((\w+)\) = ([0-9.]+)", result.output))
    assert set(aucs) == {"mse", "latent_norm"}

    # score() in a user's processor: a record with one field per score
    path = next(iter(sample_files(generated["wprime_xy"])))
    events = open_events(path, mode="eager")
    import awkward as ak

    events = events[ak.num(events.FatJet) >= 2]
    s = score(events, out)
    assert ak.fields(s) == ["mse", "latent_norm"] and len(s) == len(events)
    assert bool(ak.all(s.latent_norm >= 0))
