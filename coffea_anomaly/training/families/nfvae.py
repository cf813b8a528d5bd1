"""Family ``nfvae``: QUAK's normalizing-flow VAE (Park et al., *Quasi Anomalous Knowledge*, §3).

On the 12 dijet features of §4.2 (per jet, heavier first: m_j, τ1, τ21, τ32, τ43 and the
number of charged constituents; the ``quak`` feature set; τ1 is our documented sixth
choice besides the paper's four ratios, track count and mass): a standardisation measured
on the training part and stored in the graph, an encoder of 3 dense layers to the mean and
log-variance of a latent Gaussian (latent 4), a stack of masked autoregressive flow layers
on the latent sample (Eq. 3.4), and a decoder of 3 dense layers back to the 12 features.

Each flow layer is an affine autoregressive map ``z'_i = z_i · exp(s_i(z_<i)) + m_i(z_<i)``
whose shift and log-scale come from its **own** MADE network (the paper's public code
shares one set of weights between the layers by mistake; here every layer is built anew),
with the order of the latent dimensions reversed between layers so that every dimension
is conditioned on the others. Its log-determinant is ``Σ_i s_i`` (Eq. 3.5 up to the
direction of the map); the log-scales are bounded (``s = c · tanh(raw / c)``, c = 3) so a
bad batch cannot overflow ``exp``.

Loss per event (Eq. 3.3, with the KL evaluated on the flowed sample, which makes it the
negative evidence lower bound): ``recon = β · MSE`` over the 12 standardised features,
``kl = log q0(z0) − log N(z_K; 0, 1)`` and ``logdet = −Σ_k log|det ∂f_k/∂z_{k−1}|``; β = 10
(§4.2; β multiplies the reconstruction term here, as the ``vae`` family's α does).

Score (the QUAK loss, "with the KL-divergence term removed", §4.2): ``loss``, the MSE of
the decoded flowed latent mean over the 12 standardised features; larger = less like the
training sample. A QUAK space is several of these, one per prior, exported together as
one graph by :mod:`coffea_anomaly.training.bundle`.

Importing this module needs torch (``pip install 'coffea-anomaly[train]'``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...errors import ConfigError
from .._torch import require_torch
from ..family import FitData, ScoreOutput, register_family
from ..torch_family import Batch, Phase, TorchFamily
from ._layers import mlp

torch = require_torch()
nn = torch.nn

__all__ = ["MADE", "MAFLayer", "NFVAE", "NFVAEFamily", "NFVAEOptions"]

#: bound of the flows' log-scales
LOG_SCALE_BOUND = 3.0

_LOG_2PI = math.log(2.0 * math.pi)


class MaskedLinear(nn.Linear):  # type: ignore[misc,name-defined]
    """A dense layer whose weight is multiplied by a fixed 0/1 mask (a buffer)."""

    def __init__(self, n_in: int, n_out: int, mask: Any) -> None:
        super().__init__(n_in, n_out)
        self.register_buffer("mask", torch.as_tensor(mask, dtype=torch.float32))

    def forward(self, x: Any) -> Any:
        return nn.functional.linear(x, self.weight * self.mask, self.bias)


class MADE(nn.Module):  # type: ignore[misc,name-defined]
    """Masked autoencoder for distribution estimation (Germain et al. 2015): for an input
    of dimension D, two outputs per dimension (shift m_i, raw log-scale) that depend only
    on inputs ``< i`` (in the given order). Hidden units get degrees ``1 .. D−1`` in turn.

    Args:
        dim: D, the latent dimension.
        hidden: widths of the hidden layers.
    """

    def __init__(self, dim: int, hidden: tuple[int, ...] = (32, 32)) -> None:
        super().__init__()
        if dim < 2:
            raise ConfigError("a masked autoregressive flow needs a latent of at least 2 dimensions")
        self.dim = dim
        degrees = [np.arange(1, dim + 1)]
        for width in hidden:
            degrees.append(np.arange(width) % (dim - 1) + 1)
        layers: list[Any] = []
        for d_in, d_out in zip(degrees[:-1], degrees[1:]):
            mask = (d_out[:, None] >= d_in[None, :]).astype(np.float32)
            layers += [MaskedLinear(len(d_in), len(d_out), mask), nn.ELU()]
        out_deg = np.tile(np.arange(1, dim + 1), 2)  # (shift, log-scale) for every dimension
        mask = (out_deg[:, None] > degrees[-1][None, :]).astype(np.float32)
        layers.append(MaskedLinear(len(degrees[-1]), 2 * dim, mask))
        self.net = nn.Sequential(*layers)

    def forward(self, z: Any) -> tuple[Any, Any]:
        """``(shift, raw log-scale)``, each of shape (batch, D)."""
        h = self.net(z)
        return h[:, : self.dim], h[:, self.dim :]


class MAFLayer(nn.Module):  # type: ignore[misc,name-defined]
    """One affine autoregressive flow layer with its own MADE; optionally reverses the
    order of the dimensions after the map.

    ``forward(z)`` returns ``(z', log|det ∂z'/∂z|)`` per item.
    """

    def __init__(self, dim: int, hidden: tuple[int, ...] = (32, 32), reverse: bool = True) -> None:
        super().__init__()
        self.made = MADE(dim, hidden)
        self.reverse = reverse

    def forward(self, z: Any) -> tuple[Any, Any]:
        shift, raw = self.made(z)
        log_scale = LOG_SCALE_BOUND * torch.tanh(raw / LOG_SCALE_BOUND)
        out = z * torch.exp(log_scale) + shift
        if self.reverse:
            out = torch.flip(out, dims=(1,))
        return out, log_scale.sum(dim=1)


class NFVAE(nn.Module):  # type: ignore[misc,name-defined]
    """Standardisation (buffers), encoder, MAF stack on the latent, decoder.

    Args:
        n_features: input dimension (12: six features of each jet).
        hidden: widths of the encoder's hidden layers (mirrored in the decoder; 3 dense
            layers each side including the latent/output layer, §4.2).
        latent: latent dimension (4, §4.2).
        flows: number of MAF layers, each with its own weights.
        made_hidden: widths of each MADE's hidden layers.
        columns: the input columns the model sees (None: all ``n_features``). The graph
            still takes all ``n_features`` (one input for every prior of a bundle); e.g. a
            signal prior without the jet masses learns the prong structure of its sample,
            not its mass point.
    """

    def __init__(self, n_features: int = 12, hidden: tuple[int, ...] = (48, 24), latent: int = 4,
                 flows: int = 4, made_hidden: tuple[int, ...] = (32, 32),
                 columns: tuple[int, ...] | None = None) -> None:  # fmt: skip
        super().__init__()
        if n_features < 1 or latent < 2 or flows < 0 or not hidden or any(h < 1 for h in (*hidden, *made_hidden)):
            raise ConfigError("NFVAE sizes must be positive (latent >= 2, flows >= 0)")
        self.n_features, self.latent, self.n_flows = int(n_features), int(latent), int(flows)
        self.hidden, self.made_hidden = tuple(int(h) for h in hidden), tuple(int(h) for h in made_hidden)
        self.item_shape = (self.n_features,)
        self.columns = None if columns is None else tuple(int(c) for c in columns)
        if self.columns is not None:
            if not self.columns or len(set(self.columns)) != len(self.columns) or \
                    not all(0 <= c < self.n_features for c in self.columns):  # fmt: skip
                raise ConfigError(f"columns must be distinct indices in [0, {self.n_features}), got {list(columns)}")
            self.register_buffer("column_index", torch.tensor(self.columns, dtype=torch.long))
        n_used = self.n_features if self.columns is None else len(self.columns)
        self.register_buffer("shift", torch.zeros(n_used))
        self.register_buffer("scale", torch.ones(n_used))
        self.encoder = mlp([n_used, *self.hidden, 2 * self.latent], nn.ELU)
        # a new module per layer: distinct weights (unlike the paper's public code)
        self.flows = nn.ModuleList(MAFLayer(self.latent, self.made_hidden) for _ in range(self.n_flows))
        self.decoder = mlp([self.latent, *self.hidden[::-1], n_used], nn.ELU)

    def _used(self, x: Any) -> Any:
        return x if self.columns is None else x.index_select(1, self.column_index)

    def set_scaler(self, x: np.ndarray) -> None:
        """Standardise with the mean and standard deviation of training data ``x``."""
        x = self._used(torch.as_tensor(np.asarray(x), dtype=torch.float32))
        std = x.std(dim=0, unbiased=False)
        self.shift.copy_(x.mean(dim=0))
        self.scale.copy_(torch.where(std > 0, std, torch.ones_like(std)))

    def target(self, x: Any) -> Any:
        """The standardised inputs (the used columns), what the decoder reconstructs."""
        return (self._used(x) - self.shift) / self.scale

    def flow(self, z: Any) -> tuple[Any, Any]:
        """``(z_K, Σ_k log|det ∂f_k/∂z_{k−1}|)`` of latent points ``z``."""
        logdet = torch.zeros(z.shape[0], dtype=z.dtype, device=z.device)
        for layer in self.flows:
            z, ld = layer(z)
            logdet = logdet + ld
        return z, logdet

    def forward(self, x: Any) -> dict[str, Any]:
        """Training pass: a sample of the latent Gaussian (its mean in eval mode) flowed
        and decoded; returns the pieces of the loss."""
        t = self.target(x)
        h = self.encoder(t)
        mu, logvar = h[:, : self.latent], h[:, self.latent :].clamp(-20.0, 20.0)
        eps = torch.randn_like(mu) if self.training else torch.zeros_like(mu)
        z0 = mu + eps * torch.exp(0.5 * logvar)
        zk, logdet = self.flow(z0)
        recon = self.decoder(zk)
        log_q0 = -0.5 * (eps**2 + logvar + _LOG_2PI).sum(dim=1)
        log_p = -0.5 * (zk**2 + _LOG_2PI).sum(dim=1)
        return {"target": t, "recon": recon, "log_q0": log_q0, "log_p": log_p, "logdet": logdet}

    def loss(self, x: Any) -> Any:
        """The QUAK loss: reconstruction MSE of the flowed latent mean (no KL term)."""
        t = self.target(x)
        h = self.encoder(t)
        zk, _ = self.flow(h[:, : self.latent])
        return ((self.decoder(zk) - t) ** 2).mean(dim=1)

    def hyperparameters(self) -> dict[str, Any]:
        return {"n_features": self.n_features, "hidden": list(self.hidden), "latent": self.latent,
                "flows": self.n_flows, "made_hidden": list(self.made_hidden),
                "columns": None if self.columns is None else list(self.columns)}  # fmt: skip


@dataclass(frozen=True)
class NFVAEOptions:
    """Training options of the ``nfvae`` family (``model.training`` in the config).

    Attributes:
        beta: weight of the reconstruction MSE against the KL and flow terms (§4.2: 10).
    """

    beta: float = 10.0

    def __post_init__(self) -> None:
        if not self.beta > 0:
            raise ConfigError(f"beta must be positive, got {self.beta}")


@register_family
class NFVAEFamily(TorchFamily):
    """QUAK's flow VAE; ``model.params`` are :class:`NFVAE`'s, options :class:`NFVAEOptions`."""

    name = "nfvae"
    options_class = NFVAEOptions
    outputs = (
        ScoreOutput("loss", "QUAK loss: reconstruction MSE of the flowed latent mean over the {n} "
                            "standardised inputs (KL removed); larger = less like the training sample"),
    )  # fmt: skip

    def network(self, params: dict[str, Any]) -> Any:
        return NFVAE(**params)

    def prepare(self, model: Any, data: FitData, options: Any) -> None:
        model.set_scaler(data.x_train)

    def loss_terms(self, model: Any, batch: Batch, beta: float = NFVAEOptions.beta) -> dict[str, Any]:
        out = model(batch.x)
        mse = ((out["recon"] - out["target"]) ** 2).mean(dim=1)
        return {"recon": beta * mse, "kl": out["log_q0"] - out["log_p"], "logdet": -out["logdet"]}

    def phases(self, loop: Any, options: Any) -> list[Phase]:
        return [Phase("train", loss=lambda m, b: self.loss_terms(m, b, options.beta))]

    def scores(self, model: Any, x: Any) -> dict[str, Any]:
        return {"loss": model.loss(x)}
