"""Training configuration: frozen dataclasses read from ``configs/training/*.yaml``.

A training config says which model to build, which representation feeds it (kind and
config, exactly as the model card will store them), which sample and selection to train
on, optional labelled samples to measure metrics at export, and the loop settings.

Example YAML::

    name: image_cnn_ae
    model: {kind: image_cnn_ae, params: {bottleneck: 32}}   # kind: a registered family
    representation: {kind: jet_image, config: {}}
    train: {sample: data/train/qcd_jets, selection: {pt_min: 550, pt_max: 650}}
    loop: {epochs: 30, seed: 1}
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..config import config_from_dict, load_yaml
from ..errors import ConfigError
from ..selection import DijetSelection, JetSelection, Selection, selection_from_dict

__all__ = [
    "Contamination",
    "LoopConfig",
    "ModelSpec",
    "RepresentationChoice",
    "SampleSpec",
    "TrainingConfig",
    "load_training_config",
    "resolve_selection",
]

_LEVELS = ("jet", "event")
OPTIMIZERS = ("adam", "adadelta", "sgd")
PRECISIONS = ("float32", "bfloat16")
DEVICES = ("cpu", "cuda", "auto")


#: the selection kind of each level
SELECTION_KIND = {"jet": "jet", "event": "dijet"}


def resolve_selection(selection: Any, level: str) -> Selection:
    """The selection of a ``level`` (``jet``/``event``) sample, from a dict or a selection.

    Raises:
        ConfigError: the wrong kind of selection for the level, or invalid options.
    """
    if level not in SELECTION_KIND:
        raise ConfigError(f"level must be one of {', '.join(_LEVELS)}, not {level!r}")
    kind = SELECTION_KIND[level]
    if isinstance(selection, (JetSelection, DijetSelection)):
        if selection.kind != kind:
            raise ConfigError(f"a {level}-level sample needs a {kind} selection, not a {selection.kind} one")
        return selection
    return selection_from_dict(dict(selection or {}), kind)


@dataclass(frozen=True)
class SampleSpec:
    """A sample: a ``fileset.json``, a folder holding one, or one ROOT file, plus a selection.

    Attributes:
        path: the fileset (relative paths are taken from the current directory), or a
            list of them read as one sample (e.g. two generated QCD samples).
        selection: a :class:`~coffea_anomaly.selection.JetSelection` (jet-level models)
            or :class:`~coffea_anomaly.selection.DijetSelection` (event-level models), or
            its options as a dict (resolved by the training config's level).
        max_items: use at most this many selected jets/events (0 = all).
        label: a short name for reports and metric names (e.g. ``qcd``, ``top``).
        weighted: use the per-event ``genWeight`` (training loss, AUC, quantiles); off,
            every selected item counts once.
    """

    path: str | tuple[str, ...]
    selection: Any = field(default_factory=dict)
    max_items: int = 0
    label: str = ""
    weighted: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.path, list | tuple):
            if not all(isinstance(p, str) and p for p in self.path):
                raise ConfigError(f"a sample's 'path' list must hold non-empty strings, got {self.path!r}")
            object.__setattr__(self, "path", tuple(self.path))
        if not self.path:
            raise ConfigError("a sample needs a 'path' (fileset.json, folder or ROOT file)")
        if self.max_items < 0:
            raise ConfigError(f"max_items must be >= 0, got {self.max_items}")


@dataclass(frozen=True)
class Contamination:
    """Signal mixed into the training part of the background (Farina et al. §III.C).

    Attributes:
        sample: the signal sample; without a selection it gets the training sample's.
        fraction: the signal's share of the training items after the mixing, in [0, 1).
    """

    sample: SampleSpec
    fraction: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.fraction < 1.0:
            raise ConfigError(f"contamination fraction must be in [0, 1), got {self.fraction}")


@dataclass(frozen=True)
class ModelSpec:
    """The model: its family, the network's parameters, the family's own training options.

    Attributes:
        kind: a registered family (:func:`coffea_anomaly.training.family.family_names`).
        params: the network's parameters (architecture).
        training: the family's training options (its ``options_class``: e.g. a β, a
            stopping rule, the settings of an extra phase); checked when training starts.
    """

    kind: str
    params: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RepresentationChoice:
    """The input representation, as the model card stores it (Contract 2 kind + config dict)."""

    kind: str
    config: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class LoopConfig:
    """Optimiser and loop settings.

    Attributes:
        epochs: maximum number of epochs.
        batch_size: minibatch size.
        learning_rate: optimiser learning rate.
        optimizer: ``adam`` (default), ``adadelta`` or ``sgd``.
        patience: stop after this many epochs without a better validation loss.
        min_delta: relative improvement that counts as better.
        validation_fraction: share of the training sample held out for early stopping.
        test_fraction: share held out entirely (never seen by training or early stopping)
            for the metrics and background quantiles stored in the card.
        seed: seeds torch, numpy and the data split.
        max_time_s: stop after the epoch that passes this wall time (None: no limit).
        threads: torch intra-op threads.
        precision: ``float32`` (default) or ``bfloat16``: the training steps run under CPU
            autocast to bfloat16 (convolutions and matrix products; ~2.4x faster for the
            image CNNs on CPUs with AVX512-BF16). Weights, optimiser state, validation,
            early stopping and the exported graph stay float32.
        device: ``cpu`` (default), ``cuda`` (an NVIDIA GPU; an error when torch sees none)
            or ``auto`` (``cuda`` when available, else ``cpu``). The random streams (data
            order, initial weights, the NAE's chains) are drawn on the CPU whatever the
            device, so a GPU run follows the CPU run's sequence of draws; its numbers
            still differ in the last digits (other kernels). The trained model comes back
            to the CPU for the export.
    """

    epochs: int = 30
    batch_size: int = 256
    learning_rate: float = 1e-3
    optimizer: str = "adam"
    patience: int = 10
    min_delta: float = 1e-4
    validation_fraction: float = 0.2
    test_fraction: float = 0.2
    seed: int = 1
    max_time_s: float | None = None
    threads: int = 1
    precision: str = "float32"
    device: str = "cpu"

    def __post_init__(self) -> None:
        if self.device not in DEVICES:
            raise ConfigError(f"device must be one of {', '.join(DEVICES)}, not {self.device!r}")
        if self.precision not in PRECISIONS:
            raise ConfigError(f"precision must be one of {', '.join(PRECISIONS)}, not {self.precision!r}")
        if self.epochs < 1 or self.batch_size < 1 or self.patience < 1 or self.threads < 1:
            raise ConfigError("epochs, batch_size, patience and threads must be >= 1")
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, not {self.optimizer!r}")
        if self.learning_rate <= 0 or self.min_delta < 0:
            raise ConfigError("learning_rate must be > 0 and min_delta >= 0")
        held = self.validation_fraction + self.test_fraction
        if not 0 < self.validation_fraction < 1 or self.test_fraction < 0 or held >= 1:
            raise ConfigError(
                "need 0 < validation_fraction, 0 <= test_fraction and their sum < 1, "
                f"got {self.validation_fraction}, {self.test_fraction}"
            )
        if self.max_time_s is not None and self.max_time_s <= 0:
            raise ConfigError("max_time_s must be positive")


@dataclass(frozen=True)
class TrainingConfig:
    """Everything needed to train and export one model.

    Attributes:
        name: model name (card name; the shipped file is ``<name>.onnx``).
        level: ``jet`` or ``event``.
        model: network kind and parameters.
        representation: input representation kind and config.
        train: background training sample.
        test: an independent background sample for the metrics and quantiles in the card
            (None: the held-out ``test_fraction`` of ``train``, or its validation part).
        loop: optimiser and loop settings.
        signals: labelled signal samples scored at export against the held-out background;
            each gives the card metric ``auc_<signal label>_vs_<train label>``.
        paper: paper key for the card.
        family: model family for the card.
    """

    name: str
    level: str
    model: ModelSpec
    representation: RepresentationChoice
    train: SampleSpec
    test: SampleSpec | None = None
    loop: LoopConfig = field(default_factory=LoopConfig)
    signals: tuple[SampleSpec, ...] = ()
    paper: str = ""
    family: str = "autoencoder"
    contamination: Contamination | None = None

    def __post_init__(self) -> None:
        if not self.name:
            raise ConfigError("a training config needs a 'name'")
        if self.level not in _LEVELS:
            raise ConfigError(f"level must be one of {', '.join(_LEVELS)}, not {self.level!r}")
        # every sample's selection becomes the level's selection class
        for name in ("train", "test"):
            spec = getattr(self, name)
            if spec is not None:
                object.__setattr__(self, name, _with_selection(spec, self.level))
        object.__setattr__(self, "signals", tuple(_with_selection(s, self.level) for s in self.signals))
        c = self.contamination
        if c is not None:
            sel = c.sample.selection if c.sample.selection else replace(self.train.selection, truth_match=False)
            spec = _with_selection(replace(c.sample, selection=sel), self.level)
            object.__setattr__(self, "contamination", replace(c, sample=spec))


def _with_selection(spec: SampleSpec, level: str) -> SampleSpec:
    return replace(spec, selection=resolve_selection(spec.selection, level))


def load_training_config(path: str | Path, **overrides: Any) -> TrainingConfig:
    """Read a training config YAML; ``overrides`` replace fields of its ``loop`` section.

    Raises:
        ConfigError: unreadable YAML, unknown keys or invalid values (the file is named).
    """
    data = load_yaml(path)
    loop = dict(data.get("loop") or {})
    loop.update({k: v for k, v in overrides.items() if v is not None})
    data["loop"] = loop
    try:
        return config_from_dict(TrainingConfig, data)
    except ConfigError as err:
        raise ConfigError(f"{path}: {err}") from err
