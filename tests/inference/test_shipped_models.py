"""Every ONNX model shipped in ``models/``: a valid graph with a dynamic batch axis and a card
whose declared scores the graph computes, finite, for batches of one and of three."""

from __future__ import annotations

import numpy as np
import onnx
import pytest

from coffea_anomaly.inference.onnx_model import OnnxModel
from coffea_anomaly.resources import model_path, shipped_models

#: the file names other tools look models up by (issues 9–12); none may go missing
REQUIRED = {"image_cnn_ae", "image_adversarial_ae", "farina_pca", "farina_dense_ae", "farina_cnn_ae", "lola_ae",
            "nae_qcd", "nae_top", "wnae_qcd", "vae_kl", "quak", "dijet_dense_ae"}  # fmt: skip


def test_the_models_other_tools_look_up_by_name_are_shipped() -> None:
    assert REQUIRED <= set(shipped_models())


@pytest.mark.parametrize("name", shipped_models())
def test_shipped_model_is_valid_batched_and_finite(name: str) -> None:
    proto = onnx.load(str(model_path(name)))
    onnx.checker.check_model(proto, full_check=True)
    assert all(i.type.tensor_type.shape.dim[0].dim_param for i in proto.graph.input), "batch axis is fixed"
    model = OnnxModel(str(model_path(name)))
    spec = model.card.input
    rng = np.random.default_rng(0)
    shape = tuple(d or 1 for d in spec.shape[1:])
    x = np.abs(rng.normal(size=(3, *shape))).astype(spec.dtype)
    if x.ndim == 3 and model.card.representation == "jet_image":
        x /= x.sum(axis=(1, 2), keepdims=True)  # unit-sum images, as the representation gives
    three = model.score_numpy(x)
    one = model.score_numpy(x[:1])
    assert set(three) == set(model.score_names)
    for key in model.score_names:
        assert three[key].shape[0] == 3 and np.all(np.isfinite(three[key])), key
        np.testing.assert_allclose(one[key], three[key][:1], rtol=1e-5, atol=1e-7)
