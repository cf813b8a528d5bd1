"""Family ``pca``: the linear PCA autoencoder of Farina, Nakai, Shih (§II.B (i)), fitted in closed form.

The encoder projects the (flattened) input onto the first ``k`` principal components of
the training sample, the decoder embeds them back; the score is the per-item
reconstruction MSE ``mean((x − x̂)²)`` with ``x̂ = μ + (x − μ) Vᵀ V`` (``V``: the ``k``
leading eigenvectors of the training covariance, as rows). Deterministic, no torch: the
covariance is accumulated in float64 chunks and diagonalised with numpy, and the graph is
a plain ONNX graph (Reshape, Cast, Sub, MatMul, Mul, ReduceMean) computed in float64 so
that it matches the numpy prediction to rounding.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from ...errors import ConfigError, InputDataError
from ..family import FitData, ModelFamily, ScoreOutput, register_family
from ..history import FitResult, PhaseHistory
from ..onnx_io import INPUT_NAME, check_parity

__all__ = ["PCAFamily", "PCAModel", "fit_pca"]

#: rows of the training sample per covariance update (bounded memory: 4096 × 1600 float64 = 50 MB)
CHUNK = 4096
#: ONNX opset of the graph (the torch exporter's, :data:`coffea_anomaly.training.export.OPSET`)
OPSET = 17
#: leading explained-variance ratios kept in the card (the paper's scree plot, Fig. 5)
N_SCREE = 20


@dataclass
class PCAModel:
    """A fitted (or not yet fitted) PCA autoencoder.

    Attributes:
        k: latent dimension (number of principal components kept).
        item_shape: shape of one input item (e.g. ``(37, 37)``).
        mean: per-value training mean, shape ``(n,)`` (float64).
        components: the ``k`` leading eigenvectors of the training covariance as rows,
            shape ``(k, n)``, by decreasing eigenvalue.
        explained_variance_ratio: the leading eigenvalues over the total variance (scree).
    """

    k: int
    item_shape: tuple[int, ...]
    mean: np.ndarray = field(default_factory=lambda: np.zeros(0))
    components: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    explained_variance_ratio: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def n_values(self) -> int:
        return int(np.prod(self.item_shape))

    def reconstruct(self, x: np.ndarray) -> np.ndarray:
        """Reconstruction ``μ + (x − μ) Vᵀ V`` of flattened items ``(batch, n)``, float64."""
        d = np.asarray(x, dtype=np.float64).reshape(len(x), -1) - self.mean
        return self.mean + (d @ self.components.T) @ self.components

    def mse(self, x: np.ndarray) -> np.ndarray:
        """Per-item reconstruction MSE over the ``n`` values, float64."""
        flat = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
        return ((flat - self.reconstruct(flat)) ** 2).mean(axis=1)


def fit_pca(x: np.ndarray, k: int, weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean, leading ``k`` principal axes and explained-variance ratios of ``x`` (items × ...).

    The (weighted) covariance is accumulated chunk by chunk in float64 and diagonalised
    with :func:`numpy.linalg.eigh`; each axis' sign is fixed so that its largest
    component is positive (a deterministic result).

    Raises:
        InputDataError: no items, non-finite values, or weights that do not fit.
    """
    n_items = len(x)
    if n_items == 0:
        raise InputDataError("the training sample is empty")
    w = np.ones(n_items) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != (n_items,) or not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise InputDataError(f"weights must be {n_items} finite non-negative numbers, not all zero")
    n = int(np.prod(x.shape[1:]))
    total = w.sum()
    mean = np.zeros(n)
    for i in range(0, n_items, CHUNK):
        chunk = np.asarray(x[i : i + CHUNK], dtype=np.float64).reshape(-1, n)
        if not np.all(np.isfinite(chunk)):
            raise InputDataError("the training sample contains NaN or infinite values")
        mean += w[i : i + CHUNK] @ chunk
    mean /= total
    cov = np.zeros((n, n))
    for i in range(0, n_items, CHUNK):
        d = np.asarray(x[i : i + CHUNK], dtype=np.float64).reshape(-1, n) - mean
        cov += (d * w[i : i + CHUNK, None]).T @ d
    cov /= total
    values, vectors = np.linalg.eigh(cov)  # ascending
    order = np.argsort(values)[::-1]
    values, vectors = np.clip(values[order], 0.0, None), vectors[:, order]
    axes = vectors[:, :k].T.copy()
    signs = np.sign(axes[np.arange(k), np.argmax(np.abs(axes), axis=1)])
    axes *= np.where(signs == 0, 1.0, signs)[:, None]
    ratio = values / values.sum() if values.sum() > 0 else np.zeros_like(values)
    return mean, axes, ratio


def _graph(model: PCAModel) -> onnx.ModelProto:
    """``x -> score``: flatten, float64, subtract the mean, project, embed, residual², mean."""
    n = model.n_values
    inits = [
        numpy_helper.from_array(np.array([-1, n], dtype=np.int64), "flat_shape"),
        numpy_helper.from_array(model.mean.astype(np.float64), "mean"),
        numpy_helper.from_array(np.ascontiguousarray(model.components.T, dtype=np.float64), "encode"),
        numpy_helper.from_array(np.ascontiguousarray(model.components, dtype=np.float64), "decode"),
    ]
    nodes = [
        helper.make_node("Reshape", [INPUT_NAME, "flat_shape"], ["flat"]),
        helper.make_node("Cast", ["flat"], ["flat64"], to=TensorProto.DOUBLE),
        helper.make_node("Sub", ["flat64", "mean"], ["centred"]),
        helper.make_node("MatMul", ["centred", "encode"], ["latent"]),
        helper.make_node("MatMul", ["latent", "decode"], ["embedded"]),
        helper.make_node("Sub", ["centred", "embedded"], ["residual"]),
        helper.make_node("Mul", ["residual", "residual"], ["squared"]),
        helper.make_node("ReduceMean", ["squared"], ["mse64"], axes=[1], keepdims=0),
        helper.make_node("Cast", ["mse64"], ["score"], to=TensorProto.FLOAT),
    ]
    graph = helper.make_graph(
        nodes, "pca_autoencoder",
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, ["batch", *model.item_shape])],
        [helper.make_tensor_value_info("score", TensorProto.FLOAT, ["batch"])],
        inits,
    )  # fmt: skip
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="coffea-anomaly")  # fmt: skip
    proto.ir_version = 8
    return proto


@register_family
class PCAFamily(ModelFamily):
    """The PCA autoencoder; ``model.params``: ``{k: 6}`` (the paper's latent dimension)."""

    name = "pca"
    MEANING = ("reconstruction MSE per {item} of the projection on the {k} leading principal "
               "components, averaged over the input's {n} values; larger = more anomalous")  # fmt: skip

    def build(self, params: dict[str, Any], data: FitData, options: Any) -> PCAModel:
        params = dict(params or {})
        k = params.pop("k", 6)
        if params:
            raise ConfigError(f"invalid parameters for model 'pca': unknown {', '.join(sorted(params))}")
        n = int(np.prod(data.item_shape))
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= n:
            raise ConfigError(f"pca needs an integer k in 1..{n} (values per item), not {k!r}")
        return PCAModel(k=k, item_shape=tuple(data.item_shape))

    def fit(self, model: PCAModel, data: FitData, loop: Any, options: Any,
            progress: bool | None = None) -> FitResult:  # fmt: skip
        """Closed form: one "phase" with the training and validation MSE (``initial_val``:
        the MSE of the mean image, i.e. ``k = 0``)."""
        import time

        t0 = time.monotonic()
        model.mean, model.components, ratio = fit_pca(data.x_train, model.k, data.w_train)
        model.explained_variance_ratio = ratio[:N_SCREE]
        hist = PhaseHistory("closed form", best_epoch=1, epochs_run=1, stop_reason="closed_form")
        hist.train["loss"] = hist.train["mse"] = [_mean(model.mse(data.x_train), data.w_train)]
        hist.val["loss"] = hist.val["mse"] = [_mean(model.mse(data.x_val), data.w_val)]
        flat = np.asarray(data.x_val, dtype=np.float64).reshape(len(data.x_val), -1)
        base = _mean(((flat - model.mean) ** 2).mean(axis=1), data.w_val)
        hist.initial_val = {"loss": base, "mse": base}
        hist.wall_s = time.monotonic() - t0
        return FitResult([hist])

    def score_outputs(self, model: PCAModel, level: str) -> tuple[ScoreOutput, ...]:
        item = "jet" if level == "jet" else "event"
        return (ScoreOutput("score", self.MEANING.format(item=item, k=model.k, n=model.n_values)),)

    def predict(self, model: PCAModel, x: np.ndarray) -> dict[str, np.ndarray]:
        return {"score": np.concatenate([model.mse(x[i : i + CHUNK]) for i in range(0, len(x), CHUNK)])
                if len(x) else np.zeros(0)}  # fmt: skip

    def export(self, model: PCAModel, examples: np.ndarray) -> tuple[onnx.ModelProto, float]:
        from ...errors import ExportError

        if model.components.shape != (model.k, model.n_values):
            raise ExportError("refusing to export an unfitted PCA model")
        proto = _graph(model)
        try:
            onnx.checker.check_model(proto, full_check=True)
        except onnx.checker.ValidationError as err:
            raise ExportError(f"PCA ONNX graph is invalid: {err}") from err
        return proto, check_parity(proto, self.predict(model, examples), examples)

    def hyperparameters(self, model: PCAModel) -> dict[str, Any]:
        return {"k": model.k, "n_values": model.n_values,
                "explained_variance_ratio": [float(f"{v:.6g}") for v in model.explained_variance_ratio]}  # fmt: skip


def _mean(values: np.ndarray, w: np.ndarray | None) -> float:
    return float(np.average(values, weights=w))
