"""Latent-space characterisation of a VAE (*Bump hunting in latent space*, §V).

The trained encoder is frozen (it is read from the exported ONNX graph, outputs
``z_mean`` and ``z_logvar``). A second decoder is trained on ``(z, m)`` with
``z ~ N(mean, sigma)`` and ``m ~ N(m_jj, 0.025 m_jj)`` (standard-scaled), to reconstruct the
standard-scaled observables. Scanning a grid of ``(z, m_jj)`` through it gives heat maps of
what the model "thinks" an event at that latent point and dijet mass looks like; with the
background and signal contours overlaid, a localised feature at the signal's m_jj points
to the anomaly. The marginalised ratio ``<O>_z / <O>_{z,m_jj}`` is drawn for the data and,
as bands, for decoders trained on random background-only subsets (statistical fluctuations
and residual z–m_jj correlation).

Importing this module needs torch (``pip install 'coffea-anomaly[train]'``).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from ..errors import ConfigError, InputDataError
from ._torch import require_torch

torch = require_torch()
nn = torch.nn

__all__ = ["Characterisation", "CharacteriseConfig", "characterise", "train_conditional_decoder"]

#: relative m_jj resolution used to smear the mass input (§V: sigma_m = 0.025 m_jj)
MJJ_RESOLUTION = 0.025


@dataclass(frozen=True)
class CharacteriseConfig:
    """Settings of :func:`characterise`.

    Attributes:
        epochs: maximum epochs of each decoder (early stopping on a 20 % validation part).
        batch_size: minibatch size.
        learning_rate: Adam learning rate (§V: Adam works better than Adadelta here).
        grid: points per axis of the (z, m_jj) scan.
        mjj_range: scanned m_jj range in GeV (None: the 1–99 % quantiles of the data).
        subsets: background-only subsets for the bands (0: no bands).
        subset_fraction: share of the background events in each subset.
        seed: seeds the decoders, the smearing and the subsets.
    """

    epochs: int = 40
    batch_size: int = 512
    learning_rate: float = 1e-3
    grid: int = 60
    mjj_range: tuple[float, float] | None = None
    subsets: int = 5
    subset_fraction: float = 0.9
    seed: int = 1

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1 or self.grid < 2 or self.subsets < 0:
            raise ConfigError("epochs, batch_size >= 1, grid >= 2 and subsets >= 0 are needed")
        if not 0 < self.subset_fraction <= 1:
            raise ConfigError(f"subset_fraction must be in (0, 1], got {self.subset_fraction}")


@dataclass
class Characterisation:
    """The scan and the marginal ratios; ``arrays`` holds everything for plotting again."""

    features: list[str]
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)


class _Decoder(nn.Module):  # type: ignore[misc,name-defined]
    def __init__(self, n_in: int, n_out: int, hidden: tuple[int, ...] = (64, 64, 64)) -> None:
        super().__init__()
        widths = [n_in, *hidden]
        layers: list[Any] = []
        for a, b in zip(widths[:-1], widths[1:]):
            layers += [nn.Linear(a, b), nn.SELU()]
        layers.append(nn.Linear(widths[-1], n_out))
        self.net = nn.Sequential(*layers)

    def forward(self, x: Any) -> Any:
        return self.net(x)


def train_conditional_decoder(
    z_mean: np.ndarray, z_logvar: np.ndarray, mjj: np.ndarray, target: np.ndarray,
    mjj_scale: tuple[float, float], cfg: CharacteriseConfig, seed: int,
) -> Any:  # fmt: skip
    """A decoder ``(z, scaled m) -> scaled observables``, trained with fresh smearing each epoch.

    Returns:
        the trained decoder (eval mode), with the best validation epoch's weights.
    """
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    n = len(mjj)
    if n < 10:
        raise InputDataError(f"{n} events are too few to train a characterisation decoder")
    perm = torch.randperm(n, generator=gen)
    n_val = max(1, n // 5)
    val, train = perm[:n_val], perm[n_val:]
    mu, sd = torch.as_tensor(z_mean), (0.5 * torch.as_tensor(z_logvar)).exp()
    m = torch.as_tensor(mjj, dtype=torch.float32)
    y = torch.as_tensor(target, dtype=torch.float32)
    m0, m1 = mjj_scale

    def inputs(idx: Any) -> Any:
        z = mu[idx] + sd[idx] * torch.randn(mu[idx].shape, generator=gen)
        mm = m[idx] * (1.0 + MJJ_RESOLUTION * torch.randn(len(idx), generator=gen))
        return torch.cat([z, ((mm - m0) / m1)[:, None]], dim=1)

    decoder = _Decoder(mu.shape[1] + 1, y.shape[1])
    opt = torch.optim.Adam(decoder.parameters(), lr=cfg.learning_rate)
    x_val = inputs(val)
    best, best_state, since = np.inf, None, 0
    for _ in range(cfg.epochs):
        decoder.train()
        order = train[torch.randperm(len(train), generator=gen)]
        for i in range(0, len(order), cfg.batch_size):
            idx = order[i : i + cfg.batch_size]
            loss = ((decoder(inputs(idx)) - y[idx]) ** 2).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        decoder.eval()
        with torch.no_grad():
            v = float(((decoder(x_val) - y[val]) ** 2).mean())
        if v < best * (1 - 1e-4):
            best, since = v, 0
            best_state = {k: t.clone() for k, t in decoder.state_dict().items()}
        else:
            since += 1
            if since >= 5:
                break
    decoder.load_state_dict(best_state)
    return decoder.eval()


def _scan(decoder: Any, zs: np.ndarray, ms: np.ndarray, mjj_scale: tuple[float, float],
          y_scale: tuple[np.ndarray, np.ndarray]) -> np.ndarray:  # fmt: skip
    """Decoded observables on the grid, in physical units: (n_m, n_z, n_features)."""
    mm, zz = np.meshgrid(ms, zs, indexing="ij")
    x = np.column_stack([zz.ravel(), (mm.ravel() - mjj_scale[0]) / mjj_scale[1]]).astype(np.float32)
    with torch.no_grad():
        y = decoder(torch.from_numpy(x)).numpy()
    y = y * y_scale[1] + y_scale[0]
    return y.reshape(len(ms), len(zs), -1)


def _marginal(grid: np.ndarray) -> np.ndarray:
    """<O>_z(m_jj) / <O>_{z, m_jj}: (n_m, n_features)."""
    return grid.mean(axis=1) / grid.mean(axis=(0, 1))


def characterise(
    model_path: str | Path,
    data: Any,
    out: str | Path,
    cfg: CharacteriseConfig | None = None,
    progress: bool | None = None,
) -> Characterisation:
    """Train the conditional decoders, scan the grid, write ``characterisation.npz``,
    ``characterisation.json``, ``heatmaps.png`` and ``marginal.png`` to ``out``.

    Args:
        model_path: a VAE exported by coffea-anomaly (outputs ``z_mean``, ``z_logvar``).
        data: a :class:`~coffea_anomaly.training.settings.SampleSpec` of the events to
            characterise (its selection defaults to the model's); ``truthLabel``, when the
            files have it, draws the signal and background contours and picks the
            background-only subsets.
        out: output folder.
        cfg: settings.
        progress: progress bar over the decoders (default: when stderr is a terminal).

    Raises:
        ModelCardError: the model has no latent outputs (not a VAE).
        InputDataError: unreadable data or too few events.
    """
    from ..errors import ModelCardError
    from ..inference.onnx_model import OnnxModel
    from .data import load_inputs
    from .settings import RepresentationChoice

    cfg = cfg or CharacteriseConfig()
    model = OnnxModel(model_path)
    card = model.card
    names = [o.name for o in card.outputs]
    if "z_mean" not in names or "z_logvar" not in names:
        raise ModelCardError(f"model '{card.name}' has no latent outputs (z_mean, z_logvar): "
                             "only VAEs exported by coffea-anomaly can be characterised")  # fmt: skip
    rep = RepresentationChoice(card.representation.kind, dict(card.representation.config))
    inputs = load_inputs(data, rep, card.level, progress=progress)
    x = inputs.x
    mjj = inputs.aux["mjj"]
    label = inputs.aux.get("label", np.full(len(x), -1.0))
    z_mean, z_logvar = (np.asarray(a, dtype=np.float32)
                        for a in model.session.run(["z_mean", "z_logvar"], {"x": x}))  # fmt: skip
    features = _feature_names(card)
    y_scale = (x.mean(axis=0), np.where(x.std(axis=0) > 0, x.std(axis=0), 1.0))
    target = (x - y_scale[0]) / y_scale[1]
    mjj_scale = (float(mjj.mean()), float(mjj.std() or 1.0))
    lo, hi = cfg.mjj_range or tuple(np.quantile(mjj, [0.01, 0.99]))
    ms = np.linspace(lo, hi, cfg.grid)
    zq = np.quantile(z_mean[:, 0], [0.005, 0.995])
    zs = np.linspace(zq[0], zq[1], cfg.grid)

    show = sys.stderr.isatty() if progress is None else progress
    bkg = np.flatnonzero(label == 0)
    n_sub = cfg.subsets if len(bkg) >= 10 else 0
    bar = tqdm(total=1 + n_sub, desc="characterise: decoders", unit="decoder", disable=not show,
               file=sys.stderr)  # fmt: skip
    try:
        decoder = train_conditional_decoder(z_mean, z_logvar, mjj, target, mjj_scale, cfg, cfg.seed)
        grid = _scan(decoder, zs, ms, mjj_scale, y_scale)
        bar.update(1)
        rng = np.random.default_rng(cfg.seed)
        bands = []
        for k in range(n_sub):
            idx = np.sort(rng.choice(bkg, size=int(cfg.subset_fraction * len(bkg)), replace=False))
            d = train_conditional_decoder(z_mean[idx], z_logvar[idx], mjj[idx], target[idx], mjj_scale,
                                          cfg, cfg.seed + 1 + k)  # fmt: skip
            bands.append(_marginal(_scan(d, zs, ms, mjj_scale, y_scale)))
            bar.update(1)
    finally:
        bar.close()
    arrays = {
        "z": zs, "mjj": ms, "grid": grid, "marginal": _marginal(grid),
        "marginal_background_subsets": np.asarray(bands) if bands else np.zeros((0, len(ms), len(features))),
        "event_z_mean": z_mean[:, 0], "event_mjj": mjj, "event_label": label,
    }  # fmt: skip
    result = Characterisation(features, arrays)
    result.files = _write(result, Path(out), card.name)
    return result


def _feature_names(card: Any) -> list[str]:
    feats = list(card.representation.config.get("features") or [])
    if card.level == "event":
        return [f"{f}_j{j}" for j in (1, 2) for f in feats]
    return feats


def _write(result: Characterisation, out: Path, model_name: str) -> dict[str, Path]:
    from ..fileio import atomic_path, write_json
    from .characterise_plots import plot_heatmaps, plot_marginal

    out.mkdir(parents=True, exist_ok=True)
    files = {}
    with atomic_path(out / "characterisation.npz") as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **result.arrays)
    files["npz"] = out / "characterisation.npz"
    a = result.arrays
    summary = {
        "model": model_name,
        "features": result.features,
        "grid": {"z": [float(a["z"][0]), float(a["z"][-1]), len(a["z"])],
                 "mjj": [float(a["mjj"][0]), float(a["mjj"][-1]), len(a["mjj"])]},
        "events": {"total": len(a["event_label"]),
                   "signal": int(np.sum(a["event_label"] == 1)),
                   "background": int(np.sum(a["event_label"] == 0))},
        "background_subsets": len(a["marginal_background_subsets"]),
        "marginal_max_deviation": {
            f: float(np.max(np.abs(a["marginal"][:, i] - 1.0))) for i, f in enumerate(result.features)
        },
    }  # fmt: skip
    files["json"] = write_json(out / "characterisation.json", summary)
    files["heatmaps"] = plot_heatmaps(result, out / "heatmaps.png", model_name)
    files["marginal"] = plot_marginal(result, out / "marginal.png", model_name)
    return files
