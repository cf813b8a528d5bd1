"""From a training config to a shipped ONNX model: read, split, train, measure, export.

Steps: read every sample through the representation code (background, optional
independent background test sample, signals); split the background (seeded) into
training, validation (early stopping) and test parts; build and fit the model through
its family (:mod:`coffea_anomaly.training.family`); measure, for every score the family
exports, the held-out background mean, its quantiles and the AUC against each signal;
export to ONNX (checked against the family's own prediction) with a model card that
records all of it, including the selection the model was trained with.

This module never names a family. Torch is imported only by families that need it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from .._version import __version__
from ..config import config_from_dict, config_to_dict
from ..errors import ConfigError
from ..selection import selection_to_dict
from .data import Inputs, files_within, load_inputs, sample_name
from .family import FitData, ModelFamily, ScoreOutput, get_family
from .history import FitResult
from ..metrics import max_significance_improvement
from .metrics import DEFAULT_QUANTILES, roc_auc, score_quantiles
from .onnx_io import save_onnx
from .settings import RepresentationChoice, TrainingConfig

#: ε_B floor of the maximum significance improvement stored in cards (the last 0.1 % of the
#: background is statistical noise on test samples of 10^4)
SIC_MIN_BACKGROUND_EFFICIENCY = 1e-3

__all__ = [
    "SIC_MIN_BACKGROUND_EFFICIENCY",
    "Fitted",
    "fit_from_config",
    "TrainingReport",
    "full_representation_config",
    "metric_name",
    "split_indices",
    "train_from_config",
]


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
    contamination: dict[str, Any] | None = None


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
        same = files_within(cfg.test.path, cfg.train.path)
        what = (f"the training sample itself {cfg.test.path} (not independent: it holds the training items)"
                if same else f"independent sample {cfg.test.path}")
        held = (test.x, test.weights, "test", what)
    else:
        idx = i_test if len(i_test) else i_val
        name = "test" if len(i_test) else "validation"
        held = (bkg.x[idx], _weights(bkg, idx), name, f"held-out {name} part of the training sample")
    signals = [load_inputs(spec, rep, cfg.level, progress=progress) for spec in cfg.signals]
    data = _Samples(bkg, i_train, i_val, i_test, *held, signals=signals)
    if cfg.contamination is not None:
        data = _contaminate(data, cfg, rep, progress)
    return data


def _contaminate(data: _Samples, cfg: TrainingConfig, rep: RepresentationChoice, progress: bool | None) -> _Samples:
    """Mix signal items into the training part only (validation and test stay background),
    so that they make ``fraction`` of the training items; chosen with the loop's seed."""
    c = cfg.contamination
    n_train = len(data.i_train)
    n_sig = int(round(c.fraction / (1.0 - c.fraction) * n_train))
    facts = {"sample": c.sample.path, "selection": config_to_dict(c.sample.selection), "fraction": c.fraction,
             "n_signal_items": n_sig, "into": "the training part only (validation and test: background)"}  # fmt: skip
    if n_sig == 0:
        return replace(data, contamination=facts)
    sig = load_inputs(c.sample, rep, cfg.level, progress=progress)
    if n_sig > len(sig.x):
        raise ConfigError(f"contamination {c.fraction:g} of {n_train} training items needs {n_sig} signal items; "
                          f"{sample_name(c.sample.path)} has {len(sig.x)}")  # fmt: skip
    pick = np.sort(np.random.default_rng(cfg.loop.seed + 7919).choice(len(sig.x), n_sig, replace=False))
    bkg = data.bkg
    if (bkg.weights is None) != (sig.weights is None):
        raise ConfigError("the contamination sample must be weighted like the training sample (weighted: ...)")
    mixed = replace(
        bkg, x=np.concatenate([bkg.x, sig.x[pick]]),
        weights=None if bkg.weights is None else np.concatenate([bkg.weights, sig.weights[pick]]),
        aux={k: np.concatenate([v, sig.aux[k][pick]]) for k, v in bkg.aux.items() if k in sig.aux},
    )  # fmt: skip
    i_train = np.concatenate([data.i_train, len(bkg.x) + np.arange(n_sig)])
    return replace(data, bkg=mixed, i_train=i_train, contamination=facts)


def _seed(seed: int) -> None:
    """Seed numpy's legacy generator and, when a family uses it, torch."""
    import sys

    np.random.seed(seed % 2**32)
    if "torch" in sys.modules:
        sys.modules["torch"].manual_seed(seed)


def _fit_data(cfg: TrainingConfig, data: _Samples) -> FitData:
    bkg = data.bkg
    return FitData(
        x_train=bkg.x[data.i_train], x_val=bkg.x[data.i_val],
        w_train=_weights(bkg, data.i_train), w_val=_weights(bkg, data.i_val),
        aux_train={k: v[data.i_train] for k, v in bkg.aux.items()},
        aux_val={k: v[data.i_val] for k, v in bkg.aux.items()},
        level=cfg.level,
    )  # fmt: skip


def metric_name(kind: str, label: str, bkg_label: str, score: str, n_scores: int) -> str:
    """Card metric names: ``auc_<signal>_vs_<background>``, ``max_sic_<signal>_vs_<background>``
    and ``<sample>_loss`` (``..._<score>`` when a model has several scores)."""
    base = f"{kind}_{label}_vs_{bkg_label}" if kind in ("auc", "max_sic") else f"{label}_{kind}"
    return base if n_scores == 1 else f"{base}_{score}"


def _measure(
    cfg: TrainingConfig, family: ModelFamily, model: Any, outputs: tuple[ScoreOutput, ...],
    data: _Samples, history: FitResult,
) -> tuple[dict[str, float], dict[str, np.ndarray], dict[str, Any]]:  # fmt: skip
    """Metrics, held-out background scores (per score) and per-signal facts for the card."""
    s_bkg = family.predict(model, data.x_held)
    # the background the metrics compare with: the independent test sample when there is one
    bkg_label = (cfg.test.label if cfg.test is not None and cfg.test.label else cfg.train.label) or "background"
    n = len(outputs)
    metrics: dict[str, float] = {"val_loss": history.best_val_loss}
    for o in outputs:
        metrics[metric_name("loss", data.held_name, "", o.name, n)] = _mean(s_bkg[o.name], data.w_held)
    facts: dict[str, Any] = {}
    for spec, sig in zip(cfg.signals, data.signals):
        label = spec.label or sample_name(spec.path)
        s_sig = family.predict(model, sig.x)
        for o in outputs:
            metrics[metric_name("auc", label, bkg_label, o.name, n)] = roc_auc(
                s_sig[o.name], s_bkg[o.name], sig.weights, data.w_held)  # fmt: skip
            metrics[metric_name("max_sic", label, bkg_label, o.name, n)] = max_significance_improvement(
                s_sig[o.name], s_bkg[o.name], sig.weights, data.w_held, SIC_MIN_BACKGROUND_EFFICIENCY)[0]  # fmt: skip
            metrics[metric_name("loss", label, "", o.name, n)] = _mean(s_sig[o.name], sig.weights)
        facts[label] = {"sample": spec.path, "selection": config_to_dict(spec.selection),
                        **sig.summary()}  # fmt: skip
    return metrics, s_bkg, facts


def _training_facts(
    cfg: TrainingConfig, family: ModelFamily, model: Any, data: _Samples, history: FitResult
) -> dict[str, Any]:
    return {
        "model": {"kind": cfg.model.kind, "params": family.hyperparameters(model),
                  "training": dict(cfg.model.training)},  # fmt: skip
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
        "phases": [p.to_dict() for p in history.phases],
        "fit_wall_s": round(history.wall_s, 1),
        "quantiles_and_losses_from": f"{data.held_what} ({len(data.x_held)} items)",
        "contamination": data.contamination,
        "package_version": __version__,
    }


@dataclass
class Fitted:
    """A model trained from a config, before export: what :func:`fit_from_config` returns."""

    cfg: TrainingConfig
    family: ModelFamily
    model: Any
    rep: RepresentationChoice
    data: _Samples
    history: FitResult


def fit_from_config(cfg: TrainingConfig, progress: bool | None = None) -> Fitted:
    """Read the samples of ``cfg`` and train its model (no export): the first half of
    :func:`train_from_config`, shared with the bundle builder."""
    family = get_family(cfg.model.kind)
    options = family.options(cfg.model.training)
    if cfg.loop.device != "cpu":  # a missing GPU is said before the samples are read
        from ._torch import training_device

        training_device(cfg.loop.device)
    rep = RepresentationChoice(cfg.representation.kind, full_representation_config(cfg.representation))
    data = _read(cfg, rep, progress)
    fit_data = _fit_data(cfg, data)
    _seed(cfg.loop.seed)  # the initial weights depend on the seed alone
    model = family.build(cfg.model.params, fit_data, options)
    history = family.fit(model, fit_data, cfg.loop, options, progress=progress)
    return Fitted(cfg, family, model, rep, data, history)


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
    fitted = fit_from_config(cfg, progress)
    family, model, rep, data, history = fitted.family, fitted.model, fitted.rep, fitted.data, fitted.history
    outputs = family.score_outputs(model, cfg.level)
    score_outputs = tuple(o for o in outputs if o.score)
    metrics, s_bkg, signal_facts = _measure(cfg, family, model, score_outputs, data, history)

    examples = np.concatenate([data.bkg.x[data.i_val[:48]], *(s.x[:16] for s in data.signals)])
    proto, parity = family.export(model, examples)
    item_shape = tuple(data.bkg.x.shape[1:])
    card = ModelCard(
        name=cfg.name,
        family=cfg.family,
        paper=cfg.paper,
        level=cfg.level,
        representation=RepresentationSpec(rep.kind, rep.config),
        selection=selection_to_dict(cfg.train.selection),
        inputs=(TensorSpec("x", (None, *item_shape), "float32"),),
        outputs=tuple(TensorSpec(o.name, (None, *o.shape), "float32", o.meaning) for o in outputs),
        score_names=tuple(o.name for o in score_outputs),
        training={
            "config": config_source,
            **_training_facts(cfg, family, model, data, history),
            "test_sample": None if cfg.test is None else cfg.test.path,
            "signals": signal_facts,
            "onnx_torch_max_rel_diff": parity,
        },
        metrics=metrics,
        background_quantiles={
            o.name: {
                "q": list(DEFAULT_QUANTILES),
                "value": score_quantiles(s_bkg[o.name], DEFAULT_QUANTILES, data.w_held),
            }
            for o in score_outputs
        },
    )
    path = Path(out)
    save_onnx(proto, path, card)
    return TrainingReport(path, card, history, metrics, time.monotonic() - start)
