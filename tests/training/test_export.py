"""ONNX export: the graph outputs the named scores, equals torch at 1e-5, carries its card."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest

torch = pytest.importorskip("torch")

from coffea_anomaly.errors import ExportError  # noqa: E402
from coffea_anomaly.inference.card import (  # noqa: E402
    ModelCard,
    RepresentationSpec,
    TensorSpec,
    read_card,
)
from coffea_anomaly.training.export import to_onnx as _to_onnx  # noqa: E402
from coffea_anomaly.training.families._reconstruction import reconstruction_mse  # noqa: E402
from coffea_anomaly.training.families.dense_ae import DenseAutoencoder  # noqa: E402
from coffea_anomaly.training.families.image_cnn_ae import ImageCNNAutoencoder  # noqa: E402
from coffea_anomaly.training.family import get_family  # noqa: E402
from coffea_anomaly.training.onnx_io import (  # noqa: E402
    PARITY_RTOL,
    check_parity,
    parity_error,
    save_onnx,
)


def to_onnx(model):
    """The single-score graph of a reconstruction model."""
    return _to_onnx(model, lambda m, x: (reconstruction_mse(m, x),), ["score"])


def torch_scores(model, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return reconstruction_mse(model, torch.from_numpy(x)).numpy()


def export_onnx(model, path, x, card=None):
    """What the pipeline does: the family's checked export, then the atomic save with the card."""
    family = get_family("dense_ae" if isinstance(model, DenseAutoencoder) else "image_cnn_ae")
    proto, _ = family.export(model, x)
    return save_onnx(proto, path, card)


def _images(n: int, npix: int, seed: int) -> np.ndarray:
    """Sparse non-negative images normalised to unit sum, like jet images."""
    rng = np.random.default_rng(seed)
    x = rng.random((n, npix, npix)) * (rng.random((n, npix, npix)) < 0.05)
    x[:, npix // 2, npix // 2] += 1.0
    return (x / x.sum(axis=(1, 2), keepdims=True)).astype(np.float32)


def _features(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.normal(loc=np.arange(12.0), scale=np.arange(1.0, 13.0), size=(n, 12)).astype(
        np.float32
    )


def _tiny_image_model() -> ImageCNNAutoencoder:
    torch.manual_seed(1)
    return ImageCNNAutoencoder(npix=40, bottleneck=8, channels=(4, 3)).eval()


def _tiny_dense_model() -> DenseAutoencoder:
    torch.manual_seed(2)
    model = DenseAutoencoder(n_features=12, hidden=(16, 8), latent=3)
    model.set_standardisation(_features(500, seed=5))
    return model.eval()


def _ort(proto: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    sess = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(["score"], {"x": x})[0]


CASES = {
    "image": (_tiny_image_model, lambda n: _images(n, 40, seed=n)),
    "dense": (_tiny_dense_model, lambda n: _features(n, seed=n)),
}


@pytest.mark.parametrize("kind", sorted(CASES))
@pytest.mark.parametrize("batch", [1, 3, 17])
def test_onnx_score_equals_torch_score(kind: str, batch: int) -> None:
    make_model, make_x = CASES[kind]
    model = make_model()
    proto = to_onnx(model)
    x = make_x(batch)
    got = _ort(proto, x)
    want = torch_scores(model, x)
    assert got.shape == (batch,)
    np.testing.assert_allclose(got, want, rtol=PARITY_RTOL, atol=0)
    assert check_parity(proto, {"score": want}, x) <= PARITY_RTOL


def test_graph_declares_x_and_score_with_a_dynamic_batch() -> None:
    proto = to_onnx(_tiny_dense_model())
    (inp,), (out,) = proto.graph.input, proto.graph.output
    assert (inp.name, out.name) == ("x", "score")
    dims = inp.type.tensor_type.shape.dim
    assert dims[0].dim_param and [d.dim_value for d in dims[1:]] == [12]
    assert out.type.tensor_type.shape.dim[0].dim_param


def _card(item_shape: tuple[int, ...]) -> ModelCard:
    return ModelCard(
        name="toy_dense",
        family="autoencoder",
        paper="",
        level="event",
        representation=RepresentationSpec("dijet_features", {"features": "quak12"}),
        inputs=(TensorSpec("x", (None, *item_shape)),),
        outputs=(TensorSpec("score", (None,), meaning="reconstruction MSE per event"),),
        score_names=("score",),
        training={"sample": "toy", "n_train": 500, "seed": 2},
        metrics={"auc_toy": 0.75},
        background_quantiles={"score": {"q": [0.5, 0.9], "value": [0.2, 0.8]}},
    )


def test_export_writes_a_readable_card_and_the_same_scores(tmp_path) -> None:
    model = _tiny_dense_model()
    x = _features(20, seed=9)
    card = _card((12,))
    path = export_onnx(model, tmp_path / "toy.onnx", x, card=card) and tmp_path / "toy.onnx"
    assert read_card(path) == card
    assert not (tmp_path / "toy.onnx.part").exists()
    np.testing.assert_allclose(_ort(onnx.load(str(path)), x), torch_scores(model, x), rtol=PARITY_RTOL)


def test_export_refuses_nan_weights(tmp_path) -> None:
    model = _tiny_dense_model()
    with torch.no_grad():
        model.decoder[0].weight[0, 0] = float("nan")
    with pytest.raises(ExportError, match=r"non-finite values in decoder\.0\.weight"):
        export_onnx(model, tmp_path / "bad.onnx", _features(4, seed=1))
    assert not (tmp_path / "bad.onnx").exists()


def test_export_refuses_nan_scores(tmp_path) -> None:
    x = _features(4, seed=1)
    x[2, 3] = np.nan
    with pytest.raises(ExportError, match="not finite on its inputs"):
        export_onnx(_tiny_dense_model(), tmp_path / "bad.onnx", x)


def test_parity_check_catches_a_graph_that_differs_from_torch() -> None:
    model = _tiny_dense_model()
    proto = to_onnx(model)
    with torch.no_grad():
        model.std.mul_(1.001)  # torch changes after export: the graph is stale
    x = _features(8, seed=3)
    with pytest.raises(ExportError, match="differ"):
        check_parity(proto, {"score": torch_scores(model, x)}, x)
    with pytest.raises(ExportError, match="output 'kl'"):
        check_parity(proto, {"kl": torch_scores(model, x)}, x)  # a score the graph lacks


def test_parity_error_is_relative_with_the_median_score_as_floor() -> None:
    want = np.array([1e-7, 1e-5, 2e-5, 4e-5])  # median 1.5e-5
    # above the median: plain relative difference
    assert parity_error(want * [1, 1, 1, 1 + 2e-6], want) == pytest.approx(2e-6)
    # far below the median: an absolute 1.5e-12 counts as 1e-7 of the median, not 1.5e-5
    assert parity_error(want + [1.5e-12, 0, 0, 0], want) == pytest.approx(1e-7)
    assert parity_error(want + [1.5e-12, 0, 0, 0], want, floor=0.0) == pytest.approx(1.5e-5)

