"""Signal shapes: the fraction of a resonance of mass M that falls in each m_jj bin.

* :class:`GaussianSignal`: a Gaussian of width ``sigma = width * M`` (3 % by default, the
  QUAK choice, roughly the dijet mass resolution). Bin fractions are exact differences of
  the normal CDF.
* :class:`TemplateSignal`: a histogram template measured at one mass ``M_t`` and moved to
  any mass by scaling ``m -> m M / M_t`` (a resonance whose shape scales with its mass).
  Its CDF is piecewise linear, so bin fractions are exact for the histogram.

Both return ``(n_masses, n_bins)`` arrays; a row sums to the fraction of the signal inside
the fit range (less than 1 near its edges: the fitted yield is the total signal).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

from ..errors import ConfigError

__all__ = ["GaussianSignal", "SignalShape", "TemplateSignal"]


class SignalShape:
    """Interface of signal shapes."""

    def fractions(self, edges: np.ndarray, masses: np.ndarray) -> np.ndarray:
        """Fraction of the signal in each bin, ``(len(masses), len(edges) - 1)``."""
        raise NotImplementedError

    def width(self, mass: float) -> float:
        """A width (GeV) characterising the shape at ``mass`` (for plots and scan steps)."""
        raise NotImplementedError

    def describe(self) -> dict[str, object]:
        """JSON-ready description for the report."""
        raise NotImplementedError


@dataclass(frozen=True)
class GaussianSignal(SignalShape):
    """Gaussian resonance with relative width ``width`` (sigma / M).

    Example:
        >>> f = GaussianSignal(0.1).fractions(np.array([0.0, 100.0, 200.0]), np.array([100.0]))
        >>> [round(float(v), 4) for v in f[0]]
        [0.5, 0.5]
    """

    width_frac: float = 0.03

    def __post_init__(self) -> None:
        if not 0 < self.width_frac < 1:
            raise ConfigError(f"the relative signal width must be in (0, 1), got {self.width_frac}")

    def fractions(self, edges: np.ndarray, masses: np.ndarray) -> np.ndarray:
        edges = np.asarray(edges, dtype=float)
        m = np.atleast_1d(np.asarray(masses, dtype=float))[:, None]
        z = (edges[None, :] - m) / (self.width_frac * m)
        return np.diff(ndtr(z), axis=1)

    def width(self, mass: float) -> float:
        return self.width_frac * float(mass)

    def describe(self) -> dict[str, object]:
        return {"shape": "gaussian", "sigma_over_mass": self.width_frac}


@dataclass(frozen=True, eq=False)
class TemplateSignal(SignalShape):
    """A histogram template at mass ``mass``, scaled to other masses.

    Attributes:
        edges: template bin edges (GeV).
        counts: template contents (any normalisation, non-negative).
        mass: the resonance mass the template was made for (GeV).
    """

    edges: np.ndarray
    counts: np.ndarray
    mass: float

    def __post_init__(self) -> None:
        edges = np.asarray(self.edges, dtype=float)
        counts = np.asarray(self.counts, dtype=float)
        if edges.ndim != 1 or counts.shape != (edges.size - 1,) or np.any(np.diff(edges) <= 0):
            raise ConfigError("a signal template needs increasing edges and one count per bin")
        if np.any(counts < 0) or counts.sum() <= 0:
            raise ConfigError("a signal template needs non-negative counts with a positive sum")
        if self.mass <= 0:
            raise ConfigError(f"the template mass must be positive, got {self.mass}")
        object.__setattr__(self, "edges", edges)
        object.__setattr__(self, "counts", counts)

    def _cdf(self, m: np.ndarray) -> np.ndarray:
        cum = np.concatenate([[0.0], np.cumsum(self.counts)]) / self.counts.sum()
        return np.interp(m, self.edges, cum, left=0.0, right=1.0)

    def fractions(self, edges: np.ndarray, masses: np.ndarray) -> np.ndarray:
        edges = np.asarray(edges, dtype=float)
        m = np.atleast_1d(np.asarray(masses, dtype=float))[:, None]
        return np.diff(self._cdf(edges[None, :] * self.mass / m), axis=1)

    def width(self, mass: float) -> float:
        centres = 0.5 * (self.edges[1:] + self.edges[:-1])
        p = self.counts / self.counts.sum()
        mean = float(np.sum(p * centres))
        sd = float(np.sqrt(np.sum(p * (centres - mean) ** 2)))
        return sd * float(mass) / self.mass

    def describe(self) -> dict[str, object]:
        return {
            "shape": "template",
            "template_mass": self.mass,
            "edges": self.edges.tolist(),
            "counts": self.counts.tolist(),
        }
