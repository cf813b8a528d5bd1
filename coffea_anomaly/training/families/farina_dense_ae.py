"""Family ``farina_dense_ae``: the dense jet-image autoencoder of Farina, Nakai, Shih (App. A.1).

Flattened 37×37 image → Dense 32 (ReLU) → Dense k = 6 (ReLU) → Dense 32 (ReLU) →
Dense 37·37 (ReLU) → softmax over the pixels, so that the reconstruction is an image of
unit total intensity like the input. Loss and score: the per-jet MSE over the pixels
(Eq. 2.1; Keras ``mean_squared_error``).

Importing this module needs torch (``pip install 'coffea-anomaly[train]'``).
"""

from __future__ import annotations

from typing import Any

from ...errors import ConfigError
from .._torch import require_torch
from ..family import register_family
from ._reconstruction import ReconstructionFamily

torch = require_torch()
nn = torch.nn

__all__ = ["FarinaDenseAutoencoder", "FarinaDenseFamily"]


class FarinaDenseAutoencoder(nn.Module):  # type: ignore[misc,name-defined]
    """The App. A.1 network.

    Args:
        npix: image size (square), 37 in the paper.
        hidden: width of the dense layer on each side of the latent layer (32).
        latent: latent dimension k (6, §III.B).
    """

    def __init__(self, npix: int = 37, hidden: int = 32, latent: int = 6) -> None:
        super().__init__()
        if min(npix, hidden, latent) < 1:
            raise ConfigError("FarinaDenseAutoencoder sizes must be positive")
        self.npix, self.hidden, self.latent = int(npix), int(hidden), int(latent)
        self.item_shape = (self.npix, self.npix)
        n = self.npix * self.npix
        self.encoder = nn.Sequential(nn.Flatten(), nn.Linear(n, hidden), nn.ReLU(),
                                     nn.Linear(hidden, latent), nn.ReLU())  # fmt: skip
        self.decoder = nn.Sequential(nn.Linear(latent, hidden), nn.ReLU(), nn.Linear(hidden, n), nn.ReLU(),
                                     nn.Softmax(dim=1), nn.Unflatten(1, self.item_shape))  # fmt: skip

    def forward(self, x: Any) -> Any:
        """Reconstruct a batch of images ``(batch, npix, npix)`` (each sums to one)."""
        return self.decoder(self.encoder(x))

    def hyperparameters(self) -> dict[str, Any]:
        return {"npix": self.npix, "hidden": self.hidden, "latent": self.latent}


@register_family
class FarinaDenseFamily(ReconstructionFamily):
    """Farina et al.'s dense AE; ``model.params`` are :class:`FarinaDenseAutoencoder`'s."""

    name = "farina_dense_ae"

    def network(self, params: dict[str, Any]) -> Any:
        return FarinaDenseAutoencoder(**params)
