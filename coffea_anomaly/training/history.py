"""What a training did: loss terms per epoch and phase, the kept epoch, why it stopped.

Torch-free, so that families fitted without torch (closed-form PCA) report the same way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

__all__ = ["FitResult", "PhaseHistory"]


def _short(values: list[float]) -> list[float]:
    return [float(f"{v:.6g}") for v in values]


@dataclass
class PhaseHistory:
    """One training phase (e.g. AE pre-training, then an energy-based phase).

    Attributes:
        name: the phase's name.
        train: loss term -> mean training value per epoch (``loss`` is the total).
        val: loss term -> validation value after each epoch.
        initial_val: validation terms of the model before this phase.
        best_epoch: 1-based epoch whose weights were kept (0: none).
        epochs_run: epochs actually run.
        stop_reason: ``epochs``, ``early_stopping``, ``max_time``, ``non_finite_loss`` or a
            family's own reason (e.g. ``kl_peak``).
        wall_s: wall time of the phase in seconds.
    """

    name: str
    train: dict[str, list[float]] = field(default_factory=dict)
    val: dict[str, list[float]] = field(default_factory=dict)
    initial_val: dict[str, float] = field(default_factory=dict)
    best_epoch: int = 0
    epochs_run: int = 0
    stop_reason: str = "epochs"
    wall_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON for the model card (values rounded to 6 significant digits)."""
        return {
            "name": self.name,
            "epochs": self.epochs_run,
            "best_epoch": self.best_epoch,
            "stop_reason": self.stop_reason,
            "wall_s": round(self.wall_s, 1),
            "initial_val": {k: float(f"{v:.6g}") for k, v in self.initial_val.items()},
            "train": {k: _short(v) for k, v in self.train.items()},
            "val": {k: _short(v) for k, v in self.val.items()},
        }


@dataclass
class FitResult:
    """The history of a training: one :class:`PhaseHistory` per phase, the last one decides.

    The properties give the last phase's numbers under the names a single-phase training
    has always used (``train_loss``, ``val_loss``, ``best_epoch``, ...).
    """

    phases: list[PhaseHistory] = field(default_factory=list)

    @property
    def last(self) -> PhaseHistory:
        if not self.phases:
            raise ValueError("no training phase has run")
        return self.phases[-1]

    @property
    def train_loss(self) -> list[float]:
        """Total training loss per epoch of the last phase."""
        return self.last.train.get("loss", [])

    @property
    def val_loss(self) -> list[float]:
        """Total validation loss per epoch of the last phase."""
        return self.last.val.get("loss", [])

    @property
    def initial_val_loss(self) -> float:
        """Validation loss of the model before the last phase."""
        return self.last.initial_val.get("loss", math.nan)

    @property
    def best_epoch(self) -> int:
        return self.last.best_epoch

    @property
    def epochs_run(self) -> int:
        return sum(p.epochs_run for p in self.phases)

    @property
    def stop_reason(self) -> str:
        return self.last.stop_reason

    @property
    def wall_s(self) -> float:
        return sum(p.wall_s for p in self.phases)

    @property
    def best_val_loss(self) -> float:
        """Validation loss of the kept weights (last phase)."""
        if self.best_epoch < 1 or not self.val_loss:
            return math.nan
        return self.val_loss[self.best_epoch - 1]
