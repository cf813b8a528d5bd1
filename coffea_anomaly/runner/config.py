"""The run configuration: which processor, which files, which models, how to execute."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..config import check_field_types, config_from_dict, config_to_dict, load_yaml
from ..errors import ConfigError

__all__ = ["EXECUTORS", "RunConfig", "load_fileset", "load_run_config"]

EXECUTORS = ("iterative", "futures", "dask", "dask-awkward")

#: OnnxModel options a run config may set, with the smallest value each accepts
MODEL_OPTIONS = {"batch_size": 1, "intra_op_threads": 0, "inter_op_threads": 0, "providers": None}


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
        preprocessed: a checked fileset saved by an earlier run (``save_preprocessed``):
            its file checks are reused, only files it does not list are opened.
        save_preprocessed: write the file checks (coffea's preprocessed-fileset form plus
            our check of each file) to this JSON path, for ``preprocessed`` in a rerun.
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
    preprocessed: str | None = None
    save_preprocessed: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.mjj_range, list):
            object.__setattr__(self, "mjj_range", tuple(self.mjj_range))
        check_field_types(self)
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
        if hasattr(self.fileset, "model_dump"):  # coffea's DataGroupSpec: kept as its plain JSON form
            object.__setattr__(self, "fileset", _plain(self.fileset))
        if not isinstance(self.fileset, (str, Path, dict)):
            raise ConfigError(
                "RunConfig option 'fileset': expected a path to a fileset JSON or a mapping "
                f"dataset -> files, got {type(self.fileset).__name__}"
            )
        lo, hi = self.mjj_range
        if not lo < hi:
            raise ConfigError(f"RunConfig option 'mjj_range': expected [low, high] with low < high, got {list(self.mjj_range)}")
        if lo < 0:
            raise ConfigError(f"RunConfig option 'mjj_range': m_jj is not negative, got {list(self.mjj_range)}")
        _check_models(self.models)
        _check_model_options(self.model_options)

    def with_overrides(self, **overrides: Any) -> RunConfig:
        """A copy with the given (non-None) fields replaced."""
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})

    def to_dict(self) -> dict[str, Any]:
        return config_to_dict(self)


def _check_models(models: Any) -> None:
    """Models are a spec, a list of specs or a mapping name -> spec (spec: name, path, OnnxModel)."""
    from os import PathLike

    def is_spec(m: Any) -> bool:
        return isinstance(m, (str, PathLike)) or type(m).__name__ == "OnnxModel"

    if is_spec(models):
        return
    if isinstance(models, (list, tuple)):
        bad = [m for m in models if not is_spec(m)]
    elif isinstance(models, dict):
        bad = [m for k, m in models.items() if not (isinstance(k, str) and is_spec(m))]
    else:
        bad = [models]
    if bad:
        raise ConfigError(
            "RunConfig option 'models': expected a shipped model name or ONNX path, a list of "
            f"them, or a mapping name -> model; got {bad[0]!r} ({type(bad[0]).__name__})"
        )


def _check_model_options(options: dict[str, Any]) -> None:
    unknown = sorted(set(options) - set(MODEL_OPTIONS))
    if unknown:
        raise ConfigError(
            f"RunConfig option 'model_options': unknown option(s) {', '.join(map(str, unknown))}; "
            f"known: {', '.join(MODEL_OPTIONS)}"
        )
    for key, value in options.items():
        where = f"RunConfig option 'model_options.{key}'"
        least = MODEL_OPTIONS[key]
        if least is None:  # providers
            if value is not None and not (isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value)):
                raise ConfigError(f"{where}: expected a list of onnxruntime provider names, got {value!r}")
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected an integer, got {value!r} ({type(value).__name__})")
        if value < least:
            raise ConfigError(f"{where}: must be >= {least}, got {value}")


def load_run_config(path: str | Path) -> RunConfig:
    """Read a run config YAML; relative file paths are taken relative to the YAML file."""
    path = Path(path)
    data = load_yaml(path)
    fs = data.get("fileset")
    if isinstance(fs, str):
        data["fileset"] = str((path.parent / fs).resolve()) if not Path(fs).is_absolute() else fs
    for key in ("preprocessed", "save_preprocessed"):
        if isinstance(data.get(key), str) and not Path(data[key]).is_absolute():
            data[key] = str((path.parent / data[key]).resolve())
    models = data.get("models")
    if isinstance(models, (list, tuple)):
        data["models"] = [_resolve_model(path.parent, m) for m in models]
    elif isinstance(models, dict):
        data["models"] = {k: _resolve_model(path.parent, m) for k, m in models.items()}
    return config_from_dict(RunConfig, data)


def _resolve_model(base: Path, spec: Any) -> Any:
    if isinstance(spec, str) and spec.endswith(".onnx") and not Path(spec).is_absolute():
        return str((base / spec).resolve())
    return spec


def load_fileset(fileset: Any) -> dict[str, dict[str, Any]]:
    """Normalise a fileset (path or mapping) to
    ``{dataset: {"files": {path: tree}, "metadata": {...}}}``, plus ``"entries": {path: n}``
    when the fileset gives numbers of entries.

    A dataset may be a list of paths or URLs, or ``{"files": ..., "metadata": ...}``
    with files as a list, ``{path: tree}`` or coffea's preprocessed form
    ``{path: {"object_path": tree, "num_entries": n, ...}}`` (``entries`` keeps the ``n``).
    coffea's ``DataGroupSpec`` / ``DatasetSpec`` objects and their JSON are read as well.
    """
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
    fileset = _plain(fileset)
    if not isinstance(fileset, dict) or not fileset:
        raise ConfigError("the fileset must be a non-empty mapping dataset -> files")
    out: dict[str, dict[str, Any]] = {}
    for name, spec in fileset.items():
        spec = _plain(spec)
        if isinstance(spec, (list, tuple)):
            spec = {"files": {f: "Events" for f in spec}}
        if not isinstance(spec, dict):
            raise ConfigError(f"dataset {name!r}: expected a list of files or a mapping with 'files', "
                              f"got {type(spec).__name__}")  # fmt: skip
        files = spec.get("files")
        if isinstance(files, (list, tuple)):
            files = {f: "Events" for f in files}
        if not files:
            raise ConfigError(f"dataset {name!r} lists no files")
        if not isinstance(files, dict):
            raise ConfigError(f"dataset {name!r}: 'files' must be a list of paths or a mapping path -> tree")
        metadata = spec.get("metadata") or {}
        if not isinstance(metadata, dict):
            raise ConfigError(f"dataset {name!r}: 'metadata' must be a mapping, got {type(metadata).__name__}")
        resolved: dict[str, str] = {}
        entries: dict[str, int] = {}
        for f, tree in files.items():
            if not isinstance(f, str) or not f:
                raise ConfigError(f"dataset {name!r}: file names must be strings, got {f!r}")
            n = None
            if isinstance(tree, dict):
                if tree.get("format", "root") not in ("root", None):
                    raise ConfigError(f"dataset {name!r}: {f} is a {tree['format']} file; only ROOT files "
                                      "(TTree or RNTuple) can be run")  # fmt: skip
                n = tree.get("num_entries")
                tree = tree.get("object_path")
            if tree is not None and not isinstance(tree, str):
                raise ConfigError(f"dataset {name!r}: the tree of {f} must be a name, got {tree!r}")
            fp = Path(f)
            if base is not None and not fp.is_absolute() and "://" not in f:
                fp = (base / fp).resolve()
            key = str(fp) if "://" not in f else f
            resolved[key] = tree or "Events"
            if isinstance(n, int) and not isinstance(n, bool) and n >= 0:
                entries[key] = n
        out[str(name)] = {"files": resolved, "metadata": dict(metadata)}
        if entries:
            out[str(name)]["entries"] = entries
    return out


def _plain(obj: Any) -> Any:
    """A pydantic model (coffea's ``DataGroupSpec``, ``DatasetSpec``) as its JSON-like dict; anything else as is."""
    if hasattr(obj, "model_dump"):
        return obj.model_dump(mode="json")
    return obj
