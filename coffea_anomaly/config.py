"""Frozen-dataclass configuration helpers.

Configs are frozen dataclasses: they pickle cleanly to Dask workers, validate early,
and serialise losslessly into model cards (JSON) and YAML files (``yaml.safe_load``).
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

from .errors import ConfigError

__all__ = ["config_from_dict", "config_to_dict", "load_yaml"]

T = TypeVar("T")


def config_to_dict(cfg: Any) -> dict[str, Any]:
    """Return a JSON-serialisable dict of a (possibly nested) config dataclass."""
    if not dataclasses.is_dataclass(cfg) or isinstance(cfg, type):
        raise TypeError(f"expected a dataclass instance, got {type(cfg).__name__}")
    out: dict[str, Any] = {}
    for f in dataclasses.fields(cfg):
        out[f.name] = _to_plain(getattr(cfg, f.name))
    return out


def _to_plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return config_to_dict(value)
    if isinstance(value, (tuple, list)):
        return [_to_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _to_plain(v) for k, v in value.items()}
    return value


def config_from_dict(cls: type[T], data: dict[str, Any] | None) -> T:
    """Build the dataclass ``cls`` from a dict, rejecting unknown keys with a clear error.

    Nested dataclasses and tuples are rebuilt from their plain (JSON/YAML) form, so
    ``config_from_dict(C, config_to_dict(c)) == c`` for every config ``c``.
    """
    data = dict(data or {})
    names = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(names))
    if unknown:
        raise ConfigError(
            f"unknown option(s) for {cls.__name__}: {', '.join(unknown)}; "
            f"known: {', '.join(sorted(names))}"
        )
    hints = typing.get_type_hints(cls)
    kwargs = {k: _from_plain(hints.get(k, Any), v) for k, v in data.items()}
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"invalid {cls.__name__}: {err}") from err


def _from_plain(tp: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        error: Exception | None = None
        for a in args:
            if a is type(None):
                continue
            try:
                return _from_plain(a, value)
            except (TypeError, ValueError, ConfigError) as err:
                error = err
        if error is not None and isinstance(value, dict):
            # a mapping meant for a nested config that does not fit it: say so
            raise error
        return value
    if dataclasses.is_dataclass(tp) and isinstance(value, dict):
        return config_from_dict(tp, value)
    if origin is tuple and isinstance(value, (list, tuple)):
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_from_plain(args[0], v) for v in value)
        if args:
            return tuple(_from_plain(a, v) for a, v in zip(args, value))
        return tuple(value)
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping safely (``yaml.safe_load``); errors name the file."""
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as err:
        raise ConfigError(f"cannot read {p}: {err.strerror or err}") from err
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigError(f"{p} is not valid YAML: {err}") from err
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{p} must hold a mapping at top level, not {type(data).__name__}")
    return data


def dumps_json(obj: Any) -> str:
    """Canonical JSON (sorted keys) used for model cards and hashes."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))
