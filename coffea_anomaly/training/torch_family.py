"""`TorchFamily`: the base of every family whose model is a ``torch.nn.Module``.

A torch family says four things and inherits the rest (the loop, prediction, export):

* :meth:`TorchFamily.network` — the module, built from ``model.params``;
* :meth:`TorchFamily.loss_terms` — per-item loss terms of a batch, by name (the training
  loss is the sum of their weighted means; every term is logged on its own);
* :meth:`TorchFamily.scores` — per-item named scores (the exported graph's outputs);
* :attr:`TorchFamily.outputs` — the score names and their card text.

Optional: :meth:`TorchFamily.prepare` (e.g. store a standardisation measured on the
training data), :meth:`TorchFamily.stopping` (early stopping on the validation loss by
default), :meth:`TorchFamily.phases` (one phase by default; e.g. AE pre-training then an
energy-based phase), :meth:`TorchFamily.train_step` (one optimiser step by default; e.g.
alternating adversarial updates) and :meth:`TorchFamily.validate`.

Importing this module needs torch (``pip install 'coffea-anomaly[train]'``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ..errors import ConfigError
from ._torch import require_torch
from .family import FitData, ModelFamily, ScoreOutput
from .history import FitResult
from .stopping import EarlyStopping, StoppingRule

torch = require_torch()

__all__ = ["Batch", "Phase", "TorchFamily"]


@dataclass
class Batch:
    """A minibatch: inputs, normalised weights and auxiliary per-item quantities."""

    x: Any
    w: Any
    aux: dict[str, Any]


@dataclass(frozen=True)
class Phase:
    """One stage of training, with its own optimiser and stopping rule.

    Attributes:
        name: shown in the progress bar and stored in the history.
        epochs: maximum epochs (None: ``LoopConfig.epochs``).
        learning_rate: optimiser learning rate (None: ``LoopConfig.learning_rate``).
        loss: per-item loss terms of a batch (None: the family's :meth:`loss_terms`).
    """

    name: str = "train"
    epochs: int | None = None
    learning_rate: float | None = None
    loss: Callable[[Any, Batch], dict[str, Any]] | None = None


class TorchFamily(ModelFamily):
    """A family trained by the shared loop (:mod:`coffea_anomaly.training.loop`)."""

    #: the exported scores, in output order, with their card text; ``{item}`` and ``{n}``
    #: are filled with "jet"/"event" and the number of input values
    outputs: ClassVar[tuple[ScoreOutput, ...]] = ()

    # -- what a family must say ------------------------------------------------------

    def network(self, params: dict[str, Any]) -> Any:
        """The ``torch.nn.Module`` for ``model.params`` (lists arrive as tuples)."""
        raise NotImplementedError

    def loss_terms(self, model: Any, batch: Batch) -> dict[str, Any]:
        """Per-item loss terms of ``batch`` (tensors of shape (batch,)), by name."""
        raise NotImplementedError

    def scores(self, model: Any, x: Any) -> dict[str, Any]:
        """Every output of :attr:`outputs` for ``x``, by name (scores of shape (batch,)), as exported."""
        raise NotImplementedError

    # -- optional hooks ---------------------------------------------------------------

    def prepare(self, model: Any, data: FitData, options: Any) -> None:
        """Set what the model measures on the training data before training (no-op)."""

    def phases(self, loop: Any, options: Any) -> list[Phase]:
        """The training phases, in order (one by default)."""
        return [Phase()]

    def stopping(self, phase: Phase, loop: Any, options: Any) -> StoppingRule:
        """The stopping rule of a phase: early stopping on the total validation loss."""
        return EarlyStopping(loop.patience, loop.min_delta, monitor="loss")

    def optimizer(self, model: Any, learning_rate: float, loop: Any, options: Any = None) -> Any:
        """The optimiser of a phase (``LoopConfig.optimizer``); ``options`` are the family's."""
        kinds = {"adam": torch.optim.Adam, "adadelta": torch.optim.Adadelta,
                 "sgd": torch.optim.SGD}  # fmt: skip
        return kinds[loop.optimizer](model.parameters(), lr=learning_rate)

    def train_step(self, model: Any, opt: Any, batch: Batch, loss: Callable[..., Any],
                   options: Any = None) -> dict[str, float]:  # fmt: skip
        """One optimiser step on ``batch``; returns the weighted mean of every term."""
        terms = _weighted_means(loss(model, batch), batch.w)
        total = sum(terms.values())
        opt.zero_grad(set_to_none=True)
        total.backward()
        opt.step()
        return {"loss": float(total.detach()), **{k: float(v.detach()) for k, v in terms.items()}}

    def validate(self, model: Any, x: Any, w: Any, aux: dict[str, Any], loss: Callable[..., Any],
                 batch_size: int) -> dict[str, float]:  # fmt: skip
        """Weighted mean of every loss term on the validation data (eval mode, no gradients)."""
        model.eval()
        sums: dict[str, float] = {}
        with torch.no_grad():
            for i in range(0, x.shape[0], batch_size):
                sl = slice(i, i + batch_size)
                b = Batch(x[sl], w[sl], {k: v[sl] for k, v in aux.items()})
                for k, v in loss(model, b).items():
                    sums[k] = sums.get(k, 0.0) + float((v * b.w).sum())
        total_w = float(w.sum())
        means = {k: s / total_w for k, s in sums.items()}
        return {"loss": sum(means.values()), **means}

    # -- the protocol, implemented once ----------------------------------------------

    def build(self, params: dict[str, Any], data: FitData, options: Any) -> Any:
        kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in (params or {}).items()}
        try:
            model = self.network(kwargs)
        except TypeError as err:
            raise ConfigError(f"invalid parameters for model {self.name!r}: {err}") from err
        shape = tuple(getattr(model, "item_shape", ()))
        if shape != data.item_shape:
            raise ConfigError(
                f"model {self.name!r} takes items of shape {shape} but the "
                f"representation gives {data.item_shape}"
            )
        self.prepare(model, data, options)
        return model

    def fit(self, model: Any, data: FitData, loop: Any, options: Any,
            progress: bool | None = None) -> FitResult:  # fmt: skip
        from .loop import run_phases

        return run_phases(self, model, data, loop, options, progress=progress)

    def score_outputs(self, model: Any, level: str) -> tuple[ScoreOutput, ...]:
        n = int(np.prod(getattr(model, "item_shape", (1,))))
        item = "jet" if level == "jet" else "event"
        return tuple(dataclasses.replace(o, meaning=o.meaning.format(item=item, n=n)) for o in self.outputs)

    def predict(self, model: Any, x: np.ndarray, batch_size: int = 4096) -> dict[str, np.ndarray]:
        """Every score output (not the other outputs) of ``x``, float64."""
        model.eval()
        parts: dict[str, list[np.ndarray]] = {o.name: [] for o in self.outputs if o.score}
        with torch.no_grad():
            for i in range(0, len(x), batch_size):
                xb = torch.from_numpy(np.ascontiguousarray(x[i : i + batch_size], dtype=np.float32))
                for k, v in self.scores(model, xb).items():
                    if k in parts:
                        parts[k].append(v.numpy().astype(np.float64))
        return {k: np.concatenate(v) if v else np.zeros(0) for k, v in parts.items()}

    def export(self, model: Any, examples: np.ndarray) -> tuple[Any, float]:
        from .export import to_onnx
        from .onnx_io import check_parity

        names = [o.name for o in self.outputs]
        proto = to_onnx(model, lambda m, x: tuple(self.scores(m, x)[k] for k in names), names)
        return proto, check_parity(proto, self.predict(model, examples), examples)

    def hyperparameters(self, model: Any) -> dict[str, Any]:
        fn = getattr(model, "hyperparameters", None)
        return dict(fn()) if fn is not None else {}


def _weighted_means(terms: dict[str, Any], w: Any) -> dict[str, Any]:
    norm = w.sum()
    return {k: (v * w).sum() / norm for k, v in terms.items()}
