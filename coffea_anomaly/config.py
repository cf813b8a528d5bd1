"""Frozen-dataclass configuration helpers.

Configs are frozen dataclasses: they pickle cleanly to Dask workers, validate early,
and serialise losslessly into model cards (JSON) and YAML files (``yaml.safe_load``).
:func:`config_from_dict` checks every value against its field's annotation (a bool
must be ``true``/``false``, not the string ``"false"``; numbers must be numbers; pairs
must have two entries) and names the field when one does not fit. :func:`load_yaml`
refuses files over :data:`MAX_YAML_BYTES` and YAML whose aliases expand to more than
:data:`MAX_YAML_NODES` values (a few hundred bytes of nested aliases can otherwise
expand to gigabytes once copied into a summary).
"""

from __future__ import annotations

import dataclasses
import json
import numbers
import os
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml

from .errors import ConfigError

__all__ = ["MAX_YAML_BYTES", "MAX_YAML_NODES", "check_field_types", "config_from_dict", "config_to_dict", "load_yaml"]

T = TypeVar("T")

#: user YAML files larger than this are refused (configs are a few kB)
MAX_YAML_BYTES = 1 << 20
#: at most this many values (mapping/sequence entries and scalars) once aliases are expanded
MAX_YAML_NODES = 100_000


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
    for k, v in kwargs.items():
        _check_field(cls, k, hints.get(k, Any), v)
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
        if args and len(args) == len(value):
            return tuple(_from_plain(a, v) for a, v in zip(args, value))
        return tuple(value)
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def check_field_types(cfg: Any) -> None:
    """Check every field of the dataclass instance ``cfg`` against its annotation.

    Raises:
        ConfigError: naming the first field whose value does not fit its type.
    """
    cls = type(cfg)
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cfg):
        _check_field(cls, f.name, hints.get(f.name, Any), getattr(cfg, f.name))


def _check_field(cls: type, name: str, tp: Any, value: Any) -> None:
    expected = _mismatch(tp, value)
    if expected is not None:
        raise ConfigError(f"{cls.__name__} option '{name}': expected {expected}, got {_shown(value)}")


def _shown(value: Any) -> str:
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    if value is None:
        return "null (None)"
    return f"{text} ({type(value).__name__})"


def _mismatch(tp: Any, value: Any) -> str | None:
    """None when ``value`` fits the annotation ``tp``, else what was expected (in words)."""
    if tp is Any or isinstance(tp, (TypeVar, str, typing.ForwardRef)):
        return None
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        wanted = [a for a in args if a is not type(None)]
        misses = [_mismatch(a, value) for a in wanted]
        if any(m is None for m in misses):
            return None
        text = " or ".join(m for m in misses if m)
        return text + (" or null" if type(None) in args else "")
    if origin is typing.Literal:
        return None if value in args else "one of " + ", ".join(repr(a) for a in args)
    if origin is typing.ClassVar:
        return None
    if value is None:
        return _describe(tp)
    if tp is bool:
        return None if isinstance(value, (bool, _np_bool())) else "true or false"
    if tp is int:
        ok = isinstance(value, numbers.Integral) and not isinstance(value, (bool, _np_bool()))
        return None if ok else "an integer"
    if tp is float:
        ok = isinstance(value, numbers.Real) and not isinstance(value, (bool, _np_bool()))
        return None if ok else "a number"
    if tp is str:
        return None if isinstance(value, str) else "a string"
    if tp is Path:
        return None if isinstance(value, (str, os.PathLike)) else "a path"
    if origin is tuple or tp is tuple:
        if not isinstance(value, (tuple, list)):
            return _describe(tp)
        if not args or (len(args) == 2 and args[1] is Ellipsis):
            inner = args[0] if args else Any
            bad = next((m for m in (_mismatch(inner, v) for v in value) if m), None)
            return None if bad is None else f"a list of {_describe(inner)}"
        if len(value) != len(args) or any(_mismatch(a, v) for a, v in zip(args, value)):
            return _describe(tp)
        return None
    if origin is list or tp is list:
        if not isinstance(value, (list, tuple)):
            return _describe(tp)
        inner = args[0] if args else Any
        return None if all(_mismatch(inner, v) is None for v in value) else _describe(tp)
    if origin is dict or tp is dict or origin is Mapping:
        if not isinstance(value, Mapping):
            return _describe(tp)
        if len(args) == 2 and any(_mismatch(args[1], v) for v in value.values()):
            return _describe(tp)
        return None
    if isinstance(tp, type):
        if dataclasses.is_dataclass(tp):
            return None if isinstance(value, (tp, Mapping)) else f"a mapping of {tp.__name__} options"
        try:
            return None if isinstance(value, tp) else _describe(tp)
        except TypeError:
            return None
    return None


def _describe(tp: Any) -> str:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is bool:
        return "true or false"
    if tp is int:
        return "an integer"
    if tp is float:
        return "a number"
    if tp is str:
        return "a string"
    if origin is tuple or tp is tuple:
        if args and not (len(args) == 2 and args[1] is Ellipsis):
            return f"a list of {len(args)} values ({', '.join(_describe(a) for a in args)})"
        return "a list"
    if origin is list or tp is list:
        return "a list"
    if origin is dict or tp is dict or origin is Mapping:
        return "a mapping"
    if origin in (typing.Union, types.UnionType):
        return " or ".join("null" if a is type(None) else _describe(a) for a in args)
    return getattr(tp, "__name__", str(tp))


def _np_bool() -> type:
    import numpy as np

    return np.bool_


class _LimitedLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses documents expanding to more than
    :data:`MAX_YAML_NODES` values through aliases (and recursive aliases)."""

    max_nodes = MAX_YAML_NODES

    def compose_document(self) -> Any:
        node = super().compose_document()
        _expanded_size(node, {}, set(), self.max_nodes)
        return node


def _safe_load_limited(text: str) -> Any:
    """``yaml.safe_load`` with the alias-expansion limit of :class:`_LimitedLoader`."""
    loader = _LimitedLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def _expanded_size(node: yaml.Node, sizes: dict[int, int], active: set[int], limit: int) -> int:
    """Number of values ``node`` stands for once every alias is copied out (memoised)."""
    key = id(node)
    if key in sizes:
        return sizes[key]
    if key in active:
        raise ConfigError("recursive YAML alias (an anchor used inside itself)")
    active.add(key)
    total = 1
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            total += _expanded_size(k, sizes, active, limit) + _expanded_size(v, sizes, active, limit)
    elif isinstance(node, yaml.SequenceNode):
        for v in node.value:
            total += _expanded_size(v, sizes, active, limit)
    active.discard(key)
    if total > limit:
        raise ConfigError(
            f"YAML anchors/aliases expand to more than {limit} values; write the values out "
            "or use fewer nested aliases"
        )
    sizes[key] = total
    return total


def load_yaml(path: str | Path, *, max_bytes: int = MAX_YAML_BYTES) -> dict[str, Any]:
    """Read a YAML mapping safely; errors name the file.

    Args:
        path: the YAML file.
        max_bytes: larger files are refused.

    Raises:
        ConfigError: unreadable, too large, not YAML, aliases expanding beyond
            :data:`MAX_YAML_NODES` values, or not a mapping.
    """
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > max_bytes:
            raise ConfigError(f"{p} is {size} bytes; config files are limited to {max_bytes} bytes")
        text = p.read_text()
    except OSError as err:
        raise ConfigError(f"cannot read {p}: {err.strerror or err}") from err
    try:
        data = _safe_load_limited(text)
    except ConfigError as err:
        raise ConfigError(f"{p}: {err}") from err
    except RecursionError as err:
        raise ConfigError(f"{p} is nested too deeply") from err
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
