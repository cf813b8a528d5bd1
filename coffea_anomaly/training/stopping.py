"""Stopping rules: after each epoch, is this the best model so far, and should training stop?

A rule sees the validation loss terms of every epoch. The loop keeps the weights of the
last epoch the rule called best and stops when the rule says so (or at the epoch limit).
Families choose their rule (:meth:`TorchFamily.stopping`); the default is early stopping
on the total validation loss. Torch-free.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Protocol

from ..errors import ConfigError

__all__ = ["Decision", "EarlyStopping", "StoppingRule"]


@dataclass(frozen=True)
class Decision:
    """What a stopping rule says after an epoch.

    Attributes:
        best: keep this epoch's weights (the best so far).
        stop: stop training now.
        reason: why it stops (``stop_reason`` in the history).
    """

    best: bool
    stop: bool = False
    reason: str = ""


class StoppingRule(Protocol):
    """After each epoch: :meth:`update` with the validation terms, get a :class:`Decision`."""

    def update(self, epoch: int, val: dict[str, float]) -> Decision: ...


@dataclass
class EarlyStopping:
    """Keep the epoch with the lowest ``monitor`` term; stop after ``patience`` without one.

    An epoch is better when it is below the best so far by more than ``min_delta``
    (relative).

    Example:
        >>> rule = EarlyStopping(patience=2)
        >>> [rule.update(e, {"loss": v}).best for e, v in enumerate([3.0, 2.0, 2.5], 1)]
        [True, True, False]
        >>> rule.update(4, {"loss": 2.4}).stop
        True
    """

    patience: int = 10
    min_delta: float = 1e-4
    monitor: str = "loss"
    _best: float = field(default=math.inf, init=False)
    _since: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if self.patience < 1 or self.min_delta < 0:
            raise ConfigError("early stopping needs patience >= 1 and min_delta >= 0")

    def update(self, epoch: int, val: dict[str, float]) -> Decision:
        value = val[self.monitor]
        if value < self._best * (1.0 - self.min_delta) or (self._best == math.inf and value < math.inf):
            self._best, self._since = value, 0
            return Decision(best=True)
        self._since += 1
        return Decision(best=False, stop=self._since >= self.patience, reason="early_stopping")
