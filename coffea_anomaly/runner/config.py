"""The run configuration: which processor, which files, which models, how to execute."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..config import config_from_dict, config_to_dict, load_yaml
from ..errors import ConfigError

__all__ = ["EXECUTORS", "RunConfig", "load_fileset", "load_run_config"]

EXECUTORS = ("iterative", "futures", "dask", "dask-awkward")


@dataclass(frozen=True)
class RunConfig:
    """Everything a ``coffea-anomaly run`` needs.

    Attributes:
        processor: ``"jet"`` (JetAnomalyProcessor) or ``"dijet"`` (DijetAnomalyProcessor).
        fileset: path of a coffea fileset JSON (relative paths are relative to the config
            file), or the fileset itself ``{dataset: {"files": {path: "Events"}, ...}}``.
        models: model specs: shipped names, ONNX paths, or ``{name: spec}``.
        selection: options of the processor's selection (:mod:`coffea_anomaly.selection`)
            that replace those the models were trained with (their cards); empty: run
            with the training selection.
        executor: iterative, futures, dask (Runner + LocalCluster or scheduler) or
            dask-awkward (``apply_to_fileset`` on the same cluster).
        workers: worker processes for futures/dask.
        scheduler: address of an existing Dask scheduler (then ``workers`` is ignored).
        chunksize: events per chunk.
        max_chunks: at most this many chunks per dataset (None = all).
        skip_bad_files: skip unreadable/incomplete files (reported) instead of failing.
        mjj_range: m_jj histogram range in GeV (dijet processor).
        treename: tree name in the files.
        plots: write quick-look PNG plots.
        model_options: OnnxModel options for every model (``batch_size``,
            ``intra_op_threads``, ``inter_op_threads``, ``providers``).
    """

    processor: str = "jet"
    fileset: Any = None
    models: Any = ()
    selection: dict[str, Any] = field(default_factory=dict)
    executor: str = "iterative"
    workers: int = 2
    scheduler: str | None = None
    chunksize: int = 50_000
    max_chunks: int | None = None
    skip_bad_files: bool = False
    mjj_range: tuple[float, float] = (1000.0, 8000.0)
    treename: str = "Events"
    plots: bool = True
    model_options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.processor not in ("jet", "dijet"):
            raise ConfigError(f"processor must be 'jet' or 'dijet', got {self.processor!r}")
        if self.executor not in EXECUTORS:
            raise ConfigError(f"executor must be one of {', '.join(EXECUTORS)}, got {self.executor!r}")
        if self.workers < 1:
            raise ConfigError(f"workers must be >= 1, got {self.workers}")
        if self.chunksize < 1:
            raise ConfigError(f"chunksize must be >= 1, got {self.chunksize}")
        if self.max_chunks is not None and self.max_chunks < 1:
            raise ConfigError(f"max_chunks must be >= 1, got {self.max_chunks}")
        if self.fileset is None:
            raise ConfigError("the run config needs a 'fileset'")

    def with_overrides(self, **overrides: Any) -> RunConfig:
        """A copy with the given (non-None) fields replaced."""
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})

    def to_dict(self) -> dict[str, Any]:
        return config_to_dict(self)


def load_run_config(path: str | Path) -> RunConfig:
    """Read a run config YAML; relative file paths are taken relative to the YAML file."""
    path = Path(path)
    data = load_yaml(path)
    fs = data.get("fileset")
    if isinstance(fs, str):
        data["fileset"] = str((path.parent / fs).resolve()) if not Path(fs).is_absolute() else fs
    models = data.get("models")
    if isinstance(models, (list, tuple)):
        data["models"] = [_resolve_model(path.parent, m) for m in models]
    elif isinstance(models, dict):
        data["models"] = {k: _resolve_model(path.parent, m) for k, m in models.items()}
    if "mjj_range" in data:
        data["mjj_range"] = tuple(data["mjj_range"])
    return config_from_dict(RunConfig, data)


def _resolve_model(base: Path, spec: Any) -> Any:
    if isinstance(spec, str) and spec.endswith(".onnx") and not Path(spec).is_absolute():
        return str((base / spec).resolve())
    return spec


def load_fileset(fileset: Any) -> dict[str, dict[str, Any]]:
    """Normalise a fileset (path or mapping) to ``{dataset: {"files": {path: tree}, "metadata": {...}}}``."""
    base = None
    if isinstance(fileset, (str, Path)):
        p = Path(fileset)
        try:
            fileset = json.loads(p.read_text())
        except OSError as err:
            raise ConfigError(f"cannot read fileset {p}: {err.strerror or err}") from err
        except json.JSONDecodeError as err:
            raise ConfigError(f"fileset {p} is not valid JSON: {err}") from err
        base = p.parent
    if not isinstance(fileset, dict) or not fileset:
        raise ConfigError("the fileset must be a non-empty mapping dataset -> files")
    out: dict[str, dict[str, Any]] = {}
    for name, spec in fileset.items():
        if isinstance(spec, (list, tuple)):
            spec = {"files": {f: "Events" for f in spec}}
        files = spec.get("files") if isinstance(spec, dict) else None
        if isinstance(files, (list, tuple)):
            files = {f: "Events" for f in files}
        if not files:
            raise ConfigError(f"dataset {name!r} lists no files")
        resolved = {}
        for f, tree in files.items():
            fp = Path(f)
            if base is not None and not fp.is_absolute() and "://" not in f:
                fp = (base / fp).resolve()
            resolved[str(fp) if "://" not in f else f] = tree or "Events"
        out[str(name)] = {"files": resolved, "metadata": dict(spec.get("metadata") or {})}
    return out
