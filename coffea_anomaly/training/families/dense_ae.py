"""Family ``dense_ae``: a dense autoencoder on feature vectors, standardised inside the graph.

Score: the per-item reconstruction MSE over the standardised features.

Importing this module needs torch (``pip install 'coffea-anomaly[train]'``).
"""

from __future__ import annotations

from typing import Any

from ...errors import ConfigError
from .._torch import require_torch
from ..family import FitData, register_family
from ._reconstruction import ReconstructionFamily

torch = require_torch()
nn = torch.nn

__all__ = ["DenseAutoencoder", "DenseAutoencoderFamily"]


class DenseAutoencoder(nn.Module):  # type: ignore[misc,name-defined]
    """A dense autoencoder for feature vectors, with standardisation inside the model.

    The inputs are standardised with a per-feature mean and standard deviation measured
    on the training data and stored as buffers, so they travel with the weights into the
    ONNX graph; the network reconstructs the standardised vector and the score is the
    MSE averaged over features in standardised units.

    Args:
        n_features: input dimension (12 for the QUAK dijet features).
        hidden: widths of the encoder's hidden layers (mirrored in the decoder).
        latent: bottleneck size.
    """

    def __init__(
        self, n_features: int = 12, hidden: tuple[int, ...] = (32, 16), latent: int = 4
    ) -> None:
        super().__init__()
        if n_features < 1 or latent < 1 or any(h < 1 for h in hidden):
            raise ConfigError("DenseAutoencoder sizes must be positive")
        self.n_features, self.hidden, self.latent = int(n_features), tuple(hidden), int(latent)
        self.item_shape = (self.n_features,)
        self.register_buffer("mean", torch.zeros(self.n_features))
        self.register_buffer("std", torch.ones(self.n_features))
        widths = [self.n_features, *self.hidden, self.latent]
        enc: list[Any] = []
        for a, b in zip(widths[:-1], widths[1:]):
            enc += [nn.Linear(a, b), nn.PReLU(b)]
        dec: list[Any] = []
        back = widths[::-1]
        for i, (a, b) in enumerate(zip(back[:-1], back[1:])):
            dec.append(nn.Linear(a, b))
            if i < len(back) - 2:  # linear last layer
                dec.append(nn.PReLU(b))
        self.encoder = nn.Sequential(*enc)
        self.decoder = nn.Sequential(*dec)

    def set_standardisation(self, x: Any) -> None:
        """Store the per-feature mean and standard deviation of training data ``x``.

        A feature with zero spread keeps unit scale, so it cannot divide by zero.
        """
        x = torch.as_tensor(x, dtype=torch.float32)
        if x.ndim != 2 or x.shape[1] != self.n_features:
            raise ConfigError(
                f"standardisation data must have shape (n, {self.n_features}), got {tuple(x.shape)}"
            )
        mean = x.mean(dim=0)
        std = x.std(dim=0, unbiased=False)
        std = torch.where(std > 0, std, torch.ones_like(std))
        self.mean.copy_(mean)
        self.std.copy_(std)

    def target(self, x: Any) -> Any:
        return (x - self.mean) / self.std

    def forward(self, x: Any) -> Any:
        """Reconstruct the standardised features of a batch ``(batch, n_features)``."""
        return self.decoder(self.encoder(self.target(x)))

    def hyperparameters(self) -> dict[str, Any]:
        return {"n_features": self.n_features, "hidden": list(self.hidden), "latent": self.latent}


@register_family
class DenseAutoencoderFamily(ReconstructionFamily):
    """Dense AE on features; the standardisation is measured on the training part."""

    name = "dense_ae"

    def network(self, params: dict[str, Any]) -> Any:
        return DenseAutoencoder(**params)

    def prepare(self, model: Any, data: FitData, options: Any) -> None:
        model.set_standardisation(data.x_train)
