"""Where the shipped configs and models are, in any kind of install."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["config_path", "model_path", "shipped_models"]


def config_path(*parts: str) -> Path:
    """Path of a shipped config, e.g. ``config_path("samples", "qcd_jets.yaml")``."""
    return Path(str(resources.files("coffea_anomaly.configs").joinpath(*parts)))


def model_path(name: str) -> Path:
    """Path of a shipped ONNX model by name (with or without ``.onnx``)."""
    fname = name if name.endswith(".onnx") else f"{name}.onnx"
    return Path(str(resources.files("coffea_anomaly.models").joinpath(fname)))


def shipped_models() -> list[str]:
    """Names of the shipped ONNX models."""
    root = resources.files("coffea_anomaly.models")
    return sorted(p.name[: -len(".onnx")] for p in root.iterdir() if p.name.endswith(".onnx"))
