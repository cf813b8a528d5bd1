"""Family ``image_cnn_ae``: the jet-image CNN autoencoder of *QCD or What?* (§2.1, Fig. 2).

Score: the per-jet reconstruction MSE over the image's pixels.

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

__all__ = ["ImageCNNAutoencoder", "ImageCNNFamily"]


def _same_conv(c_in: int, c_out: int, kernel: int) -> Any:
    """A stride-1 convolution that keeps the image size, also for even kernels.

    Even kernels need asymmetric padding (Keras ``padding="same"`` puts the extra row and
    column at the bottom/right); an explicit ZeroPad2d exports to ONNX as a plain Pad.
    """
    lo = (kernel - 1) // 2
    hi = kernel - 1 - lo
    return nn.Sequential(nn.ZeroPad2d((lo, hi, lo, hi)), nn.Conv2d(c_in, c_out, kernel))


class ImageCNNAutoencoder(nn.Module):  # type: ignore[misc,name-defined]
    """The jet-image autoencoder of *QCD or What?* (Heimel et al., Fig. 2, §2.1).

    Encoder: two convolutions at full resolution, 2x2 average pooling (40x40 -> 20x20),
    two convolutions down to one channel, flatten (400), dense 100, dense ``bottleneck``.
    The decoder mirrors it (dense 100, dense 400, convolutions, 2x upsampling,
    convolutions). PReLU everywhere except the last layer, which is linear.

    Args:
        npix: image size (square, even), 40 in the paper.
        bottleneck: latent size; the paper scans 6..34 and uses 32.
        channels: feature maps of the full-resolution and of the pooled convolutions.
        kernel: convolution kernel size (4 as in DeepTop).
        dense: width of the dense layer between the flattened image and the bottleneck.
    """

    def __init__(
        self,
        npix: int = 40,
        bottleneck: int = 32,
        channels: tuple[int, int] = (10, 5),
        kernel: int = 4,
        dense: int = 100,
    ) -> None:
        super().__init__()
        if npix < 2 or npix % 2:
            raise ConfigError(f"ImageCNNAutoencoder needs an even image size, got npix={npix}")
        if bottleneck < 1 or dense < 1 or kernel < 1 or min(channels) < 1:
            raise ConfigError("ImageCNNAutoencoder sizes must be positive")
        c1, c2 = (int(c) for c in channels)
        half = npix // 2
        self.npix, self.bottleneck = int(npix), int(bottleneck)
        self.channels, self.kernel, self.dense = (c1, c2), int(kernel), int(dense)
        self.item_shape = (self.npix, self.npix)
        flat = half * half
        self.encoder = nn.Sequential(
            nn.Unflatten(1, (1, npix)),
            _same_conv(1, c1, kernel), nn.PReLU(c1),
            _same_conv(c1, c2, kernel), nn.PReLU(c2),
            nn.AvgPool2d(2),
            _same_conv(c2, c2, kernel), nn.PReLU(c2),
            _same_conv(c2, 1, kernel), nn.PReLU(1),
            nn.Flatten(),
            nn.Linear(flat, dense), nn.PReLU(dense),
            nn.Linear(dense, bottleneck), nn.PReLU(bottleneck),
        )  # fmt: skip
        self.decoder = nn.Sequential(
            nn.Linear(bottleneck, dense), nn.PReLU(dense),
            nn.Linear(dense, flat), nn.PReLU(flat),
            nn.Unflatten(1, (1, half, half)),
            _same_conv(1, c2, kernel), nn.PReLU(c2),
            _same_conv(c2, c2, kernel), nn.PReLU(c2),
            nn.Upsample(scale_factor=2, mode="nearest"),
            _same_conv(c2, c1, kernel), nn.PReLU(c1),
            _same_conv(c1, 1, kernel),  # linear last layer
            nn.Flatten(1, 2),
        )  # fmt: skip

    def forward(self, x: Any) -> Any:
        """Reconstruct a batch of images ``(batch, npix, npix)``."""
        return self.decoder(self.encoder(x))

    def hyperparameters(self) -> dict[str, Any]:
        return {
            "npix": self.npix,
            "bottleneck": self.bottleneck,
            "channels": list(self.channels),
            "kernel": self.kernel,
            "dense": self.dense,
        }


@register_family
class ImageCNNFamily(ReconstructionFamily):
    """The QCD-or-What image autoencoder; ``model.params`` are :class:`ImageCNNAutoencoder`'s."""

    name = "image_cnn_ae"

    def network(self, params: dict[str, Any]) -> Any:
        return ImageCNNAutoencoder(**params)
