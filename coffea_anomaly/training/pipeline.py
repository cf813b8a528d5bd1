"""From a training config to a shipped ONNX model: read, split, train, measure, export.

Steps: read every sample through the representation code (background, optional
independent background test sample, signals); split the background (seeded) into
training, validation (early stopping) and test parts; fit the autoencoder; measure the
held-out background loss, its score quantiles and the AUC against each signal; export
to ONNX (checked against torch) with a model card that records all of it.

Importing this module needs torch (``pip install 'coffea-anomaly[train]'``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._version import __version__
from ..config import config_from_dict, config_to_dict
from ..errors import ConfigError
from .data import Inputs, load_inputs
from .export import check_parity, save_onnx, to_onnx
from .loop import FitResult, fit, predict_scores, seed_everything
from .metrics import DEFAULT_QUANTILES, roc_auc, score_quantiles
from .models import Autoencoder, DenseAutoencoder, build_model
from .settings import RepresentationChoice, TrainingConfig

__all__ = ["TrainingReport", "full_representation_config", "split_indices", "train_from_config"]

_MEANING = (
    "reconstruction MSE per {item}, averaged over the input's {n} values; "
    "larger = more anomalous"
)


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


@dataclass
class _Samples:
    """Everything read for one training: background split, held-out background, signals."""

    bkg: Inputs
    i_train: np.ndarray
    i_val: np.ndarray
    i_test: np.ndarray
    x_held: np.ndarray
    w_held: np.ndarray | None
    held_name: str
    held_what: str
    signals: list[Inputs] = field(default_factory=list)


def split_indices(
    n: int, validation_fraction: float, test_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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
    from ..representations.registry import config_class

    return config_to_dict(config_from_dict(config_class(rep.kind), dict(rep.config)))


def _weights(inputs: Inputs, idx: np.ndarray) -> np.ndarray | None:
    return None if inputs.weights is None else inputs.weights[idx]


def _mean(scores: np.ndarray, w: np.ndarray | None) -> float:
    return float(np.average(scores, weights=w))


def _read(cfg: TrainingConfig, rep: RepresentationChoice, progress: bool | None) -> _Samples:
    """Read every sample first, so that a bad signal path fails before the training."""
    bkg = load_inputs(cfg.train, rep, cfg.level, progress=progress)
    loop = cfg.loop
    i_train, i_val, i_test = split_indices(
        len(bkg.x), loop.validation_fraction, loop.test_fraction, loop.seed
    )
    if cfg.test is not None:
        test = load_inputs(cfg.test, rep, cfg.level, progress=progress)
        held = (test.x, test.weights, "test", f"independent sample {cfg.test.path}")
    else:
        idx = i_test if len(i_test) else i_val
        name = "test" if len(i_test) else "validation"
        held = (bkg.x[idx], _weights(bkg, idx), name, f"held-out {name} part of the training sample")
    signals = [load_inputs(spec, rep, cfg.level, progress=progress) for spec in cfg.signals]
    return _Samples(bkg, i_train, i_val, i_test, *held, signals=signals)


def _build(cfg: TrainingConfig, data: _Samples) -> Autoencoder:
    seed_everything(cfg.loop.seed)  # the initial weights depend on the seed alone
    model = build_model(cfg.model.kind, cfg.model.params)
    item_shape = tuple(data.bkg.x.shape[1:])
    if tuple(model.item_shape) != item_shape:
        raise ConfigError(
            f"model {cfg.model.kind!r} takes items of shape {tuple(model.item_shape)} but "
            f"representation {cfg.representation.kind!r} gives {item_shape}"
        )
    if isinstance(model, DenseAutoencoder):
        model.set_standardisation(data.bkg.x[data.i_train])
    return model


def _measure(
    cfg: TrainingConfig, model: Autoencoder, data: _Samples, history: FitResult
) -> tuple[dict[str, float], np.ndarray, dict[str, Any]]:
    """Metrics, held-out background scores and per-signal facts for the card."""
    s_bkg = predict_scores(model, data.x_held)
    bkg_label = cfg.train.label or "background"
    metrics = {"val_loss": history.best_val_loss, f"{data.held_name}_loss": _mean(s_bkg, data.w_held)}
    facts: dict[str, Any] = {}
    for spec, sig in zip(cfg.signals, data.signals):
        label = spec.label or Path(spec.path).name
        s_sig = predict_scores(model, sig.x)
        metrics[f"auc_{label}_vs_{bkg_label}"] = roc_auc(s_sig, s_bkg, sig.weights, data.w_held)
        metrics[f"{label}_loss"] = _mean(s_sig, sig.weights)
        facts[label] = {"sample": spec.path, "selection": config_to_dict(spec.selection),
                        **sig.summary()}  # fmt: skip
    return metrics, s_bkg, facts


def _training_facts(
    cfg: TrainingConfig, model: Autoencoder, data: _Samples, history: FitResult
) -> dict[str, Any]:
    return {
        "model": {"kind": cfg.model.kind, "params": model.hyperparameters()},
        "sample": cfg.train.path,
        "label": cfg.train.label or "background",
        "selection": config_to_dict(cfg.train.selection),
        "weighted": cfg.train.weighted,
        **data.bkg.summary(),
        "n_train": len(data.i_train),
        "n_validation": len(data.i_val),
        "n_test": len(data.i_test),
        "seed": cfg.loop.seed,
        "loop": config_to_dict(cfg.loop),
        "epochs": history.epochs_run,
        "best_epoch": history.best_epoch,
        "stop_reason": history.stop_reason,
        "val_loss_untrained": float(f"{history.initial_val_loss:.6g}"),
        "train_loss": [float(f"{v:.6g}") for v in history.train_loss],
        "val_loss": [float(f"{v:.6g}") for v in history.val_loss],
        "fit_wall_s": round(history.wall_s, 1),
        "quantiles_and_losses_from": f"{data.held_what} ({len(data.x_held)} items)",
        "package_version": __version__,
    }


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
    rep = RepresentationChoice(cfg.representation.kind, full_representation_config(cfg.representation))
    data = _read(cfg, rep, progress)
    model = _build(cfg, data)
    history = fit(
        model, data.bkg.x[data.i_train], data.bkg.x[data.i_val], cfg.loop,
        _weights(data.bkg, data.i_train), _weights(data.bkg, data.i_val), progress=progress,
    )  # fmt: skip
    metrics, s_bkg, signal_facts = _measure(cfg, model, data, history)

    proto = to_onnx(model)
    examples = np.concatenate([data.bkg.x[data.i_val[:48]], *(s.x[:16] for s in data.signals)])
    parity = check_parity(model, proto, examples)
    item_shape = tuple(data.bkg.x.shape[1:])
    item = "jet" if cfg.level == "jet" else "event"
    card = ModelCard(
        name=cfg.name,
        family=cfg.family,
        paper=cfg.paper,
        level=cfg.level,
        representation=RepresentationSpec(rep.kind, rep.config),
        inputs=(TensorSpec("x", (None, *item_shape), "float32"),),
        outputs=(TensorSpec("score", (None,), "float32",
                            _MEANING.format(item=item, n=int(np.prod(item_shape)))),),  # fmt: skip
        score_names=("score",),
        training={
            "config": config_source,
            **_training_facts(cfg, model, data, history),
            "test_sample": None if cfg.test is None else cfg.test.path,
            "signals": signal_facts,
            "onnx_torch_max_rel_diff": parity,
        },
        metrics=metrics,
        background_quantiles={
            "score": {
                "q": list(DEFAULT_QUANTILES),
                "value": score_quantiles(s_bkg, DEFAULT_QUANTILES, data.w_held),
            }
        },
    )
    path = Path(out)
    save_onnx(proto, path, card)
    return TrainingReport(path, card, history, metrics, time.monotonic() - start)
