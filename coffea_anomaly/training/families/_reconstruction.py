"""What every reconstruction autoencoder shares: the per-item MSE as loss and as score.

A reconstruction family's network has ``target(x)`` (what it reconstructs: the input,
or its standardised form) and ``forward(x)`` (the reconstruction); the training loss is
the batch mean of the per-item MSE and the exported score is that same MSE, so the number
an analyst cuts on is the training loss.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ..family import ScoreOutput
from ..torch_family import Batch, TorchFamily

__all__ = ["MSE_MEANING", "ReconstructionFamily", "reconstruction_mse"]

MSE_MEANING = (
    "reconstruction MSE per {item}, averaged over the input's {n} values; "
    "larger = more anomalous"
)


def reconstruction_mse(model: Any, x: Any) -> Any:
    """Per-item mean squared difference between ``model(x)`` and ``model.target(x)``."""
    target = model.target(x) if hasattr(model, "target") else x
    err = (model(x) - target) ** 2
    return err.reshape(err.shape[0], -1).mean(dim=1)


class ReconstructionFamily(TorchFamily):
    """Loss = score = per-item reconstruction MSE."""

    outputs: ClassVar[tuple[ScoreOutput, ...]] = (ScoreOutput("score", MSE_MEANING),)

    def loss_terms(self, model: Any, batch: Batch) -> dict[str, Any]:
        return {"mse": reconstruction_mse(model, batch.x)}

    def scores(self, model: Any, x: Any) -> dict[str, Any]:
        return {"score": reconstruction_mse(model, x)}
