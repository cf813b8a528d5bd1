"""Family ``farina_cnn_ae``: the convolutional jet-image autoencoder of Farina, Nakai, Shih (App. A.2).

The 37×37 image is zero-padded to 40×40 inside the network (§II.B (iii): "we zero-pad the
inputs to the CNN autoencoder so that they are 40 × 40 pixels"; one row/column before, two
after, as the ``pad_to`` of the image representation does). Encoder: three 3×3 convolutions
of 128 maps (ReLU, ``same``) with 2×2 max pooling after the first two (40 → 20 → 10),
flatten (12 800), Dense 32 (ReLU), Dense k = 6 (linear). Decoder: Dense 32 (ReLU),
Dense 12 800 (ReLU), reshape to 128 × 10 × 10, convolution, 2× upsampling, convolution,
2× upsampling, a linear one-map convolution, softmax over the 1600 pixels. Loss and score:
the per-jet MSE between the padded input and the reconstruction, over the 1600 pixels.

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

__all__ = ["FarinaCNNAutoencoder", "FarinaCNNFamily"]


class FarinaCNNAutoencoder(nn.Module):  # type: ignore[misc,name-defined]
    """The App. A.2 network (torch's channels-first layout of the same layers).

    Args:
        npix: input image size (square), 37 in the paper.
        pad_to: size after zero padding, divisible by 4 (40).
        channels: feature maps of every hidden convolution (128).
        dense: width of the dense layer on each side of the latent layer (32).
        latent: latent dimension k (6).
        kernel: convolution kernel size (odd; 3).
    """

    def __init__(self, npix: int = 37, pad_to: int = 40, channels: int = 128, dense: int = 32,
                 latent: int = 6, kernel: int = 3) -> None:  # fmt: skip
        super().__init__()
        if pad_to < npix or pad_to % 4:
            raise ConfigError(f"FarinaCNNAutoencoder needs pad_to >= npix and divisible by 4, got {pad_to}")
        if min(npix, channels, dense, latent) < 1 or kernel < 1 or kernel % 2 == 0:
            raise ConfigError("FarinaCNNAutoencoder sizes must be positive and the kernel odd")
        self.npix, self.pad_to, self.channels = int(npix), int(pad_to), int(channels)
        self.dense, self.latent, self.kernel = int(dense), int(latent), int(kernel)
        self.item_shape = (self.npix, self.npix)
        extra = self.pad_to - self.npix
        before = extra // 2
        self.pad = nn.ZeroPad2d((before, extra - before, before, extra - before))
        c, k, q = self.channels, self.kernel, self.pad_to // 4
        flat = c * q * q

        def conv(a: int, b: int) -> Any:
            return nn.Conv2d(a, b, k, padding=k // 2)

        self.encoder = nn.Sequential(
            nn.Unflatten(1, (1, self.pad_to)),
            conv(1, c), nn.ReLU(), nn.MaxPool2d(2),
            conv(c, c), nn.ReLU(), nn.MaxPool2d(2),
            conv(c, c), nn.ReLU(),
            nn.Flatten(), nn.Linear(flat, dense), nn.ReLU(), nn.Linear(dense, latent),
        )  # fmt: skip
        self.decoder = nn.Sequential(
            nn.Linear(latent, dense), nn.ReLU(), nn.Linear(dense, flat), nn.ReLU(),
            nn.Unflatten(1, (c, q, q)),
            conv(c, c), nn.ReLU(), nn.Upsample(scale_factor=2, mode="nearest"),
            conv(c, c), nn.ReLU(), nn.Upsample(scale_factor=2, mode="nearest"),
            conv(c, 1), nn.Flatten(), nn.Softmax(dim=1), nn.Unflatten(1, (self.pad_to, self.pad_to)),
        )  # fmt: skip

    def target(self, x: Any) -> Any:
        """The zero-padded input image, what the network reconstructs."""
        return self.pad(x)

    def forward(self, x: Any) -> Any:
        """Reconstruct the padded images ``(batch, pad_to, pad_to)`` of ``(batch, npix, npix)``."""
        return self.decoder(self.encoder(self.pad(x)))

    def hyperparameters(self) -> dict[str, Any]:
        return {"npix": self.npix, "pad_to": self.pad_to, "channels": self.channels,
                "dense": self.dense, "latent": self.latent, "kernel": self.kernel}  # fmt: skip


@register_family
class FarinaCNNFamily(ReconstructionFamily):
    """Farina et al.'s CNN AE; ``model.params`` are :class:`FarinaCNNAutoencoder`'s."""

    name = "farina_cnn_ae"

    def network(self, params: dict[str, Any]) -> Any:
        return FarinaCNNAutoencoder(**params)
