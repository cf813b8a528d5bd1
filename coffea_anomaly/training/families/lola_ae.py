"""Family ``lola_ae``: the 4-vector autoencoder of *QCD or What?* (§2.2, Fig. 3).

Input: the 40 leading constituents as (E, px, py, pz) in the rest frame of the fat jet
(the ``constituents`` representation), divided inside the graph by one energy scale
measured on the training part (the RMS of the inputs), so that the Lorentz structure is
kept. Then:

* **CoLa** (Eq. 4): ``k̃_j = Σ_i k_i C_ij`` with ``C = [1 | 𝟙_N | C_trainable]``: the jet
  4-vector, the N constituents and M = 10 trainable combinations (1 + 40 + 10 = 51 vectors);
* **LoLa**: ``lola="mass"`` (the paper's autoencoder, Eq. 5) extends every k̃_j by its
  invariant mass √(k̃_j²) (5 × 51 = 255 units); ``lola="scalars"`` maps every k̃_j to the
  DeepTopLoLa observables instead — m², pT², E, a trainable weighted energy sum
  ``Σ_m w^E_jm E_m`` and a trainable weighted Minkowski-distance sum ``Σ_m w^d_jm d²_jm``;
* a dense encoder to the bottleneck and a symmetric decoder (PReLU, linear last layer)
  whose 160 outputs are 40 four-vectors.

Loss and score: the per-jet MSE between the 40 output 4-vectors and the (scaled) input
4-vectors, over the 160 numbers. √ of a negative k̃² (possible for trainable
combinations) is taken as √(max(k̃², 0) + ε).

Importing this module needs torch (``pip install 'coffea-anomaly[train]'``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...errors import ConfigError
from .._torch import require_torch
from ..family import FitData, register_family
from ._reconstruction import ReconstructionFamily

torch = require_torch()
nn = torch.nn

__all__ = ["CoLa", "LoLa", "LoLaAutoencoder", "LoLaFamily"]

LOLA_KINDS = ("mass", "scalars")
#: ε under the square root of the invariant mass (scaled units)
MASS_EPS = 1e-6


class CoLa(nn.Module):  # type: ignore[misc,name-defined]
    """Combination layer (Eq. 4): the sum of all vectors, every vector, ``m`` trainable sums."""

    def __init__(self, n: int, m: int) -> None:
        super().__init__()
        self.n, self.m = int(n), int(m)
        fixed = torch.cat([torch.ones(n, 1), torch.eye(n)], dim=1)
        self.register_buffer("fixed", fixed)
        self.trainable = nn.Parameter(torch.randn(n, m) / np.sqrt(n))

    @property
    def n_out(self) -> int:
        return 1 + self.n + self.m

    def forward(self, k: Any) -> Any:
        """``(batch, n, 4) -> (batch, 1 + n + m, 4)``."""
        c = torch.cat([self.fixed, self.trainable], dim=1)
        return torch.einsum("bif,ij->bjf", k, c)


def _minkowski_square(k: Any) -> Any:
    return k[..., 0] ** 2 - (k[..., 1:] ** 2).sum(dim=-1)


class LoLa(nn.Module):  # type: ignore[misc,name-defined]
    """Lorentz layer: per combined vector, 5 features (see the module docstring)."""

    def __init__(self, n_vectors: int, kind: str = "mass") -> None:
        super().__init__()
        if kind not in LOLA_KINDS:
            raise ConfigError(f"lola must be one of {', '.join(LOLA_KINDS)}, not {kind!r}")
        self.kind = kind
        if kind == "scalars":
            self.w_energy = nn.Parameter(torch.randn(n_vectors, n_vectors) / np.sqrt(n_vectors))
            self.w_distance = nn.Parameter(torch.randn(n_vectors, n_vectors) / np.sqrt(n_vectors))

    def forward(self, k: Any) -> Any:
        """``(batch, n, 4) -> (batch, n, 5)``."""
        m2 = _minkowski_square(k)
        if self.kind == "mass":
            mass = torch.sqrt(torch.relu(m2) + MASS_EPS)
            return torch.cat([k, mass.unsqueeze(-1)], dim=-1)
        energy = k[..., 0]
        pt2 = k[..., 1] ** 2 + k[..., 2] ** 2
        diff = k.unsqueeze(2) - k.unsqueeze(1)  # (batch, j, m, 4)
        d2 = _minkowski_square(diff)
        e_sum = energy @ self.w_energy.T
        d_sum = (d2 * self.w_distance).sum(dim=-1)
        return torch.stack([m2, pt2, energy, e_sum, d_sum], dim=-1)


class LoLaAutoencoder(nn.Module):  # type: ignore[misc,name-defined]
    """CoLa → LoLa → dense encoder → bottleneck → dense decoder → 40 four-vectors.

    Args:
        n_constituents: N, the constituents of the input (40).
        combinations: M, trainable CoLa combinations (10).
        hidden: widths of the dense encoder after the LoLa layer (mirrored in the decoder).
        bottleneck: latent size.
        lola: ``mass`` (Eq. 5) or ``scalars`` (DeepTopLoLa observables).
    """

    def __init__(self, n_constituents: int = 40, combinations: int = 10, hidden: tuple[int, ...] = (100, 50),
                 bottleneck: int = 10, lola: str = "mass") -> None:  # fmt: skip
        super().__init__()
        if min(n_constituents, bottleneck) < 1 or combinations < 0 or any(h < 1 for h in hidden):
            raise ConfigError("LoLaAutoencoder sizes must be positive")
        self.n, self.m = int(n_constituents), int(combinations)
        self.hidden, self.bottleneck, self.lola_kind = tuple(int(h) for h in hidden), int(bottleneck), lola
        self.item_shape = (self.n, 4)
        self.register_buffer("scale", torch.ones(()))
        self.cola = CoLa(self.n, self.m)
        self.lola = LoLa(self.cola.n_out, lola)
        widths = [5 * self.cola.n_out, *self.hidden, self.bottleneck]
        enc: list[Any] = [nn.Flatten()]
        for a, b in zip(widths[:-1], widths[1:]):
            enc += [nn.Linear(a, b), nn.PReLU(b)]
        back = [self.bottleneck, *self.hidden[::-1], 4 * self.n]
        dec: list[Any] = []
        for i, (a, b) in enumerate(zip(back[:-1], back[1:])):
            dec.append(nn.Linear(a, b))
            if i < len(back) - 2:  # linear last layer
                dec.append(nn.PReLU(b))
        dec.append(nn.Unflatten(1, self.item_shape))
        self.encoder = nn.Sequential(*enc)
        self.decoder = nn.Sequential(*dec)

    def set_scale(self, x: np.ndarray) -> None:
        """One energy scale for every component: the RMS of the training inputs (1 if zero)."""
        rms = float(np.sqrt(np.mean(np.square(np.asarray(x, dtype=np.float64))))) if len(x) else 0.0
        self.scale.fill_(rms if rms > 0 and np.isfinite(rms) else 1.0)

    def target(self, x: Any) -> Any:
        """The scaled input 4-vectors, what the network reconstructs."""
        return x / self.scale

    def forward(self, x: Any) -> Any:
        """Reconstruct ``(batch, N, 4)`` scaled 4-vectors."""
        return self.decoder(self.encoder(self.lola(self.cola(self.target(x)))))

    def hyperparameters(self) -> dict[str, Any]:
        return {"n_constituents": self.n, "combinations": self.m, "hidden": list(self.hidden),
                "bottleneck": self.bottleneck, "lola": self.lola_kind}  # fmt: skip


@register_family
class LoLaFamily(ReconstructionFamily):
    """The LoLa AE; ``model.params`` are :class:`LoLaAutoencoder`'s; the scale is measured
    on the training part."""

    name = "lola_ae"

    def network(self, params: dict[str, Any]) -> Any:
        return LoLaAutoencoder(**params)

    def prepare(self, model: Any, data: FitData, options: Any) -> None:
        model.set_scale(data.x_train)
