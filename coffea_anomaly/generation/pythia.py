"""A thin layer over Pythia 8 (``pythia8mc``): set-up, batches, particle properties.

Particles come out through ``Pythia.nextBatch``, which fills an awkward array in C++
(about twice as fast as reading ``pythia.event`` particle by particle in Python,
see docs/GENERATION.md). Pythia is imported only when a generator is made.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import awkward as ak
import numpy as np

from ..errors import ConfigError, MissingDependencyError

__all__ = ["PythiaGenerator", "pythia_seed"]

#: Pythia accepts seeds in [1, 900_000_000]
_MAX_SEED = 900_000_000

_QUIET = (
    "Print:quiet = on",
    "Next:numberCount = 0",
    "Next:numberShowEvent = 0",
    "Next:numberShowProcess = 0",
    "Next:numberShowInfo = 0",
)


def pythia_seed(stream_seed: int) -> int:
    """Map any non-negative integer onto Pythia's seed range [1, 900000000]."""
    return int(stream_seed) % _MAX_SEED + 1


@dataclass
class PythiaGenerator:
    """One initialised Pythia instance with a fixed seed.

    Args:
        settings: ``readString`` lines of the recipe.
        seed: Pythia's random seed (see :func:`pythia_seed`).

    Raises:
        MissingDependencyError: ``pythia8mc`` is not installed.
        ConfigError: Pythia rejects a setting or fails to initialise.
    """

    settings: Iterable[str]
    seed: int
    _pythia: Any = field(init=False, repr=False)
    _charge: dict[int, float] = field(init=False, repr=False, default_factory=dict)
    _visible: dict[int, bool] = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        try:
            import pythia8mc
        except ImportError as err:  # pragma: no cover - depends on the install
            raise MissingDependencyError("pythia8mc", "generate") from err
        pythia = pythia8mc.Pythia("", False)
        lines = [*_QUIET, *self.settings, "Random:setSeed = on", f"Random:seed = {int(self.seed)}"]
        for line in lines:
            if not pythia.readString(line):
                raise ConfigError(f"Pythia rejected the setting {line!r}")
        if not pythia.init():
            raise ConfigError("Pythia failed to initialise with this recipe (check its settings)")
        self._pythia = pythia

    def next_batch(self, n_events: int) -> ak.Array:
        """Generate ``n_events`` events (failed events are retried by Pythia).

        Returns:
            An awkward array with fields ``prt`` (the event record) and ``info``.
        """
        return self._pythia.nextBatch(int(n_events), "skip")

    def sigma_pb(self) -> tuple[float, float]:
        """Pythia's estimate of the generated cross section and its error, in pb."""
        info = self._pythia.infoPython()
        return float(info.sigmaGen()) * 1e9, float(info.sigmaErr()) * 1e9

    def particle_properties(self, pdg_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Charge (in units of e) and visibility of each pdgId, from Pythia's particle data."""
        ids = np.asarray(pdg_ids)
        unique, inverse = np.unique(ids, return_inverse=True)
        pdata = self._pythia.particleData
        for pid in unique.tolist():
            if pid not in self._charge:
                self._charge[pid] = float(pdata.charge(pid))
                self._visible[pid] = bool(pdata.isVisible(pid))
        charge = np.array([self._charge[p] for p in unique.tolist()], dtype=np.float64)
        visible = np.array([self._visible[p] for p in unique.tolist()], dtype=bool)
        return charge[inverse].reshape(ids.shape), visible[inverse].reshape(ids.shape)
