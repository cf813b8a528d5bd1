"""From a training config to a shipped ONNX model: read, split, train, measure, export.

Steps: read the background sample through the representation code; split it (seeded)
into training, validation (early stopping) and test (never seen) parts; fit the
autoencoder; measure the held-out background loss, its score quantiles and the AUC
against each configured signal sample; export to ONNX (checked against torch) with a
model card that records all of it.

Importing this module needs torch (``pip install 'coffea-anomaly[train]'``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._version import __version__
from ..config import config_to_dict
from ..errors import ConfigError
from .data import Inputs, load_inputs
from .export import check_parity, save_onnx, to_onnx
from .loop import FitResult, fit, predict_scores
from .metrics import DEFAULT_QUANTILES, roc_auc, score_quantiles
from .models import DenseAutoencoder, build_model
from .settings import RepresentationChoice, TrainingConfig

__all__ = ["TrainingReport", "full_representation_config", "split_indices", "train_from_config"]

_MEANING = {
    "jet": "reconstruction MSE per jet, averaged over the input's {n} values; larger = more anomalous",
    "event": "reconstruction MSE per event, averaged over the input's {n} values; larger = more anomalous",
}


@dataclass
class TrainingReport:
    """What :func:`train_from_config` did.

    Attributes:
        path: the ONNX file written.
        card: its model card.
        fit: the loss history.
        metrics: the metrics stored in the card.
        wall_s: total wall time (reading, training, evaluation, export).
    """

    path: Path
    card: Any
    fit: FitResult
    metrics: dict[str, float]
    wall_s: float


def split_indices(n: int, validation_fraction: float, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Seeded disjoint (train, validation, test) index arrays covering ``range(n)``.

    Validation gets at least one item; test gets at least one when its fraction is > 0.

    Raises:
        ConfigError: too few items to leave any for training.
    """
    perm = np.random.default_rng(seed).permutation(n)
    n_val = max(1, int(round(validation_fraction * n)))
    n_test = max(1, int(round(test_fraction * n))) if test_fraction > 0 else 0
    if n - n_val - n_test < 1:
        raise ConfigError(f"{n} items are too few to split into training, validation and test")
    return perm[n_val + n_test :], perm[:n_val], perm[n_val : n_val + n_test]


def full_representation_config(rep: RepresentationChoice) -> dict[str, Any]:
    """The representation config with every default filled in, as the card stores it."""
    from ..config import config_from_dict
    from ..representations.registry import config_class

    return config_to_dict(config_from_dict(config_class(rep.kind), dict(rep.config)))


def _weights(inputs: Inputs, idx: np.ndarray) -> np.ndarray | None:
    return None if inputs.weights is None else inputs.weights[idx]


def _mean(scores: np.ndarray, w: np.ndarray | None) -> float:
    return float(np.average(scores, weights=w))


def train_from_config(
    cfg: TrainingConfig, out: str | Path, progress: bool | None = None, config_source: str = ""
) -> TrainingReport:
    """Train the model a config describes and export it with its card to ``out``.

    Args:
        cfg: the training config.
        out: the ``.onnx`` path to write.
        progress: show progress bars (default: when stderr is a terminal).
        config_source: where the config came from (recorded in the card).

    Raises:
        ConfigError: the model's input shape does not match the representation's.
        InputDataError: unreadable or empty samples.
        ExportError: the trained model cannot be exported faithfully.
    """
    from ..inference.card import ModelCard, RepresentationSpec, TensorSpec

    start = time.monotonic()
    rep_config = full_representation_config(cfg.representation)
    rep = RepresentationChoice(cfg.representation.kind, rep_config)
    bkg = load_inputs(cfg.train, rep, cfg.level, progress=progress)
    loop = cfg.loop
    i_train, i_val, i_test = split_indices(
        len(bkg.x), loop.validation_fraction, loop.test_fraction, loop.seed
    )
    model = build_model(cfg.model.kind, cfg.model.params)
    item_shape = tuple(bkg.x.shape[1:])
    if tuple(model.item_shape) != item_shape:
        raise ConfigError(
            f"model {cfg.model.kind!r} takes items of shape {tuple(model.item_shape)} but "
            f"representation {rep.kind!r} gives {item_shape}"
        )
    if isinstance(model, DenseAutoencoder):
        model.set_standardisation(bkg.x[i_train])
    history = fit(
        model, bkg.x[i_train], bkg.x[i_val], loop,
        _weights(bkg, i_train), _weights(bkg, i_val), progress=progress,
    )  # fmt: skip

    held = i_test if len(i_test) else i_val
    held_name = "test" if len(i_test) else "validation"
    s_bkg = predict_scores(model, bkg.x[held])
    w_bkg = _weights(bkg, held)
    bkg_label = cfg.train.label or "background"
    metrics: dict[str, float] = {
        "val_loss": history.best_val_loss,
        f"{held_name}_loss": _mean(s_bkg, w_bkg),
    }
    examples = [bkg.x[i_val[:48]]]
    signals: dict[str, Any] = {}
    for sig_spec in cfg.signals:
        sig = load_inputs(sig_spec, rep, cfg.level, progress=progress)
        label = sig_spec.label or Path(sig_spec.path).name
        s_sig = predict_scores(model, sig.x)
        metrics[f"auc_{label}_vs_{bkg_label}"] = roc_auc(s_sig, s_bkg, sig.weights, w_bkg)
        metrics[f"{label}_loss"] = _mean(s_sig, sig.weights)
        signals[label] = {"sample": sig_spec.path, "selection": config_to_dict(sig_spec.selection),
                          **sig.summary()}  # fmt: skip
        examples.append(sig.x[:16])

    proto = to_onnx(model)
    parity = check_parity(model, proto, np.concatenate(examples))
    n_values = int(np.prod(item_shape))
    card = ModelCard(
        name=cfg.name,
        family=cfg.family,
        paper=cfg.paper,
        level=cfg.level,
        representation=RepresentationSpec(rep.kind, rep_config),
        inputs=(TensorSpec("x", (None, *item_shape), "float32"),),
        outputs=(TensorSpec("score", (None,), "float32", _MEANING[cfg.level].format(n=n_values)),),
        score_names=("score",),
        training={
            "config": config_source,
            "model": {"kind": cfg.model.kind, "params": model.hyperparameters()},
            "sample": cfg.train.path,
            "label": bkg_label,
            "selection": config_to_dict(cfg.train.selection),
            "weighted": cfg.train.weighted,
            **bkg.summary(),
            "n_train": len(i_train),
            "n_validation": len(i_val),
            "n_test": len(i_test),
            "seed": loop.seed,
            "loop": config_to_dict(loop),
            "epochs": history.epochs_run,
            "best_epoch": history.best_epoch,
            "stop_reason": history.stop_reason,
            "val_loss_untrained": float(f"{history.initial_val_loss:.6g}"),
            "train_loss": [float(f"{v:.6g}") for v in history.train_loss],
            "val_loss": [float(f"{v:.6g}") for v in history.val_loss],
            "fit_wall_s": round(history.wall_s, 1),
            "signals": signals,
            "quantiles_and_losses_from": f"held-out {held_name} background ({len(held)} items)",
            "onnx_torch_max_rel_diff": parity,
            "package_version": __version__,
        },
        metrics=metrics,
        background_quantiles={
            "score": {
                "q": list(DEFAULT_QUANTILES),
                "value": score_quantiles(s_bkg, DEFAULT_QUANTILES, w_bkg),
            }
        },
    )
    path = Path(out)
    save_onnx(proto, path, card)
    return TrainingReport(path, card, history, metrics, time.monotonic() - start)
