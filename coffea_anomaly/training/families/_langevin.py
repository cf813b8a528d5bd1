"""Langevin Markov chains and the replay buffer of the normalized autoencoder (NAE).

The sampler of Dillon et al., *A Normalized Autoencoder for LHC Triggers* (§2.1–2.2, Table 1):

* :func:`langevin` runs ``x_{t+1} = x_t − λ ∇E(x_t) + σ ε_t`` (Eq. 6 with
  ``log p = −E``), optionally with a Metropolis–Hastings acceptance step (MALA) for the
  target ``exp(−E/T)`` at the chain's temperature ``T = σ²/(2λ)`` (Eq. 7), optional noise
  annealing (σ decreasing linearly over the chain), per-step gradient clipping, a
  projection after every step (the latent hypersphere) and box bounds (pixel range);
* :class:`ReplayBuffer` stores the final points of latent chains and starts new chains from
  them with probability ``replay_prob`` (0.95), otherwise uniformly on the sphere;
* :func:`sphere_uniform` draws uniform points on S^(D−1).

Importing this module needs torch (``pip install 'coffea-anomaly[train]'``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .._torch import require_torch

torch = require_torch()

__all__ = ["ChainResult", "ReplayBuffer", "langevin", "project_sphere", "sphere_uniform"]


def project_sphere(z: Any) -> Any:
    """Rows of ``z`` scaled to unit length (points on the hypersphere)."""
    return z / z.norm(dim=1, keepdim=True).clamp_min(1e-12)


def sphere_uniform(n: int, dim: int, generator: Any = None) -> Any:
    """``n`` points uniformly distributed on S^(dim−1) (normalised Gaussian vectors)."""
    return project_sphere(torch.randn(n, dim, generator=generator))


@dataclass
class ChainResult:
    """The end of a batch of chains.

    Attributes:
        x: final states (detached), same shape as the start.
        energy: their energies (detached), shape (n,).
        acceptance: mean Metropolis acceptance rate (1.0 without the Metropolis step).
    """

    x: Any
    energy: Any
    acceptance: float


def _flat_sq(v: Any) -> Any:
    return (v.reshape(v.shape[0], -1) ** 2).sum(dim=1)


def _energy_and_grad(energy: Callable[[Any], Any], x: Any, clip: float | None) -> tuple[Any, Any]:
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        e = energy(x)
        (g,) = torch.autograd.grad(e.sum(), x)
    if clip is not None:
        g = g.clamp(-clip, clip)
    return e.detach(), g.detach()


def langevin(
    energy: Callable[[Any], Any],
    x0: Any,
    n_steps: int,
    step_size: float,
    noise: float,
    *,
    metropolis: bool = False,
    anneal_to: float | None = None,
    clip_grad: float | None = None,
    project: Callable[[Any], Any] | None = None,
    bounds: tuple[float, float] | None = None,
    generator: Any = None,
) -> ChainResult:
    """Run one Langevin chain per row of ``x0`` on the per-item ``energy``.

    The update is ``x' = x − λ ∇E(x) + σ ε`` (λ = ``step_size``, σ = ``noise``). With
    ``metropolis`` a proposal is accepted with probability
    ``min(1, exp(−(E(x') − E(x))/T) q(x|x') / q(x'|x))``, ``T = σ²/(2λ)`` and ``q`` the
    Gaussian proposal density: the chain then samples ``exp(−E/T)`` exactly (MALA; the
    projection and the bounds make it approximate). With ``anneal_to`` the noise falls
    linearly from σ to ``anneal_to·σ`` over the chain (the temperature with it).

    Args:
        energy: ``energy(x) -> (n,)``; differentiable in ``x``. Model parameters get no
            gradient from the chain.
        x0: starting points ``(n, ...)``.
        n_steps: steps (0 returns ``x0`` and its energy).
        step_size: λ.
        noise: σ.
        metropolis: accept or reject every step (per chain).
        anneal_to: final noise as a fraction of σ (None: constant noise).
        clip_grad: clip every component of ∇E to ``[−clip_grad, clip_grad]``.
        project: applied to every proposal (e.g. :func:`project_sphere`).
        bounds: clamp every proposal to ``[lo, hi]`` (e.g. the pixel range).
        generator: torch generator for the noise and the acceptance draws.
    """
    if n_steps < 0 or step_size <= 0 or noise < 0:
        raise ValueError("langevin needs n_steps >= 0, step_size > 0 and noise >= 0")
    x = x0.detach().clone()
    e, g = _energy_and_grad(energy, x, clip_grad)
    accepted, tried = 0.0, 0
    for t in range(n_steps):
        sigma = noise if anneal_to is None else noise * (1.0 - (1.0 - anneal_to) * t / max(n_steps - 1, 1))
        # drawn on the CPU (where the generator lives), whatever the device of x
        eps = torch.randn(x.shape, generator=generator, dtype=x.dtype).to(x.device)
        prop = x - step_size * g + sigma * eps
        if bounds is not None:
            prop = prop.clamp(bounds[0], bounds[1])
        if project is not None:
            prop = project(prop)
        e_new, g_new = _energy_and_grad(energy, prop, clip_grad)
        if metropolis and sigma > 0:
            temp = sigma**2 / (2.0 * step_size)
            # log q(x | x') - log q(x' | x) for the Gaussian proposals around the drifted points
            log_q_back = -_flat_sq(x - prop + step_size * g_new) / (2.0 * sigma**2)
            log_q_fwd = -_flat_sq(prop - x + step_size * g) / (2.0 * sigma**2)
            log_alpha = -(e_new - e) / temp + log_q_back - log_q_fwd
            u = torch.rand(x.shape[0], generator=generator, dtype=x.dtype).to(x.device)
            ok = torch.log(u.clamp_min(1e-30)) < log_alpha
            shape = (-1,) + (1,) * (x.dim() - 1)
            x = torch.where(ok.reshape(shape), prop, x)
            g = torch.where(ok.reshape(shape), g_new, g)
            e = torch.where(ok, e_new, e)
            accepted = accepted + ok.double().mean()  # no host sync per step; exact (k/n in float64)
            tried += 1
        else:
            x, e, g = prop, e_new, g_new
    return ChainResult(x.detach(), e.detach(), float(accepted) / tried if tried else 1.0)


class ReplayBuffer:
    """Final latent-chain points, reused as starting points of later chains.

    A new chain starts from a uniformly chosen stored point with probability
    ``replay_prob`` and from a fresh uniform point on the sphere otherwise (always fresh
    while the buffer is empty). The oldest points are overwritten once ``capacity`` is
    reached.

    Args:
        capacity: points kept (10 000 in the paper).
        dim: latent dimension.
        replay_prob: probability of starting from the buffer (0.95 in the paper).
    """

    def __init__(self, capacity: int, dim: int, replay_prob: float) -> None:
        if capacity < 1 or dim < 1 or not 0.0 <= replay_prob <= 1.0:
            raise ValueError("ReplayBuffer needs capacity >= 1, dim >= 1 and 0 <= replay_prob <= 1")
        self.capacity, self.dim, self.replay_prob = int(capacity), int(dim), float(replay_prob)
        self.data = torch.zeros(0, self.dim)
        self._next = 0

    def __len__(self) -> int:
        return int(self.data.shape[0])

    def push(self, z: Any) -> None:
        """Store the rows of ``z`` (detached, kept on the CPU), overwriting the oldest when full."""
        z = z.detach().reshape(-1, self.dim).to("cpu", torch.float32)
        for row in z.split(self.capacity):
            free = self.capacity - len(self)
            if free > 0:
                take = row[:free]
                self.data = torch.cat([self.data, take])
                row = row[free:]
            if len(row):
                idx = (self._next + torch.arange(len(row))) % self.capacity
                self.data[idx] = row
                self._next = int((self._next + len(row)) % self.capacity)

    def sample(self, n: int, generator: Any = None) -> tuple[Any, Any]:
        """``n`` starting points (on the CPU) and a boolean mask of those taken from the buffer."""
        fresh = sphere_uniform(n, self.dim, generator)
        if len(self) == 0:
            return fresh, torch.zeros(n, dtype=torch.bool)
        from_buffer = torch.rand(n, generator=generator) < self.replay_prob
        idx = torch.randint(len(self), (n,), generator=generator)
        z = torch.where(from_buffer[:, None], self.data[idx], fresh)
        return z, from_buffer

    def state_dict(self) -> dict[str, Any]:
        """Tensors and numbers only (``torch.load(weights_only=True)`` reads them back)."""
        return {"data": self.data.clone(), "next": self._next, "capacity": self.capacity,
                "dim": self.dim, "replay_prob": self.replay_prob}  # fmt: skip

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if int(state["dim"]) != self.dim:
            raise ValueError(f"replay buffer of dimension {state['dim']}, expected {self.dim}")
        self.data = state["data"].to(torch.float32)[: self.capacity].clone()
        self._next = int(state["next"]) % self.capacity
