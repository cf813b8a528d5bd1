"""Training configuration: frozen dataclasses read from ``configs/training/*.yaml``.

A training config says which model to build, which representation feeds it (kind and
config, exactly as the model card will store them), which sample and selection to train
on, optional labelled samples to measure metrics at export, and the loop settings.

Example YAML::

    name: image_cnn_ae
    model: {kind: image_cnn_ae, params: {bottleneck: 32}}
    representation: {kind: jet_image, config: {}}
    train: {sample: data/train/qcd_jets, selection: {pt_min: 550, pt_max: 650}}
    loop: {epochs: 30, seed: 1}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import config_from_dict, load_yaml
from ..errors import ConfigError

__all__ = [
    "LoopConfig",
    "ModelSpec",
    "RepresentationChoice",
    "SampleSpec",
    "SelectionConfig",
    "TrainingConfig",
    "load_training_config",
]

_LEVELS = ("jet", "event")


@dataclass(frozen=True)
class SelectionConfig:
    """Which fat jets (level ``jet``) or events (level ``event``, two leading jets) to use.

    Attributes:
        pt_min, pt_max: fat-jet pT window in GeV (``pt_max`` None: no upper bound); for
            events it applies to both leading jets.
        eta_max: maximum |eta| of a fat jet.
        truth_match: keep only fat jets with ``FatJet_truthMatch == 1`` (for events: both).
        lead_pt_min: events only: minimum pT of the leading fat jet.
        deta_max: events only: maximum |Δη| of the two leading jets (None: no cut).
        max_jets_per_event: jets only: keep at most this many selected jets per event
            (0 = all).
    """

    pt_min: float = 0.0
    pt_max: float | None = None
    eta_max: float = 2.0
    truth_match: bool = False
    lead_pt_min: float = 0.0
    deta_max: float | None = None
    max_jets_per_event: int = 0

    def __post_init__(self) -> None:
        if self.pt_min < 0 or (self.pt_max is not None and self.pt_max <= self.pt_min):
            raise ConfigError(f"need 0 <= pt_min < pt_max, got {self.pt_min}, {self.pt_max}")
        if self.eta_max <= 0:
            raise ConfigError(f"eta_max must be positive, got {self.eta_max}")
        if self.deta_max is not None and self.deta_max <= 0:
            raise ConfigError(f"deta_max must be positive, got {self.deta_max}")
        if self.max_jets_per_event < 0:
            raise ConfigError("max_jets_per_event must be >= 0")


@dataclass(frozen=True)
class SampleSpec:
    """A sample: a ``fileset.json``, a folder holding one, or one ROOT file, plus a selection.

    Attributes:
        path: the fileset (relative paths are taken from the current directory).
        selection: jet or event selection.
        max_items: use at most this many selected jets/events (0 = all).
        label: a short name for reports and metric names (e.g. ``qcd``, ``top``).
        weighted: use the per-event ``genWeight`` (training loss, AUC, quantiles); off,
            every selected item counts once.
    """

    path: str
    selection: SelectionConfig = field(default_factory=SelectionConfig)
    max_items: int = 0
    label: str = ""
    weighted: bool = False

    def __post_init__(self) -> None:
        if not self.path:
            raise ConfigError("a sample needs a 'path' (fileset.json, folder or ROOT file)")
        if self.max_items < 0:
            raise ConfigError(f"max_items must be >= 0, got {self.max_items}")


@dataclass(frozen=True)
class ModelSpec:
    """The network: a kind of :data:`coffea_anomaly.training.models.MODEL_KINDS` and its parameters."""

    kind: str
    params: dict[str, Any] = field(default_factory=dict)


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
        learning_rate: Adam learning rate.
        patience: stop after this many epochs without a better validation loss.
        min_delta: relative improvement that counts as better.
        validation_fraction: share of the training sample held out for early stopping.
        test_fraction: share held out entirely (never seen by training or early stopping)
            for the metrics and background quantiles stored in the card.
        seed: seeds torch, numpy and the data split.
        max_time_s: stop after the epoch that passes this wall time (None: no limit).
        threads: torch intra-op threads.
    """

    epochs: int = 30
    batch_size: int = 256
    learning_rate: float = 1e-3
    patience: int = 10
    min_delta: float = 1e-4
    validation_fraction: float = 0.2
    test_fraction: float = 0.2
    seed: int = 1
    max_time_s: float | None = None
    threads: int = 1

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1 or self.patience < 1 or self.threads < 1:
            raise ConfigError("epochs, batch_size, patience and threads must be >= 1")
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

    def __post_init__(self) -> None:
        if not self.name:
            raise ConfigError("a training config needs a 'name'")
        if self.level not in _LEVELS:
            raise ConfigError(f"level must be one of {', '.join(_LEVELS)}, not {self.level!r}")


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
