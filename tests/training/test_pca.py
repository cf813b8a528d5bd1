"""The closed-form PCA autoencoder of Farina et al.: numpy fit, plain ONNX graph, no torch."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from test_import_guard import no_torch  # noqa: F401  (the fixture)

from coffea_anomaly.errors import ConfigError
from coffea_anomaly.training.family import FitData, get_family
from coffea_anomaly.training.onnx_io import run_graph
from coffea_anomaly.training.settings import LoopConfig


def _images(n: int, seed: int) -> np.ndarray:
    """Low-rank 'images' (3 directions) plus noise, 6x6."""
    rng = np.random.default_rng(seed)
    basis = np.random.default_rng(0).normal(size=(3, 36))
    x = rng.normal(size=(n, 3)) * [3.0, 2.0, 1.0] @ basis + 0.1 * rng.normal(size=(n, 36)) + 1.0
    return x.reshape(n, 6, 6).astype(np.float32)


def _fit(k: int = 2):
    family = get_family("pca")
    data = FitData(_images(400, 1), _images(100, 2))
    model = family.build({"k": k}, data, family.options({}))
    history = family.fit(model, data, LoopConfig(), None)
    return family, model, data, history


def test_pca_score_is_the_numpy_svd_reconstruction_error() -> None:
    family, model, data, history = _fit(k=2)
    x = data.x_train.reshape(400, -1).astype(np.float64)
    mu = x.mean(axis=0)
    _, _, vt = np.linalg.svd(x - mu, full_matrices=False)
    v = vt[:2]
    x_test = _images(50, 3).reshape(50, -1).astype(np.float64)
    recon = mu + (x_test - mu) @ v.T @ v
    want = ((x_test - recon) ** 2).mean(axis=1)
    got = family.predict(model, x_test.reshape(50, 6, 6).astype(np.float32))["score"]
    np.testing.assert_allclose(got, want, rtol=1e-6)
    # the scree: three real directions explain almost everything
    assert model.explained_variance_ratio[:3].sum() > 0.95
    phase = history.phases[0]
    assert (phase.name, phase.best_epoch, phase.stop_reason) == ("closed form", 1, "closed_form")
    assert phase.val["loss"][0] < 0.5 * phase.initial_val["loss"]  # better than the mean image


def test_more_components_reconstruct_better() -> None:
    losses = [_fit(k)[3].phases[0].val["mse"][0] for k in (1, 2, 3)]
    assert losses[0] > losses[1] > losses[2]


def test_pca_exports_a_checked_plain_graph_with_a_dynamic_batch() -> None:
    family, model, _, _ = _fit()
    x = _images(20, 4)
    proto, parity = family.export(model, x)
    onnx.checker.check_model(proto, full_check=True)
    assert parity <= 1e-5
    assert {n.op_type for n in proto.graph.node} <= {"Reshape", "Cast", "Sub", "MatMul", "Mul", "ReduceMean"}
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    for n in (1, 7):
        np.testing.assert_allclose(run_graph(proto, x[:n])["score"], family.predict(model, x[:n])["score"],
                                   rtol=1e-5)  # fmt: skip
    assert family.hyperparameters(model)["k"] == 2
    assert "2 leading principal components" in family.score_outputs(model, "jet")[0].meaning


@pytest.mark.parametrize("k", [0, 37, 2.5, True])
def test_pca_refuses_impossible_k(k) -> None:
    family = get_family("pca")
    with pytest.raises(ConfigError, match="k in 1..36"):
        family.build({"k": k}, FitData(_images(10, 1), _images(5, 2)), None)


@pytest.mark.usefixtures("no_torch")
def test_pca_fits_and_exports_without_torch() -> None:
    import sys

    family = get_family("pca")
    _, model, _, _ = _fit()
    proto, parity = family.export(model, _images(10, 5))
    assert parity <= 1e-5
    assert sys.modules.get("torch") is None
