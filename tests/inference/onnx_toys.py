"""Test helpers: tiny hand-built ONNX models whose scores are known analytically.

``mse_model(shape, const)`` computes, per item, the mean of ``(x - const)**2`` over all
non-batch axes; ``two_score_model`` returns that MSE and the mean of ``x`` as two outputs.
No torch is needed: the graphs are written with ``onnx.helper``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from coffea_anomaly.inference.card import ModelCard, RepresentationSpec, TensorSpec, write_card

OPSET = 18


def _graph_mse(shape: tuple[int, ...], const: np.ndarray, extra_mean: bool) -> onnx.ModelProto:
    axes = list(range(1, len(shape) + 1))
    nodes = [
        helper.make_node("Sub", ["x", "c"], ["d"]),
        helper.make_node("Mul", ["d", "d"], ["d2"]),
        helper.make_node("ReduceMean", ["d2", "axes"], ["score"], keepdims=0),
    ]
    outputs = [helper.make_tensor_value_info("score", TensorProto.FLOAT, ["N"])]
    if extra_mean:
        nodes.append(helper.make_node("ReduceMean", ["x", "axes"], ["mean"], keepdims=0))
        outputs.append(helper.make_tensor_value_info("mean", TensorProto.FLOAT, ["N"]))
    graph = helper.make_graph(
        nodes,
        "mse",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", *shape])],
        outputs,
        initializer=[
            numpy_helper.from_array(np.asarray(const, dtype=np.float32).reshape(shape), "c"),
            numpy_helper.from_array(np.asarray(axes, dtype=np.int64), "axes"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 9
    onnx.checker.check_model(model)
    return model


def make_card(
    shape: tuple[int, ...],
    *,
    name: str = "toy_mse",
    kind: str = "toy_pt_image",
    config: dict[str, Any] | None = None,
    level: str = "jet",
    two_scores: bool = False,
) -> ModelCard:
    outputs = [TensorSpec("score", (None,), meaning="MSE to a constant; larger = more anomalous")]
    if two_scores:
        outputs.append(TensorSpec("mean", (None,), meaning="mean input value"))
    return ModelCard(
        name=name,
        family="autoencoder",
        paper="",
        level=level,
        representation=RepresentationSpec(kind, config or {"npix": shape[-1]}),
        inputs=(TensorSpec("x", (None, *shape)),),
        outputs=tuple(outputs),
        score_names=tuple(o.name for o in outputs),
        training={"sample": "hand-made", "n_train": 0, "seed": 1, "epochs": 0},
        metrics={"auc": 0.5},
        background_quantiles={"score": {"q": [0.0, 0.5, 0.9, 0.99], "value": [0.0, 1.0, 2.0, 4.0]}},
        created="2025-01-01T00:00:00+00:00",
    )


def mse_model(
    shape: tuple[int, ...] = (2, 2),
    const: float | np.ndarray = 0.0,
    card: bool = True,
    two_scores: bool = False,
    **card_kw: Any,
) -> onnx.ModelProto:
    """The MSE-to-``const`` model for inputs ``(N, *shape)``, with its card unless ``card=False``."""
    c = np.broadcast_to(np.asarray(const, dtype=np.float32), shape)
    model = _graph_mse(shape, c, two_scores)
    if card:
        write_card(model, make_card(shape, two_scores=two_scores, **card_kw))
    return model


def toy_image(jets: Any, constituents: Any) -> np.ndarray:
    """Stand-in representation: a 2x2 "image" per jet, [0, 0] = sum of constituent pT and
    [0, 1] = number of constituents; a jet without constituents gives the zero image.

    Works on events x jets x constituents or jets x constituents (eager arrays).
    """
    import awkward as ak

    axis = constituents.ndim - 1
    total = ak.sum(constituents.pt, axis=axis)
    count = ak.num(constituents, axis=axis)
    if axis == 2:
        total, count = ak.flatten(total), ak.flatten(count)
    x = np.zeros((len(total), 2, 2), dtype=np.float32)
    x[:, 0, 0] = ak.to_numpy(total)
    x[:, 0, 1] = ak.to_numpy(count)
    return x


def toy_dijet(jets: Any, constituents: Any) -> np.ndarray:
    """Stand-in event representation: [[pT_1, pT_2], [0, 0]] from the two leading jets."""
    import awkward as ak

    pt = ak.to_numpy(ak.fill_none(ak.pad_none(jets.pt, 2, clip=True), 0.0)).astype(np.float32)
    x = np.zeros((len(pt), 2, 2), dtype=np.float32)
    x[:, 0, :] = pt
    return x
