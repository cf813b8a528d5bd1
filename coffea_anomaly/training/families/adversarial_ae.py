"""Family ``adversarial_ae``: the mass-decorrelated image autoencoder of *QCD or What?* (§2.3).

The autoencoder is the image CNN AE of §2.1
(:class:`~coffea_anomaly.training.families.image_cnn_ae.ImageCNNAutoencoder`). An adversary
(dense 800, 400, 200, 100, 50, 25, 10, ReLU, then a softmax over 12 classes) learns the
jet-mass bin of a jet from what the autoencoder gives it. By default (``adversary_input:
score``) that is the per-jet reconstruction loss of Eq. 2, the quantity a cut is made on: the
logarithm of the jet's MSE, standardised within each batch, so that the adversary sees where
a jet ranks among the others. The paper's Eq. 7 also allows an image: the pixel-wise residual
``|x − x̂|`` (``residual``) or the reconstruction ``x̂`` (``output``); against an image the
autoencoder learns to scramble the pattern, which fools the adversary while the MSE still
follows the mass (measured in ``models/README.md``, image_adversarial_ae). The 12 classes
are 10 mass bins equally populated by the training background
(quantiles of ``batch.aux["mass"]`` on the training part) plus an underflow and an
overflow bin, which the training background does not populate.

Training alternates per batch (§2.3): first the autoencoder on ``L = L_auto − λ·L_adv``
(Eq. 8; ``L_adv``: the adversary's cross entropy), then the adversary alone on
``L_adv``. λ is ``model.training: {lambda: ...}``; λ = 0 is the plain autoencoder (the
adversary still learns, and its cross entropy is logged as ``adversary_ce``).

Only the autoencoder's per-jet reconstruction MSE is exported: the adversary is not part
of the graph.

Importing this module needs torch (``pip install 'coffea-anomaly[train]'``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...errors import ConfigError
from .._torch import require_torch
from ..family import FitData, register_family
from ..torch_family import Batch
from ._reconstruction import ReconstructionFamily, reconstruction_mse
from .image_cnn_ae import ImageCNNAutoencoder

torch = require_torch()
nn = torch.nn
F = torch.nn.functional

__all__ = ["AdversarialAutoencoder", "AdversarialFamily", "AdversarialOptions", "mass_bin_edges"]

#: the adversary's hidden layers (§2.3)
ADVERSARY_WIDTHS = (800, 400, 200, 100, 50, 25, 10)
ADVERSARY_INPUTS = ("residual", "output", "score")


@dataclass(frozen=True)
class AdversarialOptions:
    """Training options (``model.training``; the YAML key of ``lam`` is ``lambda``).

    Attributes:
        lam: λ of Eq. 8. The paper's 5·10⁻⁴ does not carry over (its L_auto sums the pixels,
            ours is the pixel mean, and the ``score`` input is scale-free): the shipped
            image_adversarial_ae uses 1e-3 with the ``score`` input (models/README.md).
        mass_bins: equally populated mass bins (10); two overflow bins are added.
        adversary_input: ``score`` (the jet's log-MSE, standardised in the batch; default),
            ``residual`` (|x − x̂|) or ``output`` (x̂).
        adversary_learning_rate: the adversary's Adam learning rate (None: the loop's).
        adversary_steps: adversary updates after each autoencoder update (1 in the paper).
    """

    lam: float = 0.0
    mass_bins: int = 10
    adversary_input: str = "score"
    adversary_learning_rate: float | None = None
    adversary_steps: int = 1

    def __post_init__(self) -> None:
        if self.adversary_steps < 1:
            raise ConfigError("adversary_steps must be >= 1")
        if not np.isfinite(self.lam) or self.lam < 0:
            raise ConfigError(f"lambda must be a finite number >= 0, not {self.lam!r}")
        if self.mass_bins < 2:
            raise ConfigError(f"mass_bins must be >= 2, not {self.mass_bins}")
        if self.adversary_input not in ADVERSARY_INPUTS:
            raise ConfigError(f"adversary_input must be one of {', '.join(ADVERSARY_INPUTS)}")
        if self.adversary_learning_rate is not None and self.adversary_learning_rate <= 0:
            raise ConfigError("adversary_learning_rate must be > 0")


def mass_bin_edges(mass: np.ndarray, n_bins: int) -> np.ndarray:
    """``n_bins + 1`` float32 edges: the training masses' minimum, its ``n_bins``-quantiles, and just
    above its maximum. With ``torch.bucketize(m, edges, right=True)`` class 0 is the
    underflow, classes 1..n_bins hold equal shares of the training jets, class n_bins + 1
    the overflow.

    Raises:
        ConfigError: no finite mass to measure the bins on.
    """
    m = np.asarray(mass, dtype=np.float64)
    m = m[np.isfinite(m)]
    if m.size == 0:
        raise ConfigError("the adversarial AE needs the jet mass of every training jet (aux 'mass')")
    inner = np.quantile(m, np.linspace(0, 1, n_bins + 1)[1:-1])
    # float32, as the loop hands the masses over: the largest training mass stays inside
    top = np.nextafter(np.float32(m.max()), np.float32(np.inf))
    return np.concatenate([[m.min()], inner, [top]]).astype(np.float32)


class AdversarialAutoencoder(nn.Module):  # type: ignore[misc,name-defined]
    """The image AE (``ae``) and its mass adversary (``adversary``); only ``ae`` is exported.

    Args:
        mass_bins: equally populated mass bins of the adversary (plus two overflow bins).
        adversary_input: ``score`` (default), ``residual`` or ``output``.
        adversary: widths of the adversary's hidden layers (the paper's by default).
        **ae: :class:`ImageCNNAutoencoder`'s parameters.
    """

    def __init__(self, mass_bins: int = 10, adversary_input: str = "score",
                 adversary: tuple[int, ...] = ADVERSARY_WIDTHS, **ae: Any) -> None:  # fmt: skip
        super().__init__()
        if not adversary or any(int(h) < 1 for h in adversary):
            raise ConfigError("the adversary needs at least one hidden layer of positive width")
        self.ae = ImageCNNAutoencoder(**ae)
        self.item_shape = self.ae.item_shape
        self.adversary_input = adversary_input
        self.adversary_widths = tuple(int(h) for h in adversary)
        n = 1 if adversary_input == "score" else int(np.prod(self.item_shape))
        widths = [n, *self.adversary_widths]
        layers: list[Any] = [nn.Flatten()]
        for a, b in zip(widths[:-1], widths[1:]):
            layers += [nn.Linear(a, b), nn.ReLU()]
        layers.append(nn.Linear(widths[-1], mass_bins + 2))  # logits; softmax in the loss
        self.adversary = nn.Sequential(*layers)
        self.register_buffer("mass_edges", torch.zeros(mass_bins + 1))
        #: the adversary's inputs are divided by the RMS pixel of the training images, so
        #: that it sees numbers of order one (unit-sum images have pixels of order 1/npix²)
        self.register_buffer("adversary_scale", torch.ones(()))

    def forward(self, x: Any) -> Any:
        """The autoencoder's reconstruction (what the exported score uses)."""
        return self.ae(x)

    def mass_class(self, mass: Any) -> Any:
        """Class 0..mass_bins+1 of each jet mass."""
        return torch.bucketize(mass.contiguous(), self.mass_edges, right=True)

    def adversary_logits(self, x: Any, recon: Any) -> Any:
        """The adversary's logits for inputs ``x`` and their reconstruction ``recon``."""
        if self.adversary_input == "score":
            return self.adversary(_batch_standardised_log_mse(x, recon)[:, None])
        seen = (x - recon).abs() if self.adversary_input == "residual" else recon
        return self.adversary(seen / self.adversary_scale)

    def hyperparameters(self) -> dict[str, Any]:
        return {**self.ae.hyperparameters(), "mass_bins": int(self.mass_edges.numel()) - 1,
                "adversary_input": self.adversary_input, "adversary": list(self.adversary_widths)}  # fmt: skip


def _item_mse(x: Any, recon: Any) -> Any:
    """Each item's reconstruction MSE (the exported score)."""
    return ((recon - x) ** 2).reshape(len(x), -1).mean(dim=1)


def _batch_standardised_log_mse(x: Any, recon: Any) -> Any:
    """log of each item's reconstruction MSE, shifted and scaled to mean 0, spread 1 over the
    batch (a batch of one gives 0): the score's rank information, free of its overall scale,
    which falls by orders of magnitude during training."""
    z = torch.log(_item_mse(x, recon) + 1e-20)
    if len(z) < 2:
        return torch.zeros_like(z)
    return (z - z.mean()) / (z.std(unbiased=False) + 1e-6)


@dataclass
class _Optimizers:
    """The autoencoder's and the adversary's optimisers (one 'optimiser' for the loop)."""

    ae: Any
    adversary: Any


def _per_item_terms(model: Any, batch: Batch, lam: float) -> dict[str, Any]:
    recon = model.ae(batch.x)
    mse = _item_mse(batch.x, recon)
    if lam == 0:
        return {"mse": mse}
    ce = F.cross_entropy(model.adversary_logits(batch.x, recon), model.mass_class(batch.aux["mass"]),
                         reduction="none")  # fmt: skip
    return {"mse": mse, "adversary": -lam * ce}


def _weighted(v: Any, w: Any) -> Any:
    return (v * w).sum() / w.sum()


@register_family
class AdversarialFamily(ReconstructionFamily):
    """The §2.3 adversarial AE; ``model.params``: :class:`ImageCNNAutoencoder`'s; options
    :class:`AdversarialOptions`."""

    name = "adversarial_ae"
    options_class = AdversarialOptions

    def options(self, data: dict[str, Any] | None) -> Any:
        data = dict(data or {})
        if "lambda" in data:
            data["lam"] = data.pop("lambda")
        return super().options(data)

    def network(self, params: dict[str, Any]) -> Any:
        return AdversarialAutoencoder(**params)

    def build(self, params: dict[str, Any], data: FitData, options: Any) -> Any:
        opts = options or AdversarialOptions()
        return super().build({**(params or {}), "mass_bins": opts.mass_bins,
                              "adversary_input": opts.adversary_input}, data, opts)  # fmt: skip

    def prepare(self, model: Any, data: FitData, options: Any) -> None:
        if "mass" not in data.aux_train:
            raise ConfigError("the adversarial AE needs the jet mass (aux 'mass'): train it on jets")
        edges = mass_bin_edges(data.aux_train["mass"], len(model.mass_edges) - 1)
        model.mass_edges.copy_(torch.as_tensor(edges, dtype=torch.float32))
        rms = float(np.sqrt(np.mean(np.square(data.x_train, dtype=np.float64))))
        model.adversary_scale.fill_(rms if rms > 0 and np.isfinite(rms) else 1.0)

    def loss_terms(self, model: Any, batch: Batch, lam: float = 0.0) -> dict[str, Any]:
        return _per_item_terms(model, batch, lam)

    def phases(self, loop: Any, options: Any) -> list[Any]:
        from ..torch_family import Phase

        lam = (options or AdversarialOptions()).lam
        return [Phase("adversarial" if lam else "train", loss=lambda m, b: _per_item_terms(m, b, lam))]

    def optimizer(self, model: Any, learning_rate: float, loop: Any, options: Any = None) -> Any:
        ae = super().optimizer(model.ae, learning_rate, loop, options)
        rate = (options or AdversarialOptions()).adversary_learning_rate or learning_rate
        return _Optimizers(ae, torch.optim.Adam(model.adversary.parameters(), lr=rate))

    def train_step(self, model: Any, opt: Any, batch: Batch, loss: Callable[..., Any],
                   options: Any = None) -> dict[str, float]:  # fmt: skip
        """The autoencoder on ``L_auto − λ·L_adv``, then the adversary on ``L_adv`` (§2.3)."""
        terms = {k: _weighted(v, batch.w) for k, v in loss(model, batch).items()}
        total = sum(terms.values())
        opt.ae.zero_grad(set_to_none=True)
        total.backward()
        opt.ae.step()
        with torch.no_grad():
            recon = model.ae(batch.x)
        target = model.mass_class(batch.aux["mass"])
        for _ in range((options or AdversarialOptions()).adversary_steps):
            ce = _weighted(F.cross_entropy(model.adversary_logits(batch.x, recon), target, reduction="none"), batch.w)
            opt.adversary.zero_grad(set_to_none=True)
            ce.backward()
            opt.adversary.step()
        return {"loss": float(total.detach()), **{k: float(v.detach()) for k, v in terms.items()},
                "adversary_ce": float(ce.detach())}  # fmt: skip

    def validate(self, model: Any, x: Any, w: Any, aux: dict[str, Any], loss: Callable[..., Any],
                 batch_size: int) -> dict[str, float]:  # fmt: skip
        """The loss terms, and the adversary's cross entropy (``adversary_ce``) for every λ."""
        terms = super().validate(model, x, w, aux, loss, batch_size)
        ce = 0.0
        with torch.no_grad():
            for i in range(0, x.shape[0], batch_size):
                xb, wb = x[i : i + batch_size], w[i : i + batch_size]
                logits = model.adversary_logits(xb, model.ae(xb))
                per = F.cross_entropy(logits, model.mass_class(aux["mass"][i : i + batch_size]), reduction="none")
                ce += float((per * wb).sum())
        return {**terms, "adversary_ce": ce / float(w.sum())}

    def scores(self, model: Any, x: Any) -> dict[str, Any]:
        return {"score": reconstruction_mse(model.ae, x)}
