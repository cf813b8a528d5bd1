"""Constituent 4-vector arrays: the leading N constituents as (E, px, py, pz), the LoLa input.

Following QCD-or-what §2.2: constituents sorted by pT, the leading N (40) kept, zero
padded, and optionally boosted into the rest frame of the fat jet so that no jet-level
kinematics remain.

Example:
    >>> x, mask = constituent_arrays(jets, constituents)          # doctest: +SKIP
    >>> x.shape, mask.shape                                       # doctest: +SKIP
    ((n_jets, 40, 4), (n_jets, 40))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import awkward as ak
import numpy as np

from ..errors import ConfigError
from ._dask import any_dask, map_eager
from ._flat import check_aligned, flat_constituents, flat_jets, select_columns
from .kinematics import boost_to_rest_frame, four_momenta, sum_by_jet

__all__ = ["ConstituentConfig", "constituent_arrays"]

Frame = Literal["lab", "constituents", "jet"]
_P4 = ("pt", "eta", "phi", "mass")


@dataclass(frozen=True)
class ConstituentConfig:
    """How constituents become a fixed-size 4-vector array.

    Attributes:
        n_constituents: N, the number of leading-pT constituents kept (zero padded).
        frame: ``"constituents"`` boosts into the rest frame of the sum of all stored
            constituents (the default; three-momentum then sums to zero exactly),
            ``"jet"`` into the rest frame of the jet 4-vector from ``jets`` (pt, eta,
            phi, mass as stored), ``"lab"`` does not boost. Jets whose frame has
            mass² <= 0 (e.g. one massless constituent) are left unboosted.
    """

    n_constituents: int = 40
    frame: Frame = "constituents"

    def __post_init__(self) -> None:
        n = self.n_constituents
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ConfigError(f"n_constituents must be a positive integer, not {n!r}")
        if self.frame not in ("lab", "constituents", "jet"):
            raise ConfigError(f"frame must be 'lab', 'constituents' or 'jet', not {self.frame!r}")

    @property
    def shape(self) -> tuple[int, int]:
        """Shape of one jet's array: (N, 4)."""
        return (self.n_constituents, 4)


def constituent_arrays(
    jets: Any, constituents: Any, config: ConstituentConfig | None = None
) -> tuple[Any, Any]:
    """The leading-N constituents of each jet as (E, px, py, pz), with a validity mask.

    Args:
        jets: ``(n_jets,)`` or events × jets with ``pt, eta, phi, mass`` (used for
            ``frame="jet"``).
        constituents: aligned constituents with ``pt, eta, phi, mass``.
        config: the choices; default :class:`ConstituentConfig` (N = 40, rest frame).

    Returns:
        ``(x, mask)``: float32 ``(n_jets, N, 4)`` ordered by decreasing lab-frame pT,
        zero where ``mask`` (bool ``(n_jets, N)``) is False. Lazy dask-awkward arrays for
        dask input (same numbers after ``compute``).
    """
    config = config or ConstituentConfig()
    parts = (select_columns(constituents, _P4), select_columns(jets, _P4))
    if any_dask(*parts):
        out = map_eager(_arrays_record, *parts, label="constituent-arrays", config=config)
        return out["x"], out["mask"]
    return _arrays_eager(*parts, config=config)


def _arrays_record(constituents: ak.Array, jets: ak.Array, config: ConstituentConfig) -> ak.Array:
    x, mask = _arrays_eager(constituents, jets, config=config)
    return ak.zip({"x": x, "mask": mask}, depth_limit=1)


def _arrays_eager(
    constituents: ak.Array, jets: ak.Array, config: ConstituentConfig
) -> tuple[np.ndarray, np.ndarray]:
    flat = flat_constituents(constituents, _P4)
    jet = flat_jets(jets, _P4)
    check_aligned(jet, flat)
    cols = flat.columns
    p = four_momenta(cols["pt"], cols["eta"], cols["phi"], cols["mass"])
    jet_of = flat.jet_index()
    if config.frame != "lab":
        if config.frame == "jet":
            frames = four_momenta(jet["pt"], jet["eta"], jet["phi"], jet["mass"])
        else:
            frames = sum_by_jet(p, jet_of, flat.n_jets)
        p = boost_to_rest_frame(p, frames[jet_of])
    n_keep = config.n_constituents
    order = np.lexsort((-cols["pt"], jet_of))
    rank = np.arange(len(order), dtype=np.int64) - flat.offsets[jet_of[order]]
    keep = rank < n_keep
    rows = jet_of[order][keep]
    slots = rank[keep]
    x = np.zeros((flat.n_jets, n_keep, 4), dtype=np.float32)
    mask = np.zeros((flat.n_jets, n_keep), dtype=bool)
    x[rows, slots] = p[order[keep]]
    mask[rows, slots] = True
    return x, mask
