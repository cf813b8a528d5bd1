"""PyTorch autoencoders whose per-item reconstruction error is the anomaly score.

Both models share one interface (:class:`Autoencoder`): ``target(x)`` is what the
network reconstructs (the input itself, or its standardised form), ``forward(x)``
returns the reconstruction of that target, and ``score(x)`` is the per-item mean
squared error. Training minimises the batch mean of ``score``, and the exported ONNX
graph outputs ``score`` itself, so the number an analyst cuts on is the training loss.

Importing this module needs torch (``pip install 'coffea-anomaly[train]'``).
"""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError
from ._torch import require_torch

torch = require_torch()
nn = torch.nn

__all__ = ["MODEL_KINDS", "Autoencoder", "DenseAutoencoder", "ImageCNNAutoencoder", "build_model"]


class Autoencoder(nn.Module):  # type: ignore[misc,name-defined]
    """Base class: reconstruction of :meth:`target` and the per-item MSE :meth:`score`."""

    #: shape of one input item, without the batch axis
    item_shape: tuple[int, ...] = ()

    def target(self, x: Any) -> Any:
        """What the network reconstructs (the input, possibly preprocessed)."""
        return x

    def score(self, x: Any) -> Any:
        """Per-item reconstruction MSE, averaged over pixels or features: shape (batch,)."""
        t = self.target(x)
        err = (self(x) - t) ** 2
        return err.reshape(err.shape[0], -1).mean(dim=1)

    def hyperparameters(self) -> dict[str, Any]:
        """The constructor arguments (JSON-serialisable), for the model card."""
        raise NotImplementedError


def _same_conv(c_in: int, c_out: int, kernel: int) -> Any:
    """A stride-1 convolution that keeps the image size, also for even kernels.

    Even kernels need asymmetric padding (Keras ``padding="same"`` puts the extra row and
    column at the bottom/right); an explicit ZeroPad2d exports to ONNX as a plain Pad.
    """
    lo = (kernel - 1) // 2
    hi = kernel - 1 - lo
    return nn.Sequential(nn.ZeroPad2d((lo, hi, lo, hi)), nn.Conv2d(c_in, c_out, kernel))


class ImageCNNAutoencoder(Autoencoder):
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


class DenseAutoencoder(Autoencoder):
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


#: model kind (as written in training configs and model cards) -> class
MODEL_KINDS: dict[str, type[Autoencoder]] = {
    "image_cnn_ae": ImageCNNAutoencoder,
    "dense_ae": DenseAutoencoder,
}


def build_model(kind: str, params: dict[str, Any] | None = None) -> Autoencoder:
    """Construct a model by kind name with keyword parameters (lists become tuples)."""
    if kind not in MODEL_KINDS:
        raise ConfigError(f"unknown model kind {kind!r}; known: {', '.join(sorted(MODEL_KINDS))}")
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in (params or {}).items()}
    try:
        return MODEL_KINDS[kind](**kwargs)
    except TypeError as err:
        raise ConfigError(f"invalid parameters for model {kind!r}: {err}") from err
