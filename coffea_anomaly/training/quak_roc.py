"""ROC curves of N-dimensional QUAK selections (Park et al., §4.2.2, Fig. 9).

A QUAK selection keeps events with a *high* background loss and a *low* loss under every
signal prior: ``L_bkg > Y and L_sig_1 < X_1 and ...``. As the paper does, the thresholds
are scanned on a grid in every dimension (here: background quantiles, so each step holds
the same share of the background), every grid point gives one (ε_B, ε_S), and the ROC is
the envelope: for each signal efficiency, the smallest background efficiency any grid
point reaches. With one dimension it is the ordinary ROC of the background loss.

All grid points are counted at once: each loss is cut into its quantile steps, the events
are histogrammed in the N-dimensional grid of steps, and cumulative sums (from above on
the background axis, from below on the signal axes) give every selection's count.

Example:
    >>> rng = np.random.default_rng(1)
    >>> bkg = {"bkg": rng.exponential(1.0, 4000), "sig": rng.exponential(1.0, 4000) + 1.0}
    >>> sig = {"bkg": rng.exponential(1.0, 4000) + 1.0, "sig": rng.exponential(1.0, 4000)}
    >>> one = quak_roc(sig, bkg, ["bkg"])
    >>> two = quak_roc(sig, bkg, ["bkg", "sig"])
    >>> bool(two.auc > one.auc + 0.05)
    True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError

__all__ = ["QuakROC", "default_steps", "quak_roc"]

#: grid steps per dimension: ~ 2e5 grid points at most
_STEPS = {1: 2000, 2: 300, 3: 60, 4: 22, 5: 12}


def default_steps(n_dims: int) -> int:
    """Grid steps per dimension for an ``n_dims``-dimensional QUAK space."""
    return _STEPS.get(n_dims, 8)


@dataclass(frozen=True)
class QuakROC:
    """The envelope ROC of a QUAK space.

    Attributes:
        space: the losses, background loss first.
        fpr, tpr: background and signal efficiencies of the envelope (increasing).
        auc: its area (trapezoids, from (0, 0) to (1, 1)).
    """

    space: tuple[str, ...]
    fpr: np.ndarray
    tpr: np.ndarray
    auc: float

    def rejection_at(self, signal_efficiency: float) -> float:
        """1/ε_B at the first envelope point with ε_S >= ``signal_efficiency`` (inf if ε_B = 0)."""
        i = int(np.searchsorted(self.tpr, signal_efficiency, side="left"))
        if i >= len(self.tpr):
            return float("nan")
        return float("inf") if self.fpr[i] == 0 else float(1.0 / self.fpr[i])


def _steps_index(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    return np.searchsorted(edges, values, side="right")


def quak_roc(
    signal: Mapping[str, np.ndarray],
    background: Mapping[str, np.ndarray],
    space: Sequence[str],
    *,
    signal_weights: np.ndarray | None = None,
    background_weights: np.ndarray | None = None,
    steps: int | None = None,
) -> QuakROC:
    """The envelope ROC of the QUAK selections in ``space``.

    Args:
        signal, background: loss name -> per-event losses of each sample.
        space: the losses spanning the space; the first is the background loss (kept
            high), the others are signal priors' losses (kept low).
        signal_weights, background_weights: per-event weights (None: 1).
        steps: thresholds per dimension (default :func:`default_steps`).

    Raises:
        ConfigError: an empty space, or a loss missing from a sample.
    """
    space = tuple(space)
    if not space:
        raise ConfigError("a QUAK space needs at least the background loss")
    for name in space:
        if name not in signal or name not in background:
            raise ConfigError(f"loss {name!r} is missing; known: {', '.join(background)}")
    n = steps or default_steps(len(space))
    q = np.linspace(0.0, 1.0, n + 1)[1:-1]
    counts = []
    for sample, w in ((signal, signal_weights), (background, background_weights)):
        idx = []
        for name in space:
            edges = np.unique(np.quantile(np.asarray(background[name], dtype=np.float64), q))
            idx.append(_steps_index(np.asarray(sample[name], dtype=np.float64), edges))
        shape = tuple(n for _ in space)
        flat = np.ravel_multi_index(tuple(np.minimum(i, n - 1) for i in idx), shape)
        ww = None if w is None else np.asarray(w, dtype=np.float64)
        h = np.bincount(flat, weights=ww, minlength=n ** len(space)).reshape(shape)
        # background loss kept high: cumulative from the top; signal losses kept low: from below
        h = np.flip(np.cumsum(np.flip(h, axis=0), axis=0), axis=0)
        for axis in range(1, len(space)):
            h = np.cumsum(h, axis=axis)
        total = float(np.sum(ww)) if ww is not None else float(len(flat))
        counts.append(h.ravel() / total)
    tpr, fpr = counts
    order = np.lexsort((fpr, -tpr))  # by decreasing tpr, then increasing fpr
    tpr, fpr = tpr[order], fpr[order]
    # envelope: running minimum of fpr from the highest tpr down
    best = np.minimum.accumulate(fpr)
    keep = np.r_[True, best[1:] < best[:-1]]
    env_t, env_f = tpr[keep][::-1], best[keep][::-1]
    env_t = np.r_[0.0, env_t, 1.0]
    env_f = np.r_[0.0, env_f, 1.0]
    auc = float(np.sum(np.diff(env_f) * (env_t[1:] + env_t[:-1]) / 2.0))
    return QuakROC(space, env_f, env_t, auc)
