"""Family ``vae``: the latent-space VAE of *Bump hunting in latent space* (Bortolato et al.).

On the dijet features (default m_j, τ21, τ32 of both jets, heavier jet first, §II): a
scaler measured on the training part and stored in the graph (MaxAbs by default, §II),
encoder and decoder of 3 × 64 SeLU with linear outputs (§III), a latent of size 1,
loss ``α·MSE + KL`` with α = 5000 (Eq. 1), Adadelta (§IV; ``loop.optimizer``), and
KL-peak early stopping (§IV): the validation KL rises for at least 5 epochs, then falls for
at least 5, and the epoch of maximum KL is kept.

Scores, per event: ``kl``, the KL divergence of the encoded Gaussian to the unit-normal
prior (the paper's anomaly score, the default), and ``mse``, the reconstruction error of
the decoded latent mean. An ensemble (``ensemble: K`` in ``model.training``) trains K
members with seeds ``seed, seed+1, ...`` and exports **one** graph whose outputs are the
members' mean KL and mean MSE (§IV, "we ensemble ... using the mean of the per-event KL").
The graph also outputs the first member's latent mean and log-variance (``z_mean``,
``z_logvar``; not scores) for the latent characterisation.

Importing this module needs torch (``pip install 'coffea-anomaly[train]'``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...errors import ConfigError
from .._torch import require_torch
from ..family import FitData, ScoreOutput, register_family
from ..history import FitResult
from ..stopping import Decision
from ..torch_family import Batch, Phase, TorchFamily
from ._layers import mlp

torch = require_torch()
nn = torch.nn

__all__ = ["SCALERS", "DijetVAE", "KLPeakStopping", "VAEEnsemble", "VAEFamily", "VAEOptions", "kl_to_prior"]

#: how the inputs are scaled inside the graph (measured on the training part)
SCALERS = ("maxabs", "standard", "none")


def kl_to_prior(mu: Any, logvar: Any) -> Any:
    """Per-item KL divergence of N(mu, exp(logvar)) to N(0, 1), summed over latent dimensions.

    ``KL = ½ Σ (mu² + σ² − 1 − log σ²)``, the second term of the paper's Eq. (1).
    """
    return 0.5 * (mu**2 + logvar.exp() - 1.0 - logvar).sum(dim=1)


class DijetVAE(nn.Module):  # type: ignore[misc,name-defined]
    """One VAE: scaler (buffers), encoder to (mean, log-variance), decoder.

    Args:
        n_features: input dimension (6 for m_j, τ21, τ32 of two jets).
        hidden: widths of the hidden layers of the encoder (mirrored in the decoder).
        latent: latent dimension (1 in the paper).
    """

    def __init__(self, n_features: int = 6, hidden: tuple[int, ...] = (64, 64, 64), latent: int = 1) -> None:
        super().__init__()
        if n_features < 1 or latent < 1 or not hidden or any(h < 1 for h in hidden):
            raise ConfigError("DijetVAE sizes must be positive")
        self.n_features, self.hidden, self.latent = int(n_features), tuple(int(h) for h in hidden), int(latent)
        self.item_shape = (self.n_features,)
        self.register_buffer("shift", torch.zeros(self.n_features))
        self.register_buffer("scale", torch.ones(self.n_features))
        self.encoder = mlp([self.n_features, *self.hidden, 2 * self.latent])
        self.decoder = mlp([self.latent, *self.hidden[::-1], self.n_features])

    def set_scaler(self, x: np.ndarray, kind: str) -> None:
        """Measure the scaler on training data ``x`` (a zero scale keeps unit scale)."""
        x = torch.as_tensor(np.asarray(x), dtype=torch.float32)
        if kind == "maxabs":
            shift, scale = torch.zeros(self.n_features), x.abs().max(dim=0).values
        elif kind == "standard":
            shift, scale = x.mean(dim=0), x.std(dim=0, unbiased=False)
        else:
            shift, scale = torch.zeros(self.n_features), torch.ones(self.n_features)
        self.shift.copy_(shift)
        self.scale.copy_(torch.where(scale > 0, scale, torch.ones_like(scale)))

    def target(self, x: Any) -> Any:
        """The scaled inputs, what the decoder reconstructs."""
        return (x - self.shift) / self.scale

    def encode(self, x: Any) -> tuple[Any, Any]:
        """Latent mean and log-variance of raw inputs ``x``."""
        h = self.encoder(self.target(x))
        return h[:, : self.latent], h[:, self.latent :]

    def forward(self, x: Any) -> tuple[Any, Any, Any, Any]:
        """``(scaled x, mean, log-variance, reconstruction)``; the reconstruction decodes a
        sample of the latent Gaussian in training mode and its mean in eval mode."""
        mu, logvar = self.encode(x)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp() if self.training else mu
        return self.target(x), mu, logvar, self.decoder(z)

    def hyperparameters(self) -> dict[str, Any]:
        return {"n_features": self.n_features, "hidden": list(self.hidden), "latent": self.latent}


def _member_scores(member: Any, x: Any) -> tuple[Any, Any, Any, Any]:
    member_was_training = member.training
    member.eval()
    t, mu, logvar, recon = member(x)
    member.train(member_was_training)
    return kl_to_prior(mu, logvar), ((recon - t) ** 2).mean(dim=1), mu, logvar


class VAEEnsemble(nn.Module):  # type: ignore[misc,name-defined]
    """K VAEs scored together: mean KL and mean MSE over the members."""

    def __init__(self, members: list[DijetVAE]) -> None:
        super().__init__()
        if not members:
            raise ConfigError("a VAE ensemble needs at least one member")
        self.members = nn.ModuleList(members)
        self.item_shape = members[0].item_shape

    def forward(self, x: Any) -> tuple[Any, Any, Any, Any]:
        """``(mean KL, mean MSE, first member's latent mean, its log-variance)``."""
        parts = [_member_scores(m, x) for m in self.members]
        k = len(parts)
        kl = sum(p[0] for p in parts) / k
        mse = sum(p[1] for p in parts) / k
        return kl, mse, parts[0][2], parts[0][3]

    def hyperparameters(self) -> dict[str, Any]:
        return {**self.members[0].hyperparameters(), "members": len(self.members)}


@dataclass
class KLPeakStopping:
    """The paper's stopping rule (§IV): keep the epoch of maximum validation KL; stop once
    the KL has risen for ``rise`` epochs up to that maximum and fallen for ``fall`` after it.

    Example:
        >>> rule = KLPeakStopping(rise=2, fall=2)
        >>> [rule.update(e, {"kl": v}).stop for e, v in enumerate([1, 2, 3, 2.5, 2.0], 1)]
        [False, False, False, False, True]
    """

    rise: int = 5
    fall: int = 5
    monitor: str = "kl"

    def __post_init__(self) -> None:
        if self.rise < 1 or self.fall < 1:
            raise ConfigError("KL-peak stopping needs rise >= 1 and fall >= 1")
        self._values: list[float] = []

    def update(self, epoch: int, val: dict[str, float]) -> Decision:
        values = self._values
        values.append(float(val[self.monitor]))
        peak = int(np.argmax(values))  # the first epoch reaching the maximum
        best = peak == len(values) - 1
        rises = 0
        while peak - rises > 0 and values[peak - rises] > values[peak - rises - 1]:
            rises += 1
        after = values[peak:]
        falls = len(after) - 1 if all(b < a for a, b in zip(after[:-1], after[1:])) else 0
        return Decision(best=best, stop=rises >= self.rise and falls >= self.fall, reason="kl_peak")


@dataclass(frozen=True)
class VAEOptions:
    """Training options of the ``vae`` family (``model.training`` in the config).

    Attributes:
        alpha: weight of the reconstruction MSE in the loss (Eq. 1; 5000 in the paper).
        scaler: ``maxabs`` (paper), ``standard`` or ``none``; stored in the graph.
        stopping: ``kl_peak`` (paper) or ``loss`` (early stopping on the validation loss).
        kl_rise, kl_fall: epochs of rising, then falling, validation KL for ``kl_peak``.
        ensemble: number of members (seeds ``seed`` .. ``seed + ensemble - 1``).
    """

    alpha: float = 5000.0
    scaler: str = "maxabs"
    stopping: str = "kl_peak"
    kl_rise: int = 5
    kl_fall: int = 5
    ensemble: int = 1

    def __post_init__(self) -> None:
        if self.alpha <= 0:
            raise ConfigError(f"alpha must be positive, got {self.alpha}")
        if self.scaler not in SCALERS:
            raise ConfigError(f"scaler must be one of {', '.join(SCALERS)}, not {self.scaler!r}")
        if self.stopping not in ("kl_peak", "loss"):
            raise ConfigError(f"stopping must be 'kl_peak' or 'loss', not {self.stopping!r}")
        if self.ensemble < 1 or self.kl_rise < 1 or self.kl_fall < 1:
            raise ConfigError("ensemble, kl_rise and kl_fall must be >= 1")


@register_family
class VAEFamily(TorchFamily):
    """The latent-space VAE; ``model.params`` are :class:`DijetVAE`'s, options :class:`VAEOptions`."""

    name = "vae"
    options_class = VAEOptions
    outputs = (
        ScoreOutput("kl", "KL divergence of the encoded {item} to the unit-normal prior "
                          "(mean over the ensemble); larger = more anomalous"),
        ScoreOutput("mse", "reconstruction MSE of the decoded latent mean over the {n} scaled "
                           "inputs (mean over the ensemble); larger = more anomalous"),
        # not scores: the first member's latent Gaussian, for the latent characterisation
        ScoreOutput("z_mean", "latent mean of the first ensemble member", score=False),
        ScoreOutput("z_logvar", "latent log-variance of the first ensemble member", score=False),
    )  # fmt: skip

    def network(self, params: dict[str, Any]) -> Any:
        return DijetVAE(**params)

    def build(self, params: dict[str, Any], data: FitData, options: Any) -> Any:
        # members are built (and seeded) in fit; here: check the parameters and the shape
        first = super().build(params, data, options)
        return VAEEnsemble([first])

    def prepare(self, model: Any, data: FitData, options: Any) -> None:
        model.set_scaler(data.x_train, options.scaler)

    def loss_terms(self, model: Any, batch: Batch, alpha: float = VAEOptions.alpha) -> dict[str, Any]:
        t, mu, logvar, recon = model(batch.x)
        return {"recon": alpha * ((recon - t) ** 2).mean(dim=1), "kl": kl_to_prior(mu, logvar)}

    def phases(self, loop: Any, options: Any) -> list[Phase]:
        return [Phase("train", loss=lambda m, b: self.loss_terms(m, b, options.alpha))]

    def stopping(self, phase: Phase, loop: Any, options: Any) -> Any:
        if options.stopping == "kl_peak":
            return KLPeakStopping(options.kl_rise, options.kl_fall)
        return super().stopping(phase, loop, options)

    def score_outputs(self, model: Any, level: str) -> tuple[ScoreOutput, ...]:
        latent = (model.members[0].latent,)
        return tuple(o if o.score else dataclasses.replace(o, shape=latent)
                     for o in super().score_outputs(model, level))  # fmt: skip

    def fit(self, model: Any, data: FitData, loop: Any, options: Any,
            progress: bool | None = None) -> FitResult:  # fmt: skip
        """Train the ensemble's members one after the other, member k with seed ``seed + k``
        (its initial weights too); the history holds one phase per member."""
        from ..loop import run_phases, seed_everything

        params = {k: tuple(v) if isinstance(v, list) else v
                  for k, v in model.members[0].hyperparameters().items()}  # fmt: skip
        result = FitResult()
        members = []
        for k in range(options.ensemble):
            seed = loop.seed + k
            if k == 0:
                member = model.members[0]  # built under the pipeline's seed, which is `seed`
            else:
                seed_everything(seed)
                member = self.network(params)
                self.prepare(member, data, options)
            history = run_phases(self, member, data, dataclasses.replace(loop, seed=seed), options,
                                 progress=progress)  # fmt: skip
            for phase in history.phases:
                phase.name = f"member {k + 1} (seed {seed}): {phase.name}"
            result.phases.extend(history.phases)
            members.append(member)
        model.members = nn.ModuleList(members)
        model.eval()
        return result

    def scores(self, model: Any, x: Any) -> dict[str, Any]:
        kl, mse, z_mean, z_logvar = model(x)
        return {"kl": kl, "mse": mse, "z_mean": z_mean, "z_logvar": z_logvar}
