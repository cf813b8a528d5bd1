"""Families ``nae`` and ``wnae``: the normalized autoencoder of Dillon et al. and its
Wasserstein variant.

``nae`` (*A Normalized Autoencoder for LHC Triggers*, §2.2, Table 1, Appendix): the
Table 2 convolutional autoencoder (8 filters, PReLU, max-pooling, sigmoid output) with
spectral normalisation on every layer and the encoder output on the hypersphere
S^(Dz−1) (Dz = 3). The energy of a jet image is its reconstruction MSE (Eq. 9), which is
also the only exported score. Training has two phases:

1. ``pretrain``: the plain autoencoder on the MSE (Adam, learning rate 1e-3, batch 2048);
2. ``nae``: the energy-based loss ``(⟨E(x⁺)⟩ − ⟨E(x⁻)⟩)/T`` (Eq. 3–5) with negative
   samples x⁻ from on-manifold initialisation: a latent Langevin chain on the sphere on
   ``H(z) = E(f_D(z))`` (Eq. 10–11) started from a replay buffer of 10 000 points with
   probability 0.95 (uniform on the sphere otherwise), decoded, then a pixel-space
   Langevin chain (Eq. 6), both with the Metropolis step, the pixel chain with noise
   annealing (Table 1: λ_z = 100, σ_z = 1e-2, λ_x = 50, σ_x = 1e-4, 30 + 30 steps,
   learning rate 1e-5, batch 128). Regularisers (Appendix): the L2 norm of the weights
   (1e-8) and the mean squared energy of the positive and negative samples (``gamma``).
   Energies in the loss are in units of the mean validation energy after pre-training
   (``e0``), so that ``gamma`` does not depend on the image normalisation. In these units
   the regulariser bounds the negatives' energy at ``e0/(2·gamma·T)``: ``gamma = 1`` (the
   default) stops it at half the data's, far stronger than the paper's γ on raw MSEs
   (γ·e0 ≈ 1e-5 here); smaller values let the loss reach zero but can let the negative
   energies run away (docs/NAE.md).

``wnae`` (CMS, arXiv:2510.02168): the same network and sampler; the loss is the
Wasserstein (earth mover's) distance between the positive samples and the negative
samples, ``ot.emd2`` of POT on the squared-distance cost matrix (per pixel). The gradient
reaches the network through the cost matrix: the negative samples are the decoder's
images of the latent chain's end points (straight-through the pixel chain), and the last
``wasserstein_grad_steps`` pixel steps are differentiated too.

Training health (both): the positive and negative energies (``e_pos``, ``e_neg``), the
Metropolis acceptance rates and the spread of the negative samples are logged per epoch.
Sampler collapse is flagged (``collapse`` = 1 in the validation history) when the negative
energy runs away (``e_neg/e_pos`` beyond ``collapse_energy_ratio``, or non-finite) or the
negative samples collapse onto few modes (their mean pairwise distance below
``collapse_diversity`` times that of the reconstructions of validation images); ``collapse_patience`` flagged
epochs in a row stop the phase with ``stop_reason = "sampler_collapse"``. The kept epoch
is the unflagged one whose validation loss is closest to zero (NAE, §3: "the iteration
with the loss function closest to zero and with stable positive and negative energies";
WNAE: the smallest Wasserstein distance). With ``checkpoint`` set (a file path in
``model.training``), the state after pre-training and after every energy
epoch is saved (state dicts and numbers only, read back with ``torch.load(weights_only=True)``).
With ``resume: true`` (the default) running the same training again continues from a
checkpoint written for the same configuration, seed and sample size (an interrupted run
picks up after its last finished epoch; a finished one goes straight to the export); a
checkpoint of another configuration is an error, never silently reused.

Importing this module needs torch (``pip install 'coffea-anomaly[train]'``); ``wnae``
needs POT too (``pip install 'coffea-anomaly[train]'`` installs it).
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import os
import pickle
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from ...errors import ConfigError, InputDataError
from .._torch import require_torch
from ..family import FitData, register_family
from ..history import FitResult, PhaseHistory
from ..stopping import Decision
from ..torch_family import Batch, Phase
from ._langevin import ReplayBuffer, langevin, project_sphere
from ._reconstruction import ReconstructionFamily, reconstruction_mse

torch = require_torch()
nn = torch.nn
parametrize = nn.utils.parametrize

__all__ = [
    "CHECKPOINT_VERSION",
    "CollapseStopping",
    "NAEFamily",
    "NAENetwork",
    "NAEOptions",
    "WNAEFamily",
    "load_checkpoint",
    "plain_copy",
    "pretrained_path",
    "wasserstein_distance",
]

CHECKPOINT_VERSION = 1
LOSSES = ("nae", "wasserstein")


# -- the network ---------------------------------------------------------------------------


class NAENetwork(nn.Module):  # type: ignore[misc,name-defined]
    """The autoencoder of Table 2, with the latent vector on the unit hypersphere.

    Encoder: Conv(1→c)·PReLU·Conv(c→c)·PReLU·MaxPool 2·Conv(c→c)·PReLU·Conv(c→c)·PReLU·
    Conv(c→1)·PReLU·Flatten·Dense(npix²/4→dense)·PReLU·Dense(dense→Dz), then z/|z|.
    Decoder: Dense(Dz→dense)·PReLU·Dense(dense→npix²/4)·PReLU·Deconv(1→c)·PReLU·
    Deconv(c→c)·PReLU·bilinear upsampling 2·Deconv(c→c)·PReLU·Deconv(c→1)·Sigmoid.
    Every convolution and dense layer is spectrally normalised (``spectral_norm``).

    Args:
        npix: image size (square, even), 40.
        latent_dim: Dz, 3 in the paper.
        channels: filters of the convolutions (8).
        dense: width of the dense layer (100).
        spectral_norm: spectral normalisation of every layer (Appendix).
        input_scale: the encoder reads ``input_scale · x`` (1: the paper). The images sum to
            one, so their pixels are ~1e-3: through spectrally normalised (1-Lipschitz)
            layers the differences between jets stay small next to the biases, all jets
            land near one point of the sphere and the AE sits on a "mean image" plateau
            for many epochs (docs/NAE.md). A fixed factor lets the encoder see them; the
            energy is still the MSE of the unscaled image.
    """

    def __init__(self, npix: int = 40, latent_dim: int = 3, channels: int = 8, dense: int = 100,
                 spectral_norm: bool = True, input_scale: float = 1.0) -> None:  # fmt: skip
        super().__init__()
        if npix < 2 or npix % 2:
            raise ConfigError(f"NAENetwork needs an even image size, got npix={npix}")
        if latent_dim < 2 or channels < 1 or dense < 1:
            raise ConfigError("NAENetwork needs latent_dim >= 2 (a sphere) and positive sizes")
        self.npix, self.latent_dim, self.channels, self.dense = int(npix), int(latent_dim), int(channels), int(dense)
        self.spectral_norm = bool(spectral_norm)
        if not (math.isfinite(input_scale) and input_scale > 0):
            raise ConfigError(f"NAENetwork input_scale must be a positive number, got {input_scale}")
        self.input_scale = float(input_scale)
        self.item_shape = (self.npix, self.npix)
        c, half = self.channels, self.npix // 2
        sn = nn.utils.parametrizations.spectral_norm if self.spectral_norm else (lambda m: m)
        self.encoder = nn.Sequential(
            nn.Unflatten(1, (1, self.npix)),
            sn(nn.Conv2d(1, c, 3, 1, 1)), nn.PReLU(),
            sn(nn.Conv2d(c, c, 3, 1, 1)), nn.PReLU(),
            nn.MaxPool2d(2, 2),
            sn(nn.Conv2d(c, c, 3, 1, 1)), nn.PReLU(),
            sn(nn.Conv2d(c, c, 3, 1, 1)), nn.PReLU(),
            sn(nn.Conv2d(c, 1, 3, 1, 1)), nn.PReLU(),
            nn.Flatten(),
            sn(nn.Linear(half * half, self.dense)), nn.PReLU(),
            sn(nn.Linear(self.dense, self.latent_dim)),
        )  # fmt: skip
        self.decoder = nn.Sequential(
            sn(nn.Linear(self.latent_dim, self.dense)), nn.PReLU(),
            sn(nn.Linear(self.dense, half * half)), nn.PReLU(),
            nn.Unflatten(1, (1, half, half)),
            sn(nn.ConvTranspose2d(1, c, 3, 1, 1)), nn.PReLU(),
            sn(nn.ConvTranspose2d(c, c, 3, 1, 1)), nn.PReLU(),
            nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
            sn(nn.ConvTranspose2d(c, c, 3, 1, 1)), nn.PReLU(),
            sn(nn.ConvTranspose2d(c, 1, 3, 1, 1)),
            nn.Sigmoid(),
            nn.Flatten(1, 2),
        )  # fmt: skip

    def encode(self, x: Any) -> Any:
        """Latent points on the unit sphere, ``(batch, latent_dim)``."""
        return project_sphere(self.encoder(x * self.input_scale if self.input_scale != 1.0 else x))

    def decode(self, z: Any) -> Any:
        """Images ``(batch, npix, npix)`` of latent points."""
        return self.decoder(z)

    def forward(self, x: Any) -> Any:
        """Reconstruct a batch of images ``(batch, npix, npix)``."""
        return self.decode(self.encode(x))

    def energy(self, x: Any) -> Any:
        """Per-image energy: the reconstruction MSE over the pixels (Eq. 9)."""
        return reconstruction_mse(self, x)

    def hyperparameters(self) -> dict[str, Any]:
        return {"npix": self.npix, "latent_dim": self.latent_dim, "channels": self.channels,
                "dense": self.dense, "spectral_norm": self.spectral_norm, "input_scale": self.input_scale}  # fmt: skip


def plain_copy(model: NAENetwork) -> NAENetwork:
    """The same network without spectral-norm parametrisations: every normalised weight
    W/σ (eval mode: the stored singular vectors, no power iteration) copied as a plain one."""
    model.eval()
    plain = NAENetwork(**{**model.hyperparameters(), "spectral_norm": False}).eval()
    mine = dict(model.named_modules())
    with torch.no_grad():
        for name, module in plain.named_modules():
            for attr in ("weight", "bias"):
                target = getattr(module, attr, None)
                if isinstance(target, torch.nn.Parameter):
                    target.copy_(getattr(mine[name], attr))
    return plain


# -- options -------------------------------------------------------------------------------


@dataclass(frozen=True)
class NAEOptions:
    """Training options (``model.training``); defaults are the paper's (Table 1, Appendix).

    Attributes:
        pretrain_epochs, pretrain_learning_rate, pretrain_batch_size: the AE pre-training
            (the paper: 15k iterations of 2048 at 1e-3; early stopping with ``loop.patience``).
        epochs, learning_rate, batch_size: the energy phase (50 epochs or a collapse, 1e-5, 128);
            ``epochs: 0`` is the plain autoencoder (pre-training only, the paper's AE baseline).
        steps_per_epoch: energy-phase iterations per epoch (0: one pass over the training jets).
        z_steps, z_step_size, z_noise, z_metropolis: the latent chain (30, 100, 1e-2, on).
        x_steps, x_step_size, x_noise, x_metropolis: the pixel chain (30, 50, 1e-4, on).
        x_anneal: final pixel-chain noise as a fraction of ``x_noise`` (annealing; None: off).
        clip_grad: clip every component of the chains' energy gradients (None: off).
        x_bounds: the pixel chain stays in ``[lo, hi]`` (the sigmoid's range).
        buffer_size, replay_prob: the latent replay buffer (10 000, 0.95).
        temperature: T of the loss ``(E⁺ − E⁻)/T`` (in units of ``e0``).
        gamma: weight of the mean squared positive and negative energies (in ``e0`` units);
            the negatives' energy stops rising at ``1/(2·gamma·T)`` (in ``e0``).
        l2: weight of the squared L2 norm of all weights (1e-8).
        loss: ``nae`` (Eq. 3) or ``wasserstein`` (WNAE).
        wasserstein_grad_steps: last pixel-chain steps differentiated for the WNAE loss.
        val_negatives: negative samples drawn for each validation.
        collapse_energy_ratio, collapse_diversity, collapse_patience: the collapse flag.
        checkpoint: checkpoint file ('': none).
        resume: continue from ``checkpoint`` when it exists (it must match this training).
        init_from: start from the weights (``model``) of an NAE checkpoint, e.g. the copy
            ``X.pretrained.ckpt`` that a run with ``checkpoint: X.ckpt`` writes right after
            pre-training: with ``pretrain_epochs: 0`` and ``epochs: 0`` that is exactly the
            pre-trained AE the NAE phase started from.
    """

    pretrain_epochs: int = 300
    pretrain_learning_rate: float = 1e-3
    pretrain_batch_size: int = 2048
    epochs: int = 50
    learning_rate: float = 1e-5
    batch_size: int = 128
    steps_per_epoch: int = 0
    z_steps: int = 30
    z_step_size: float = 100.0
    z_noise: float = 1e-2
    z_metropolis: bool = True
    x_steps: int = 30
    x_step_size: float = 50.0
    x_noise: float = 1e-4
    x_metropolis: bool = True
    x_anneal: float | None = 0.1
    clip_grad: float | None = None
    x_bounds: tuple[float, float] = (0.0, 1.0)
    buffer_size: int = 10000
    replay_prob: float = 0.95
    temperature: float = 1.0
    gamma: float = 1.0
    l2: float = 1e-8
    loss: str = "nae"
    wasserstein_grad_steps: int = 1
    val_negatives: int = 256
    collapse_energy_ratio: float = 50.0
    collapse_diversity: float = 0.05
    collapse_patience: int = 2
    checkpoint: str = ""
    resume: bool = True
    init_from: str = ""

    def __post_init__(self) -> None:
        if self.loss not in LOSSES:
            raise ConfigError(f"loss must be one of {', '.join(LOSSES)}, not {self.loss!r}")
        if self.epochs < 0 or (self.epochs == 0 and self.pretrain_epochs == 0 and not self.init_from):
            raise ConfigError("epochs must be >= 0 (0: the plain autoencoder), and some phase must run")
        for name in ("batch_size", "pretrain_batch_size", "buffer_size", "val_negatives",
                     "collapse_patience"):  # fmt: skip
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1")
        for name in ("pretrain_epochs", "steps_per_epoch", "z_steps", "x_steps", "wasserstein_grad_steps"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0")
        for name in ("z_step_size", "x_step_size", "learning_rate", "pretrain_learning_rate", "temperature"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"{name} must be > 0")
        if self.z_noise < 0 or self.x_noise < 0 or self.gamma < 0 or self.l2 < 0:
            raise ConfigError("noises, gamma and l2 must be >= 0")
        if not 0.0 <= self.replay_prob <= 1.0:
            raise ConfigError("replay_prob must be in [0, 1]")
        if self.x_anneal is not None and not 0.0 <= self.x_anneal <= 1.0:
            raise ConfigError("x_anneal must be in [0, 1] (or null)")


# -- losses --------------------------------------------------------------------------------


def wasserstein_distance(a: Any, b: Any, wa: Any = None, wb: Any = None) -> Any:
    """Earth mover's distance between the point sets ``a`` (n, ...) and ``b`` (m, ...).

    The cost of moving a point is the squared Euclidean distance per component
    (``|a_i − b_j|²/d``); ``ot.emd2`` solves the exact transport problem and, given torch
    tensors, returns a tensor differentiable in the cost matrix (hence in ``a`` and ``b``).
    ``wa``/``wb`` are the points' masses (default uniform; normalised to one).
    """
    import ot

    fa, fb = a.reshape(a.shape[0], -1), b.reshape(b.shape[0], -1)
    cost = torch.cdist(fa, fb) ** 2 / fa.shape[1]
    wa = (torch.full((fa.shape[0],), 1.0 / fa.shape[0], dtype=cost.dtype, device=cost.device)
          if wa is None else wa / wa.sum())
    wb = (torch.full((fb.shape[0],), 1.0 / fb.shape[0], dtype=cost.dtype, device=cost.device)
          if wb is None else wb / wb.sum())
    return ot.emd2(wa.to(cost.dtype), wb.to(cost.dtype), cost)


def _mean_pairwise(x: Any) -> float:
    f = x.reshape(x.shape[0], -1)
    d = torch.cdist(f, f)
    n = f.shape[0]
    return float(d.sum() / max(n * (n - 1), 1))


# -- the collapse-aware stopping rule -----------------------------------------------------


@dataclass
class CollapseStopping:
    """Keep the unflagged epoch whose ``monitor`` is best; stop after ``patience`` flagged
    epochs in a row (``sampler_collapse``).

    ``mode="zero"`` keeps the epoch with ``|monitor|`` closest to zero (the NAE loss),
    ``mode="min"`` the smallest value (the Wasserstein distance).
    """

    mode: str = "zero"
    monitor: str = "loss"
    patience: int = 2
    best_value: float = math.inf
    flagged: int = 0

    def update(self, epoch: int, val: dict[str, float]) -> Decision:
        if val.get("collapse", 0.0) > 0:
            self.flagged += 1
            return Decision(best=False, stop=self.flagged >= self.patience, reason="sampler_collapse")
        self.flagged = 0
        value = val[self.monitor]
        key = abs(value) if self.mode == "zero" else value
        if math.isfinite(key) and key < self.best_value:
            self.best_value = key
            return Decision(best=True)
        return Decision(best=False)

    def state(self) -> dict[str, Any]:
        return {"best_value": self.best_value, "flagged": self.flagged}


# -- checkpoints ---------------------------------------------------------------------------


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """A checkpoint written by the NAE training: tensors, numbers, strings only.

    Read with ``torch.load(weights_only=True)``: no arbitrary objects are unpickled.
    """
    try:
        state = torch.load(Path(path), map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, EOFError, RuntimeError, ValueError) as err:
        # a file of another kind (an ONNX model, a truncated write): one line, not torch's essay
        raise ConfigError(f"{path} is not an NAE checkpoint ({type(err).__name__})") from None
    if not isinstance(state, dict) or state.get("version") != CHECKPOINT_VERSION:
        raise ConfigError(f"{path} is not an NAE checkpoint of version {CHECKPOINT_VERSION}")
    return state


def pretrained_path(checkpoint: str | Path) -> Path:
    """Where the training copies its checkpoint right after pre-training (``X.ckpt`` →
    ``X.pretrained.ckpt``): the plain AE the energy phase starts from, for ``init_from``."""
    p = Path(checkpoint)
    return p.with_name(f"{p.stem}.pretrained{p.suffix or '.ckpt'}")


def _save_checkpoint(path: str, state: dict[str, Any]) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    tmp = f"{path}.tmp"
    torch.save({"version": CHECKPOINT_VERSION, **state}, tmp)
    os.replace(tmp, path)


def _history_state(h: PhaseHistory) -> dict[str, Any]:
    return dataclasses.asdict(h)


def _history_from_state(d: dict[str, Any]) -> PhaseHistory:
    return PhaseHistory(**{f.name: d[f.name] for f in dataclasses.fields(PhaseHistory)})


# -- the family ----------------------------------------------------------------------------


@dataclass
class _Sampler:
    """What the energy phase carries between steps: the buffer and the random stream."""

    buffer: ReplayBuffer
    gen: Any
    acc_z: float = 1.0
    acc_x: float = 1.0


def _wmean(v: Any, w: Any) -> Any:
    return (v * w).sum() / w.sum()


@register_family
class NAEFamily(ReconstructionFamily):
    """The normalized autoencoder; ``model.params``: :class:`NAENetwork`'s, options
    :class:`NAEOptions`. Score: the energy (reconstruction MSE) per jet."""

    name = "nae"
    options_class = NAEOptions
    default_loss = "nae"

    def options(self, data: dict[str, Any] | None) -> Any:
        data = dict(data or {})
        data.setdefault("loss", self.default_loss)
        return super().options(data)

    def network(self, params: dict[str, Any]) -> Any:
        return NAENetwork(**params)

    def prepare(self, model: Any, data: FitData, options: Any) -> None:
        """Start the sigmoid output at the mean training pixel (bias = its logit).

        Unit-sum jet images have pixels of order 1/npix²; from the default bias (output
        0.5) a spectrally normalised decoder needs thousands of steps just to get there.
        """
        mean = float(np.clip(np.mean(data.x_train, dtype=np.float64), 1e-7, 0.5))
        last = [m for m in model.decoder if isinstance(m, nn.ConvTranspose2d)][-1]
        with torch.no_grad():
            last.bias.fill_(math.log(mean / (1.0 - mean)))

    def phases(self, loop: Any, options: Any) -> list[Phase]:
        o = options or NAEOptions()
        return [Phase("pretrain", o.pretrain_epochs, o.pretrain_learning_rate),
                Phase(o.loss, o.epochs, o.learning_rate)]  # fmt: skip

    # -- sampling ----------------------------------------------------------------------

    def sample_negatives(self, model: Any, n: int, o: NAEOptions, sampler: _Sampler,
                         differentiable: bool = False) -> tuple[Any, Any]:  # fmt: skip
        """Negative samples by on-manifold initialisation; returns ``(x_neg, z_end)``.

        With ``differentiable`` the samples carry the graph to the decoder (and through
        the last ``wasserstein_grad_steps`` pixel steps), for the Wasserstein loss.
        """
        was_training = model.training
        model.eval()  # no spectral-norm power iterations inside the chains
        params = [p for p in model.parameters() if p.requires_grad]
        for p in params:
            p.requires_grad_(False)
        k = min(o.wasserstein_grad_steps, o.x_steps) if differentiable else 0
        try:
            z0, _ = sampler.buffer.sample(n, sampler.gen)
            z0 = z0.to(next(model.parameters()).device)
            # frozen weights: each spectrally normalised weight is computed once for the two
            # chains, not at every step (the same numbers; half the operations per iteration)
            with parametrize.cached():
                zc = langevin(lambda z: model.energy(model.decode(z)), z0, o.z_steps, o.z_step_size, o.z_noise,
                              metropolis=o.z_metropolis, clip_grad=o.clip_grad, project=project_sphere,
                              generator=sampler.gen)  # fmt: skip
                sampler.buffer.push(zc.x)
                x0 = model.decode(zc.x).float()  # the chain's images stay float32 under autocast
                xc = langevin(model.energy, x0, o.x_steps - k, o.x_step_size, o.x_noise, metropolis=o.x_metropolis,
                              anneal_to=o.x_anneal, clip_grad=o.clip_grad, bounds=o.x_bounds,
                              generator=sampler.gen)  # fmt: skip
        finally:
            for p in params:
                p.requires_grad_(True)
            model.train(was_training)
        sampler.acc_z, sampler.acc_x = zc.acceptance, xc.acceptance
        if not differentiable:
            return xc.x, zc.x
        # straight through the detached pixel steps, then k differentiable steps
        x0 = model.decode(zc.x).float()
        x = x0 + (xc.x - x0).detach()
        for _ in range(k):
            e = model.energy(x)
            (g,) = torch.autograd.grad(e.sum(), x, create_graph=True)
            sigma = o.x_noise * (o.x_anneal if o.x_anneal is not None else 1.0)
            noise = torch.randn(x.shape, generator=sampler.gen).to(x.device)
            x = (x - o.x_step_size * g + sigma * noise).clamp(*o.x_bounds)
        return x, zc.x

    # -- the energy phase's step and validation ----------------------------------------------

    def energy_terms(self, model: Any, batch: Batch, o: NAEOptions, sampler: _Sampler,
                     e0: float) -> dict[str, Any]:  # fmt: skip
        """The energy-phase loss terms of a batch (scalars), by name.

        ``nae``: ``(E⁺ − E⁻)/(T·e0)``; ``wasserstein``: ``W(x⁺, x⁻)/e0``; both plus
        ``gamma·(⟨E⁺²⟩ + ⟨E⁻²⟩)/e0²`` and ``l2·Σθ²``. ``e_pos``/``e_neg`` (the mean
        energies, not in the loss) are returned as plain floats for the log.
        """
        wasserstein = o.loss == "wasserstein"
        x_neg, _ = self.sample_negatives(model, batch.x.shape[0], o, sampler, differentiable=wasserstein)
        e_pos = model.energy(batch.x)
        e_neg = model.energy(x_neg)
        terms: dict[str, Any] = {}
        if wasserstein:
            terms["wasserstein"] = wasserstein_distance(batch.x, x_neg, wa=batch.w) / e0
        else:
            terms["nae"] = (_wmean(e_pos, batch.w) - e_neg.mean()) / (o.temperature * e0)
        if o.gamma > 0:
            terms["energy_sq"] = o.gamma * (_wmean(e_pos**2, batch.w) + (e_neg**2).mean()) / e0**2
        if o.l2 > 0:
            terms["l2"] = o.l2 * sum((p**2).sum() for n_, p in model.named_parameters() if "weight" in n_ or "original" in n_)
        return {**terms, "e_pos": float(_wmean(e_pos, batch.w).detach()) / e0,
                "e_neg": float(e_neg.mean().detach()) / e0}  # fmt: skip

    def energy_step(self, model: Any, opt: Any, batch: Batch, o: NAEOptions, sampler: _Sampler,
                    e0: float, low_precision: bool = False) -> dict[str, float]:  # fmt: skip
        """One energy-phase iteration: negatives, loss, update. ``low_precision``
        (``loop.precision: bfloat16``): the chains and the loss's forward pass run under
        autocast to bfloat16; the chains' images and the weights stay float32."""
        model.train()
        with torch.autocast(batch.x.device.type, dtype=torch.bfloat16, enabled=low_precision):
            terms = self.energy_terms(model, batch, o, sampler, e0)
        logged = {k: terms.pop(k) for k in ("e_pos", "e_neg")}
        total = sum(terms.values())
        opt.zero_grad(set_to_none=True)
        total.backward()
        opt.step()
        return {"loss": float(total.detach()), **{k: float(v.detach()) for k, v in terms.items()}, **logged,
                "accept_z": sampler.acc_z, "accept_x": sampler.acc_x}  # fmt: skip

    def energy_validate(self, model: Any, xv: Any, wv: Any, o: NAEOptions, sampler: _Sampler, e0: float,
                        epoch: int, seed: int) -> dict[str, float]:  # fmt: skip
        """Validation energies, one batch of negatives (its own seeded stream, from the
        current buffer, which it does not change) and the collapse flag."""
        model.eval()
        with torch.no_grad():
            e_pos_all = torch.cat([model.energy(xv[i : i + 2048]) for i in range(0, xv.shape[0], 2048)])
        e_pos = float(_wmean(e_pos_all, wv)) / e0
        probe = _Sampler(copy.deepcopy(sampler.buffer), torch.Generator().manual_seed(seed * 1000 + epoch))
        n = min(o.val_negatives, xv.shape[0])
        x_neg, _ = self.sample_negatives(model, n, o, probe)
        with torch.no_grad():
            e_neg = float(model.energy(x_neg).mean()) / e0
            ref = xv[torch.randperm(xv.shape[0], generator=probe.gen)[:n].to(xv.device)]
            # spread of the negatives against that of the data's reconstructions (both on the
            # decoder manifold): well below one means the chains sit in a few modes
            diversity = _mean_pairwise(x_neg) / max(_mean_pairwise(model(ref)), 1e-30)
            terms: dict[str, float] = {"e_pos": e_pos, "e_neg": e_neg}
            if o.loss == "wasserstein":
                terms["loss"] = float(wasserstein_distance(ref, x_neg)) / e0
            else:
                terms["loss"] = (e_pos - e_neg) / o.temperature
        ratio = e_neg / e_pos if e_pos > 0 else math.inf
        runaway = not (math.isfinite(e_neg) and math.isfinite(e_pos)) or ratio > o.collapse_energy_ratio
        modes = diversity < o.collapse_diversity
        return {**terms, "e_ratio": ratio, "neg_diversity": diversity,
                "collapse": float(runaway or modes), "collapse_energy": float(runaway),
                "collapse_modes": float(modes), "accept_z": probe.acc_z, "accept_x": probe.acc_x}  # fmt: skip

    # -- fit ------------------------------------------------------------------------------

    def fit(self, model: Any, data: FitData, loop: Any, options: Any,
            progress: bool | None = None) -> FitResult:  # fmt: skip
        """AE pre-training through the shared loop, then the energy phase (own loop, so
        that the sampler's buffer and random stream are checkpointed with the weights)."""
        from .._torch import training_device
        from ..loop import fit_tensors, placed, seed_everything, to_device

        o = options or NAEOptions(loss=self.default_loss)
        seed_everything(loop.seed)
        torch.set_num_threads(loop.threads)
        train, val = fit_tensors(data)  # on the CPU: the fingerprint must not depend on the device
        show = sys.stderr.isatty() if progress is None else progress
        # what a checkpoint must match to be resumed (the epoch limit may grow)
        fingerprint = json.dumps({"params": model.hyperparameters(), "seed": loop.seed,
                                  "options": dataclasses.asdict(o) | {"resume": None, "checkpoint": None, "epochs": None},
                                  "data": [int(train[0].shape[0]), float(train[0].double().sum()), int(val[0].shape[0])],
                                  "precision": loop.precision},
                                 sort_keys=True, default=str)  # fmt: skip
        state = self._resume_state(o, fingerprint)
        if o.init_from and state is None:
            source = load_checkpoint(o.init_from)
            theirs = json.loads(source["fingerprint"])["params"]
            if theirs != json.loads(json.dumps(model.hyperparameters())):
                raise ConfigError(f"init_from {o.init_from} holds a network with params {theirs}, "
                                  f"not this config's {model.hyperparameters()}")  # fmt: skip
            model.load_state_dict(source["model"])
        device = training_device(loop.device)
        train, val = to_device(device, train, val)
        with placed(model, device):
            return self._fit(model, o, loop, fingerprint, state, train, val, show)

    def _fit(self, model: Any, o: NAEOptions, loop: Any, fingerprint: str, state: dict[str, Any] | None,
             train: tuple[Any, Any, Any], val: tuple[Any, Any, Any], show: bool) -> FitResult:  # fmt: skip
        from ..loop import _run_phase

        xt, wt, at = train
        xv, wv, av = val
        result = FitResult()
        start = time.monotonic()
        pre, energy = self.phases(loop, o)
        if state is None:
            gen = torch.Generator().manual_seed(loop.seed)
            if o.pretrain_epochs > 0:
                pre_loop = dataclasses.replace(loop, batch_size=o.pretrain_batch_size)
                hist = _run_phase(self, model, pre, pre_loop, o, (xt, wt, at), (xv, wv, av), gen, show, start)
                result.phases.append(hist)
            if o.epochs == 0:  # the plain autoencoder (the paper's "AE" baseline)
                if not result.phases:  # weights from init_from only: record what they give
                    model.eval()
                    val = self.validate(model, xv, wv, av, self.loss_terms, 2048)
                    result.phases.append(PhaseHistory(f"init_from {o.init_from}", val={k: [v] for k, v in val.items()},
                                                      initial_val=val, best_epoch=1, stop_reason="init_from"))  # fmt: skip
                return result
            sampler = _Sampler(ReplayBuffer(o.buffer_size, model.latent_dim, o.replay_prob),
                               torch.Generator().manual_seed(loop.seed + 1))  # fmt: skip
            model.eval()
            with torch.no_grad():
                e0 = float(_wmean(torch.cat([model.energy(xv[i : i + 2048]) for i in range(0, len(xv), 2048)]), wv))
            if not (math.isfinite(e0) and e0 > 0):
                raise InputDataError(f"the pre-trained energy of the validation jets is {e0}: cannot normalise")
            energy_hist = PhaseHistory(energy.name)
            rule = CollapseStopping("min" if o.loss == "wasserstein" else "zero", patience=o.collapse_patience)
            energy_hist.initial_val = self.energy_validate(model, xv, wv, o, sampler, e0, 0, loop.seed)
            opt = torch.optim.Adam(model.parameters(), lr=o.learning_rate)
            best_state = copy.deepcopy(model.state_dict())
            first = 1
            done_wall = 0.0
            if o.checkpoint:
                self._checkpoint(o.checkpoint, fingerprint, model, best_state, opt, sampler, gen, result.phases,
                                 energy_hist, rule, e0, 0, done_wall)  # fmt: skip
                # the pre-trained AE on its own: the paper's "AE" baseline (``init_from``)
                shutil.copyfile(o.checkpoint, pretrained_path(o.checkpoint))
        else:
            model.load_state_dict(state["model"])
            result.phases = [_history_from_state(h) for h in state["phases"]]
            energy_hist = _history_from_state(state["energy_history"])
            sampler = _Sampler(ReplayBuffer(o.buffer_size, model.latent_dim, o.replay_prob), torch.Generator())
            sampler.buffer.load_state_dict(state["buffer"])
            sampler.gen.set_state(state["sampler_rng"])
            gen = torch.Generator()
            gen.set_state(state["loop_rng"])
            torch.set_rng_state(state["torch_rng"])
            rule = CollapseStopping("min" if o.loss == "wasserstein" else "zero", patience=o.collapse_patience,
                                    **state["rule"])  # fmt: skip
            opt = torch.optim.Adam(model.parameters(), lr=o.learning_rate)
            opt.load_state_dict(state["optimizer"])
            best_state = state["best_model"]
            e0 = float(state["e0"])
            first = int(state["epoch"]) + 1
            done_wall = float(state["wall_s"])
            if energy_hist.stop_reason == "sampler_collapse":
                first = o.epochs + 1  # a collapsed run is not continued
            else:
                energy_hist.stop_reason = "epochs"
        t0 = time.monotonic() - done_wall
        n_steps = o.steps_per_epoch or math.ceil(xt.shape[0] / o.batch_size)
        low_precision = loop.precision == "bfloat16"  # iterations only; validation in float32
        bar = tqdm(total=o.epochs, initial=first - 1, desc=f"{self.name} {energy.name}", unit="epoch",
                   disable=not show, file=sys.stderr)  # fmt: skip
        finished = False
        try:
            for epoch in range(first, o.epochs + 1):
                order = torch.randperm(xt.shape[0], generator=gen).to(xt.device)
                sums: dict[str, float] = {}
                total_w = 0.0
                for step in range(n_steps):
                    i = (step * o.batch_size) % xt.shape[0]
                    idx = order[i : i + o.batch_size]
                    batch = Batch(xt[idx], wt[idx], {k: v[idx] for k, v in at.items()})
                    bw = float(batch.w.sum())
                    for k, v in self.energy_step(model, opt, batch, o, sampler, e0, low_precision).items():
                        sums[k] = sums.get(k, 0.0) + v * bw
                    total_w += bw
                for k, s in sums.items():
                    energy_hist.train.setdefault(k, []).append(s / total_w)
                terms = self.energy_validate(model, xv, wv, o, sampler, e0, epoch, loop.seed)
                for k, v in terms.items():
                    energy_hist.val.setdefault(k, []).append(v)
                energy_hist.epochs_run = epoch
                decision = rule.update(epoch, terms)
                if decision.best:
                    energy_hist.best_epoch = epoch
                    best_state = copy.deepcopy(model.state_dict())
                bar.set_postfix(e_pos=f"{terms['e_pos']:.3g}", e_neg=f"{terms['e_neg']:.3g}",
                                loss=f"{terms['loss']:.3g}", best=energy_hist.best_epoch)  # fmt: skip
                bar.update(1)
                stop = decision.stop
                if stop:
                    energy_hist.stop_reason = decision.reason
                elif loop.max_time_s is not None and time.monotonic() - start > loop.max_time_s:
                    energy_hist.stop_reason, stop = "max_time", True
                energy_hist.wall_s = time.monotonic() - t0
                finished = stop or epoch == o.epochs
                if o.checkpoint:
                    self._checkpoint(o.checkpoint, fingerprint, model, best_state, opt, sampler, gen,
                                     result.phases, energy_hist, rule, e0, epoch, energy_hist.wall_s,
                                     finished=finished)  # fmt: skip
                if stop:
                    break
        finally:
            bar.close()
        if energy_hist.best_epoch == 0:
            # every energy epoch was flagged: keep the pre-trained autoencoder, and say so
            energy_hist.stop_reason = (energy_hist.stop_reason if energy_hist.stop_reason != "epochs"
                                       else "no_stable_epoch")  # fmt: skip
        model.load_state_dict(best_state)
        model.eval()
        energy_hist.initial_val = {k: v for k, v in energy_hist.initial_val.items()} | {"e0": e0}
        result.phases.append(energy_hist)
        return result

    def _resume_state(self, o: NAEOptions, fingerprint: str) -> dict[str, Any] | None:
        if not (o.resume and o.checkpoint and Path(o.checkpoint).is_file()):
            return None
        state = load_checkpoint(o.checkpoint)
        if state.get("fingerprint") != fingerprint:
            raise ConfigError(f"checkpoint {o.checkpoint} was written for another configuration: "
                              "delete it, or set resume: false to overwrite it")  # fmt: skip
        print(f"{self.name}: resuming from {o.checkpoint} after energy epoch {state['epoch']}", file=sys.stderr)
        return state

    def _checkpoint(self, path: str, fingerprint: str, model: Any, best_state: dict[str, Any], opt: Any,
                    sampler: _Sampler, gen: Any, phases: list[PhaseHistory], energy_hist: PhaseHistory,
                    rule: CollapseStopping, e0: float, epoch: int, wall_s: float,
                    finished: bool = False) -> None:  # fmt: skip
        _save_checkpoint(path, {
            "fingerprint": fingerprint, "epoch": epoch, "finished": finished, "e0": e0, "wall_s": wall_s,
            "model": model.state_dict(), "best_model": best_state, "optimizer": opt.state_dict(),
            "buffer": sampler.buffer.state_dict(), "sampler_rng": sampler.gen.get_state(),
            "loop_rng": gen.get_state(), "torch_rng": torch.get_rng_state(),
            "phases": [_history_state(h) for h in phases], "energy_history": _history_state(energy_hist),
            "rule": rule.state(),
        })  # fmt: skip

    def scores(self, model: Any, x: Any) -> dict[str, Any]:
        return {"score": model.energy(x)}

    def export(self, model: Any, examples: np.ndarray) -> tuple[Any, float]:
        """The energy graph of a copy whose spectrally normalised weights are baked in
        (W/σ with the stored singular vectors: what the model computes in eval mode)."""
        return super().export(plain_copy(model), examples)


@register_family
class WNAEFamily(NAEFamily):
    """The Wasserstein NAE: the NAE's network and sampler, the loss ``W(x⁺, x⁻)`` (POT)."""

    name = "wnae"
    default_loss = "wasserstein"

    def options(self, data: dict[str, Any] | None) -> Any:
        try:
            import ot  # noqa: F401
        except ImportError as err:
            from ...errors import MissingDependencyError

            raise MissingDependencyError("the wnae family needs POT: pip install 'coffea-anomaly[train]'") from err
        return super().options(data)
