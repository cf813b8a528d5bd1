"""Toy ONNX models on the *real* representations, for processor and runner tests.

The graph returns, per item, the mean of ``x**2`` over all non-batch axes (an MSE to zero),
so its score is a known function of the representation; built with onnx.helper, no torch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from coffea_anomaly.inference.card import ModelCard, RepresentationSpec, TensorSpec, write_card

QUANTILES = [0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 1.0]


def mean_square_model(
    path: Path,
    *,
    name: str,
    kind: str,
    config: dict[str, Any],
    shape: tuple[int, ...],
    level: str,
    quantile_values: list[float] | None = None,
    selection: dict[str, Any] | None = None,
) -> Path:
    """Write a model computing mean(x**2) per item, with a card, to ``path``."""
    axes = list(range(1, len(shape) + 1))
    graph = helper.make_graph(
        [
            helper.make_node("Mul", ["x", "x"], ["x2"]),
            helper.make_node("ReduceMean", ["x2", "axes"], ["score"], keepdims=0),
        ],
        name,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", *shape])],
        [helper.make_tensor_value_info("score", TensorProto.FLOAT, ["N"])],
        initializer=[numpy_helper.from_array(np.asarray(axes, dtype=np.int64), "axes")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    onnx.checker.check_model(model)
    quant = {}
    if quantile_values is not None:
        quant = {"score": {"q": QUANTILES, "value": quantile_values}}
    card = ModelCard(
        name=name,
        family="autoencoder",
        paper="test toy",
        level=level,
        representation=RepresentationSpec(kind, config),
        inputs=(TensorSpec("x", (None, *shape)),),
        outputs=(TensorSpec("score", (None,), meaning="mean of x**2"),),
        score_names=("score",),
        training={"sample": "none", "n_train": 0, "seed": 0, "epochs": 0},
        background_quantiles=quant,
        selection=selection or {},
    )
    write_card(model, card)
    onnx.save(model, path)
    return path


def image_toy(path: Path, selection: dict[str, Any] | None = None) -> Path:
    """Jet-level toy on 40x40 jet images (unit-sum images: score ~ 1e-4 .. 1e-2)."""
    return mean_square_model(
        path, name="toy_image", kind="jet_image", config={"npix": 40}, shape=(40, 40), level="jet",
        quantile_values=[0.0, 5e-5, 1e-4, 2e-4, 4e-4, 8e-4, 1.2e-3, 3e-3, 6e-2], selection=selection,
    )


def dijet_toy(path: Path, name: str = "toy_dijet", features: tuple[str, ...] = ("tau21", "tau32"),
              selection: dict[str, Any] | None = None) -> Path:  # fmt: skip
    """Event-level toy on dijet features (unit-free taus: score in [0, 1])."""
    return mean_square_model(
        path, name=name, kind="dijet_features", config={"features": list(features)},
        shape=(2 * len(features),), level="event",
        quantile_values=[0.0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.7, 1.0], selection=selection,
    )
