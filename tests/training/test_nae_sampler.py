"""The NAE's sampler: Langevin chains on a known energy, the replay buffer, POT's distance."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from coffea_anomaly.training.families._langevin import (  # noqa: E402
    ReplayBuffer,
    langevin,
    project_sphere,
    sphere_uniform,
)

MU = torch.tensor([1.0, -2.0])
S = 0.5  # E(x) = |x − μ|² / (2 s²): at temperature T the chain samples N(μ, T s²)


def quadratic(x):
    return ((x - MU) ** 2).sum(dim=1) / (2 * S**2)


def _run(step: float, noise: float, metropolis: bool, n: int = 4000, steps: int = 200):
    gen = torch.Generator().manual_seed(11)
    out = langevin(quadratic, torch.zeros(n, 2), steps, step, noise, metropolis=metropolis, generator=gen)
    return out.x.double(), out.acceptance


@pytest.mark.parametrize("metropolis", [False, True])
def test_small_steps_sample_the_boltzmann_distribution(metropolis: bool) -> None:
    step = 0.01
    x, acc = _run(step, np.sqrt(2 * step), metropolis)  # σ² = 2λ: T = 1
    np.testing.assert_allclose(x.mean(dim=0), MU, atol=0.03)
    np.testing.assert_allclose(x.var(dim=0), [S**2, S**2], rtol=0.06)
    assert acc > 0.95 if metropolis else acc == 1.0


def test_metropolis_removes_the_discretisation_bias_of_large_steps() -> None:
    step = 0.1  # ULA's stationary variance is s²/(1 − λ/(2s²)) = 1.25 s² here
    x_ula, _ = _run(step, np.sqrt(2 * step), metropolis=False)
    x_mala, acc = _run(step, np.sqrt(2 * step), metropolis=True)
    np.testing.assert_allclose(x_ula.var(dim=0), [1.25 * S**2] * 2, rtol=0.06)
    np.testing.assert_allclose(x_mala.var(dim=0), [S**2] * 2, rtol=0.06)
    np.testing.assert_allclose(x_mala.mean(dim=0), MU, atol=0.03)
    assert 0.3 < acc < 1.0


def test_temperature_is_noise_squared_over_twice_the_step() -> None:
    step, noise = 0.02, 0.1  # T = σ²/(2λ) = 0.25: variance T s²
    x, _ = _run(step, noise, metropolis=True)
    np.testing.assert_allclose(x.var(dim=0), [0.25 * S**2] * 2, rtol=0.07)


def test_projection_keeps_chains_on_the_sphere_and_bounds_clamp() -> None:
    gen = torch.Generator().manual_seed(0)
    z = langevin(lambda z: (z[:, 0] - 1) ** 2, sphere_uniform(64, 3, gen), 20, 0.1, 0.05,
                 project=project_sphere, metropolis=True, generator=gen)  # fmt: skip
    np.testing.assert_allclose(z.x.norm(dim=1), 1.0, atol=1e-5)
    assert float(z.x[:, 0].mean()) > 0.5  # drawn towards the energy minimum (1, 0, 0)
    b = langevin(lambda x: -x.sum(dim=1), torch.zeros(8, 4), 5, 1.0, 0.0, bounds=(0.0, 0.3))
    assert float(b.x.max()) == pytest.approx(0.3)


def test_replay_buffer_mixing_probability() -> None:
    buf = ReplayBuffer(capacity=100, dim=3, replay_prob=0.95)
    gen = torch.Generator().manual_seed(5)
    z, from_buffer = buf.sample(50, gen)
    assert not bool(from_buffer.any())  # empty buffer: every start is fresh
    np.testing.assert_allclose(z.norm(dim=1), 1.0, atol=1e-6)
    marker = torch.tensor([[0.0, 0.0, 1.0]]).repeat(100, 1)
    buf.push(marker)
    z, from_buffer = buf.sample(40000, gen)
    frac = float(from_buffer.float().mean())
    assert abs(frac - 0.95) < 4 * np.sqrt(0.95 * 0.05 / 40000)
    assert bool((z[from_buffer] == marker[0]).all())
    fresh = z[~from_buffer]
    np.testing.assert_allclose(fresh.norm(dim=1), 1.0, atol=1e-6)
    assert float(fresh[:, 2].mean()) == pytest.approx(0.0, abs=0.05)  # uniform on the sphere


def test_replay_buffer_overwrites_the_oldest_points_and_round_trips() -> None:
    buf = ReplayBuffer(capacity=4, dim=2, replay_prob=1.0)
    buf.push(torch.arange(6.0).reshape(3, 2))
    buf.push(torch.arange(6.0, 12.0).reshape(3, 2))
    assert len(buf) == 4
    assert sorted(buf.data[:, 0].tolist()) == [4.0, 6.0, 8.0, 10.0]  # 0 and 2 were the oldest
    copy = ReplayBuffer(capacity=4, dim=2, replay_prob=1.0)
    copy.load_state_dict(buf.state_dict())
    assert torch.equal(copy.data, buf.data)
    assert copy._next == buf._next


def test_pot_distance_on_hand_computable_point_sets() -> None:
    pytest.importorskip("ot")
    from coffea_anomaly.training.families.nae import wasserstein_distance

    # 1-d, two points each: the optimal plan pairs 0→1 and 1→3 (cost 1 + 4), not 0→3, 1→1 (9 + 0)
    a = torch.tensor([[0.0], [1.0]])
    b = torch.tensor([[3.0], [1.0]], requires_grad=True)
    w = wasserstein_distance(a, b)
    assert float(w.detach()) == pytest.approx(0.5 * 1 + 0.5 * 4)
    w.backward()  # gradient through the cost matrix: d/db_j of ½ Σ (b_j − a_π(j))²
    np.testing.assert_allclose(b.grad.numpy().ravel(), [2 * 0.5 * (3 - 1), 2 * 0.5 * (1 - 0)])
    # 2-d unit square sides, cost per component: |Δ|²/2 = 0.5 for each pair
    sq = wasserstein_distance(torch.tensor([[0.0, 0.0], [1.0, 0.0]]), torch.tensor([[1.0, 1.0], [0.0, 1.0]]))
    assert float(sq) == pytest.approx(0.5)
    # unequal masses: all of a's mass sits on its first point
    um = wasserstein_distance(a, b.detach(), wa=torch.tensor([1.0, 0.0]))
    assert float(um) == pytest.approx(0.5 * 1 + 0.5 * 9)


@pytest.mark.parametrize("kind", ["nae", "wnae"])
def test_the_chains_compute_each_normalised_weight_once_and_sample_as_before(kind: str, monkeypatch) -> None:
    """Inside the chains the weights are frozen: each spectrally normalised weight is built
    once for both chains (parametrize.cached), not at every step, and the negatives are
    bit for bit those of the uncached chains (on a GPU the steps are launch-bound: this
    halves the operations of an iteration)."""
    import contextlib
    import copy

    from torch.nn.utils.parametrizations import _SpectralNorm

    from coffea_anomaly.training.families import nae as nae_module
    from coffea_anomaly.training.families.nae import _Sampler
    from coffea_anomaly.training.family import FitData, get_family

    if kind == "wnae":
        pytest.importorskip("ot")
    rng = np.random.default_rng(2)
    images = rng.random((40, 12, 12)).astype(np.float32)
    images /= images.sum(axis=(1, 2), keepdims=True)
    family = get_family(kind)
    o = family.options({"z_steps": 5, "x_steps": 5, "buffer_size": 32, "wasserstein_grad_steps": 1})
    torch.manual_seed(0)
    model = family.build({"npix": 12, "latent_dim": 3, "channels": 4, "dense": 16}, FitData(images, images), o)
    n_weights = sum(1 for m in model.modules() if hasattr(m, "parametrizations"))
    calls = {"n": 0}
    forward = _SpectralNorm.forward

    def counting(self, weight):
        calls["n"] += 1
        return forward(self, weight)

    monkeypatch.setattr(_SpectralNorm, "forward", counting)

    def negatives() -> tuple:
        sampler = _Sampler(ReplayBuffer(32, 3, 0.95), torch.Generator().manual_seed(5))
        calls["n"] = 0
        # a copy: the wnae's differentiable tail runs in training mode, where a forward pass
        # moves the spectral norm's power-iteration vectors
        x, z = family.sample_negatives(copy.deepcopy(model), 8, o, sampler, differentiable=kind == "wnae")
        chain_calls = calls["n"]
        return x.detach(), z, chain_calls

    x_cached, z_cached, n_cached = negatives()
    monkeypatch.setattr(nae_module.parametrize, "cached", contextlib.nullcontext)
    x_plain, z_plain, n_plain = negatives()
    assert torch.equal(z_cached, z_plain)
    assert torch.equal(x_cached, x_plain)
    if kind == "nae":
        assert n_cached == n_weights
    else:  # + the differentiable tail outside the cache: one decode and one pixel step
        assert n_weights < n_cached <= 3 * n_weights
    assert n_plain > 10 * n_weights
