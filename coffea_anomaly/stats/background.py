"""Background shapes for m_jj, integrated over the bins of the fit range.

Two families:

* :class:`DijetFunction`, the standard dijet function
  ``dN/dm = p0 (1-x)^p1 / x^(p2 + p3 ln x + p4 ln^2 x)`` with ``x = m_jj / sqrt(s)`` and
  3, 4 or 5 parameters. Inside, it is fitted as ``ln f = sum_j theta_j phi_j(m)`` with
  centred and scaled features (``ln(1-x)`` and powers of ``ln x``); that is the same
  family, only better conditioned, and the paper's ``p`` are recovered exactly.
  Bin contents are Gauss–Legendre integrals of ``f`` over each bin.
* :class:`Bernstein`, a Bernstein polynomial of order n on the fit range normalised to
  [0, 1] (QUAK uses order 3). Its parameters are yields: ``c_j`` is the number of events
  carried by the basis polynomial ``B_{j,n}``, and bin contents are exact integrals.

Every model maps parameters ``theta`` of shape ``(..., k)`` to expected counts
``(..., n_bins)`` and gives the Jacobian and the second-derivative term the fitters need.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from math import comb

import numpy as np

from ..errors import ConfigError

__all__ = [
    "BackgroundModel",
    "Bernstein",
    "Curvature",
    "DijetFunction",
    "bernstein_basis",
    "bernstein_integral",
    "choose_nodes",
    "dijet_function",
    "make_background",
]


#: weights per bin -> sum_i w_i d2mu_i/dtheta dtheta
Curvature = Callable[[np.ndarray], np.ndarray]


def dijet_function(x: np.ndarray, p: tuple[float, ...] | np.ndarray) -> np.ndarray:
    """The dijet function ``p0 (1-x)^p1 / x^(p2 + p3 ln x + p4 ln^2 x)``.

    Args:
        x: ``m_jj / sqrt(s)``, in (0, 1).
        p: 3, 4 or 5 parameters ``(p0, p1, p2[, p3[, p4]])``.

    Example:
        >>> float(dijet_function(np.array(0.5), (2.0, 1.0, 1.0)))
        2.0
    """
    p = tuple(float(v) for v in p)
    if len(p) not in (3, 4, 5):
        raise ConfigError(f"the dijet function takes 3, 4 or 5 parameters, got {len(p)}")
    p0, p1, p2 = p[:3]
    p3 = p[3] if len(p) > 3 else 0.0
    p4 = p[4] if len(p) > 4 else 0.0
    x = np.asarray(x, dtype=float)
    lx = np.log(x)
    return p0 * (1.0 - x) ** p1 / x ** (p2 + p3 * lx + p4 * lx * lx)


def bernstein_basis(t: np.ndarray, order: int) -> np.ndarray:
    """Bernstein basis ``B_{j,n}(t) = C(n,j) t^j (1-t)^(n-j)``, shape ``t.shape + (n+1,)``.

    Example:
        >>> bernstein_basis(np.array([0.5]), 2).tolist()
        [[0.25, 0.5, 0.25]]
    """
    t = np.asarray(t, dtype=float)[..., None]
    j = np.arange(order + 1)
    coef = np.array([comb(order, int(i)) for i in j], dtype=float)
    return coef * t**j * (1.0 - t) ** (order - j)


def bernstein_integral(t: np.ndarray, order: int) -> np.ndarray:
    """``int_0^t B_{j,n}(u) du`` for every j, shape ``t.shape + (n+1,)``.

    Uses ``int_0^t B_{j,n} = (1/(n+1)) sum_{l=j+1}^{n+1} B_{l,n+1}(t)``.

    Example:
        >>> bernstein_integral(np.array([1.0]), 3).tolist()
        [[0.25, 0.25, 0.25, 0.25]]
    """
    up = bernstein_basis(t, order + 1)
    # reversed cumulative sum over l = j+1 .. n+1
    tail = np.cumsum(up[..., ::-1], axis=-1)[..., ::-1]
    return tail[..., 1:] / (order + 1)


@dataclass(frozen=True, eq=False)
class BackgroundModel:
    """Base class: a parametric shape integrated over fixed bin edges.

    Attributes:
        edges: bin edges of the fit range (GeV), strictly increasing.
    """

    edges: np.ndarray

    @property
    def name(self) -> str:
        """Short name, e.g. ``dijet4`` or ``bernstein3``."""
        raise NotImplementedError

    @property
    def n_params(self) -> int:
        """Number of free parameters."""
        raise NotImplementedError

    @property
    def param_names(self) -> tuple[str, ...]:
        """Names of the reported (physical) parameters."""
        raise NotImplementedError

    @property
    def n_bins(self) -> int:
        """Number of bins of the fit range."""
        return int(self.edges.size - 1)

    def expected(self, theta: np.ndarray) -> np.ndarray:
        """Expected counts per bin, ``(..., n_bins)``."""
        raise NotImplementedError

    def derivatives(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray, Curvature | None]:
        """Expected counts, their Jacobian ``(..., n_bins, k)`` and the curvature term.

        The third item is None when ``mu`` is linear in ``theta``; otherwise a function
        taking per-bin weights ``w`` to ``sum_i w_i d2mu_i/dtheta dtheta`` ``(..., k, k)``.
        """
        raise NotImplementedError

    def kernel_spec(self) -> tuple[np.ndarray, np.ndarray, bool]:
        """``(Phi, W, log_linear)`` with ``mu_i = sum_q W_iq h(Phi_iq . theta)``.

        ``Phi`` is ``(n_bins, Q, k)``, ``W`` is ``(n_bins, Q)``; ``h`` is ``exp`` when
        ``log_linear`` else the identity. The compiled minimiser only needs this.
        """
        raise NotImplementedError

    def start(self, counts: np.ndarray) -> np.ndarray:
        """Starting parameters for a fit to ``counts`` (``(n_bins,)``)."""
        raise NotImplementedError

    def physical(self, theta: np.ndarray, cov: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """Reported parameter values and their errors from internal ones (and covariance)."""
        raise NotImplementedError

    def nested(self, theta: np.ndarray, bigger: BackgroundModel) -> np.ndarray:
        """Parameters of ``bigger`` (same family, one size up) giving the same shape."""
        raise NotImplementedError


@dataclass(frozen=True, eq=False)
class DijetFunction(BackgroundModel):
    """The 3/4/5-parameter dijet function, bin-integrated by Gauss–Legendre quadrature.

    Attributes:
        edges: bin edges (GeV).
        sqrt_s: centre-of-mass energy (GeV); ``x = m_jj / sqrt_s``.
        k: number of parameters (3, 4 or 5).
        nodes: quadrature nodes per bin.
    """

    sqrt_s: float = 13000.0
    k: int = 4
    nodes: int = 3
    _scale: tuple[float, float, float, float] = field(init=False, repr=False, compare=False)
    _phi: np.ndarray = field(init=False, repr=False, compare=False)
    _w: np.ndarray = field(init=False, repr=False, compare=False)
    _outer: np.ndarray = field(init=False, repr=False, compare=False)
    _map: np.ndarray = field(init=False, repr=False, compare=False)
    _centres_phi: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.k not in (3, 4, 5):
            raise ConfigError(f"the dijet function takes 3, 4 or 5 parameters, got {self.k}")
        edges = np.asarray(self.edges, dtype=float)
        if edges[-1] >= self.sqrt_s or edges[0] <= 0:
            raise ConfigError(
                f"m_jj range {edges[0]:g}-{edges[-1]:g} GeV must lie inside (0, sqrt_s = {self.sqrt_s:g} GeV)"
            )
        object.__setattr__(self, "edges", edges)
        u, wu = np.polynomial.legendre.leggauss(self.nodes)
        half = 0.5 * np.diff(edges)
        mid = 0.5 * (edges[1:] + edges[:-1])
        m = mid[:, None] + half[:, None] * u[None, :]  # (nb, Q)
        # feature scaling over the fit range
        lo, hi = edges[0] / self.sqrt_s, edges[-1] / self.sqrt_s
        a = np.log1p(-np.array([lo, hi]))
        ll = np.log(np.array([lo, hi]))
        scale = (0.5 * (a[0] + a[1]), 0.5 * (a[0] - a[1]), 0.5 * (ll[0] + ll[1]), 0.5 * (ll[1] - ll[0]))
        object.__setattr__(self, "_scale", scale)
        phi = self._features(m)
        object.__setattr__(self, "_phi", phi)  # (nb, Q, k)
        object.__setattr__(self, "_w", half[:, None] * wu[None, :])  # (nb, Q)
        flat = phi.reshape(-1, self.k)
        object.__setattr__(self, "_outer", (flat[:, :, None] * flat[:, None, :]).reshape(-1, self.k**2))
        object.__setattr__(self, "_map", self._linear_map())
        object.__setattr__(self, "_centres_phi", self._features(mid))

    def _features(self, m: np.ndarray) -> np.ndarray:
        a0, a1, l0, l1 = self._scale
        x = np.asarray(m, dtype=float) / self.sqrt_s
        a = (np.log1p(-x) - a0) / a1
        t = (np.log(x) - l0) / l1
        cols = [np.ones_like(x), a, t]
        for power in range(2, self.k - 1):
            cols.append(t**power)
        return np.stack(cols, axis=-1)

    def _linear_map(self) -> np.ndarray:
        """Matrix taking theta to ``(ln p0, p1, p2, ..., p_{k-1})``."""
        a0, a1, l0, l1 = self._scale
        out = np.zeros((self.k, self.k))
        for j in range(self.k):
            theta = np.zeros(self.k)
            theta[j] = 1.0
            # ln f = th0 + th1 (A - a0)/a1 + sum_{p>=1} th_{p+1} ((L - l0)/l1)^p
            poly = np.polynomial.Polynomial([theta[0] - theta[1] * a0 / a1])
            t = np.polynomial.Polynomial([-l0 / l1, 1.0 / l1])
            for power in range(1, self.k - 1):
                poly = poly + theta[power + 1] * t**power
            c = np.zeros(self.k - 1)
            c[: len(poly.coef)] = poly.coef[: self.k - 1]
            out[0, j] = c[0]
            out[1, j] = theta[1] / a1
            # ln f = ln p0 + p1 A - p2 L - p3 L^2 - p4 L^3
            for power in range(1, self.k - 1):
                out[power + 1, j] = -c[power]
        return out

    @property
    def name(self) -> str:
        return f"dijet{self.k}"

    @property
    def n_params(self) -> int:
        return self.k

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(f"p{j}" for j in range(self.k))

    def _density_nodes(self, theta: np.ndarray) -> np.ndarray:
        eta = np.asarray(theta, dtype=float) @ self._phi.reshape(-1, self.k).T
        return np.exp(np.minimum(eta, 700.0)) * self._w.reshape(-1)  # (..., nb*Q)

    def expected(self, theta: np.ndarray) -> np.ndarray:
        g = self._density_nodes(theta)
        return g.reshape(*g.shape[:-1], self.n_bins, self.nodes).sum(axis=-1)

    def derivatives(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray, Curvature]:
        g = self._density_nodes(theta)
        g = g.reshape(*g.shape[:-1], self.n_bins, self.nodes)
        mu = g.sum(axis=-1)
        jac = g[..., 0, None] * self._phi[:, 0, :]
        for q in range(1, self.nodes):
            jac += g[..., q, None] * self._phi[:, q, :]

        def curvature(weights: np.ndarray) -> np.ndarray:
            flat = (g * np.asarray(weights)[..., None]).reshape(*g.shape[:-2], -1)
            return (flat @ self._outer).reshape(*flat.shape[:-1], self.k, self.k)

        return mu, jac, curvature

    def kernel_spec(self) -> tuple[np.ndarray, np.ndarray, bool]:
        return self._phi, self._w, True

    def start(self, counts: np.ndarray) -> np.ndarray:
        n = np.asarray(counts, dtype=float)
        width = np.diff(self.edges)
        use = n > 0
        if use.sum() < self.k:
            use = np.ones_like(use)
        y = np.log(np.maximum(n[use], 0.5) / width[use])
        w = np.sqrt(np.maximum(n[use], 0.5))
        phi = self._centres_phi[use]
        theta, *_ = np.linalg.lstsq(phi * w[:, None], y * w, rcond=None)
        # rescale so that the total matches the data exactly
        total = self.expected(theta).sum()
        theta[0] += np.log(max(n.sum(), 1.0) / total)
        return theta

    def physical(self, theta: np.ndarray, cov: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        q = self._map @ np.asarray(theta, dtype=float)
        values = q.copy()
        # a runaway candidate fit (log-normalisation > 709) reports p0 = inf, not an overflow warning
        with np.errstate(over="ignore"):
            values[0] = np.exp(q[0])
        if cov is None:
            return values, np.full(self.k, np.nan)
        cq = self._map @ cov @ self._map.T
        errors = np.sqrt(np.clip(np.diag(cq), 0.0, None))
        errors[0] = values[0] * errors[0]
        return values, errors

    def to_theta(self, p: tuple[float, ...] | np.ndarray) -> np.ndarray:
        """Internal parameters of the dijet function with paper parameters ``p``."""
        q = np.asarray(p, dtype=float).copy()
        q[0] = np.log(q[0])
        return np.linalg.solve(self._map, q)

    def nested(self, theta: np.ndarray, bigger: BackgroundModel) -> np.ndarray:
        if not isinstance(bigger, DijetFunction) or bigger.k != self.k + 1:
            raise ConfigError(f"{bigger.name} is not the next size of {self.name}")
        out = np.zeros(bigger.k)
        out[: self.k] = theta  # same scaling of features, extra power starts at 0
        return out


@dataclass(frozen=True, eq=False)
class Bernstein(BackgroundModel):
    """Bernstein polynomial of order ``order`` on the fit range mapped to [0, 1].

    ``mu_i = sum_j c_j (n+1) int_{bin i} B_{j,n}(t) dt``, so ``sum_j c_j`` is the integral
    over the fit range and each ``c_j`` is the yield carried by ``B_{j,n}``.
    """

    order: int = 3
    _design: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.order < 0:
            raise ConfigError(f"a Bernstein order must be >= 0, got {self.order}")
        edges = np.asarray(self.edges, dtype=float)
        object.__setattr__(self, "edges", edges)
        t = (edges - edges[0]) / (edges[-1] - edges[0])
        cum = bernstein_integral(t, self.order) * (self.order + 1)
        object.__setattr__(self, "_design", np.diff(cum, axis=0))  # (nb, n+1)

    @property
    def name(self) -> str:
        return f"bernstein{self.order}"

    @property
    def n_params(self) -> int:
        return self.order + 1

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(f"c{j}" for j in range(self.order + 1))

    @property
    def design(self) -> np.ndarray:
        """The ``(n_bins, n+1)`` matrix mapping coefficients to expected counts."""
        return self._design

    def expected(self, theta: np.ndarray) -> np.ndarray:
        return np.asarray(theta, dtype=float) @ self._design.T

    def derivatives(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray, None]:
        theta = np.asarray(theta, dtype=float)
        mu = theta @ self._design.T
        return mu, np.broadcast_to(self._design, (*theta.shape[:-1], *self._design.shape)), None

    def kernel_spec(self) -> tuple[np.ndarray, np.ndarray, bool]:
        return self._design[:, None, :], np.ones((self.n_bins, 1)), False

    def start(self, counts: np.ndarray) -> np.ndarray:
        from scipy.optimize import nnls

        n = np.asarray(counts, dtype=float)
        c, _ = nnls(self._design, n)
        floor = max(n.sum(), 1.0) * 1e-3 / (self.order + 1)
        return np.maximum(c, floor)

    def physical(self, theta: np.ndarray, cov: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        values = np.asarray(theta, dtype=float).copy()
        if cov is None:
            return values, np.full(values.size, np.nan)
        return values, np.sqrt(np.clip(np.diag(cov), 0.0, None))

    def nested(self, theta: np.ndarray, bigger: BackgroundModel) -> np.ndarray:
        if not isinstance(bigger, Bernstein) or bigger.order != self.order + 1:
            raise ConfigError(f"{bigger.name} is not the next size of {self.name}")
        # degree elevation of the density sum_j b_j B_{j,n}(t), with b_j = (n+1) c_j
        n = self.order
        b = np.asarray(theta, dtype=float) * (n + 1)
        out = np.zeros(n + 2)
        for j in range(n + 2):
            left = b[j - 1] * j / (n + 1) if j >= 1 else 0.0
            right = b[j] * (1 - j / (n + 1)) if j <= n else 0.0
            out[j] = left + right
        return out / (n + 2)


#: Gauss–Legendre error constants: relative error ~ C[n] * (change of ln f over a bin)^(2n)
_GL_ERROR = {2: 2.31e-4, 3: 4.96e-7, 4: 5.6e-10, 5: 4.0e-13}


def choose_nodes(counts: np.ndarray, edges: np.ndarray, sqrt_s: float, tolerance: float = 0.01) -> int:
    """Fewest Gauss–Legendre nodes (2-5) whose integration bias is negligible.

    The bias of an n-node rule on a bin where ``ln f`` changes by ``d`` is about
    ``C_n d^(2n)`` of the bin content; it is required to stay below ``tolerance`` times
    the statistical error of the fullest bin. ``d`` is taken from a rough fit.

    Example:
        >>> e = np.linspace(2000.0, 4000.0, 41)
        >>> choose_nodes(1e4 * np.exp(-np.linspace(0, 8, 40)), e, 13000.0)
        2
    """
    n = np.asarray(counts, dtype=float)
    rough = DijetFunction(np.asarray(edges, dtype=float), sqrt_s=sqrt_s, k=3, nodes=5)
    theta = rough.start(n)
    log_f = rough._features(np.asarray(edges, dtype=float)) @ theta
    change = float(np.max(np.abs(np.diff(log_f))))
    limit = tolerance / np.sqrt(max(float(n.max()), 1.0))
    for nodes in (2, 3, 4):
        if _GL_ERROR[nodes] * change ** (2 * nodes) < limit:
            return nodes
    return 5


def make_background(kind: str, size: int, edges: np.ndarray, sqrt_s: float, nodes: int = 3) -> BackgroundModel:
    """Build a background model by family name.

    Args:
        kind: ``"dijet"`` (size = number of parameters) or ``"bernstein"`` (size = order).
        size: see ``kind``.
        edges: bin edges of the fit range.
        sqrt_s: centre-of-mass energy in GeV (dijet only).
        nodes: Gauss–Legendre nodes per bin (dijet only).
    """
    if kind == "dijet":
        return DijetFunction(np.asarray(edges, dtype=float), sqrt_s=sqrt_s, k=size, nodes=nodes)
    if kind == "bernstein":
        return Bernstein(np.asarray(edges, dtype=float), order=size)
    raise ConfigError(f"unknown background family {kind!r}; choose 'dijet' or 'bernstein'")
