"""Loading generation recipes from ``configs/samples/*.yaml`` and applying ``--set``.

A recipe file is a mapping with the fields of :class:`SampleRecipe` (its ``process``
defaults to the file name). ``--set key=value`` overrides, in this order of lookup:

* ``name=value`` for a physics parameter (``m_wprime=3000``), or ``block_size=200``;
* ``section.field=value`` for a nested field (``filter.pt_min=500``,
  ``detector.min_pt=1``, ``jets.store_all_pfcands=true``);
* in the ``mixed`` recipe, ``signal.<key>`` / ``background.<key>`` go to the
  injected recipes (``signal.m_wprime=3000``), and ``signal=``, ``background=``,
  ``signal_fraction=`` set the mixture itself.

Values are parsed as YAML scalars and must keep the type of what they replace.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from ..config import config_from_dict, config_to_dict, dumps_json, load_yaml
from ..errors import ConfigError
from ..resources import config_path
from .settings import MixConfig, SampleRecipe

__all__ = [
    "known_processes",
    "load_recipe",
    "parse_overrides",
    "recipe_hash",
]

_NESTED = ("jets", "detector", "filter", "mix")
_MIX_SHORTCUTS = {"signal", "background", "signal_fraction"}


def _samples_dir() -> Path:
    return config_path("samples")


def known_processes() -> list[str]:
    """Names of the shipped recipes (the files in ``configs/samples/``)."""
    return sorted(p.stem for p in _samples_dir().glob("*.yaml"))


def parse_overrides(items: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """Parse ``key=value`` strings (CLI ``--set``) into a dict; values are YAML scalars.

    Raises:
        ConfigError: an item has no ``=``, an empty key, or a non-scalar value.
    """
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"--set expects key=value, got {item!r}")
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError as err:
            raise ConfigError(f"--set {key}: cannot parse value {raw!r}") from err
        if isinstance(value, (dict, list)):
            raise ConfigError(f"--set {key}: value must be a single number, string or boolean")
        out[key] = value
    return out


def load_recipe(process: str, overrides: Mapping[str, Any] | None = None) -> SampleRecipe:
    """Load the recipe ``process`` and apply ``overrides``.

    Args:
        process: a name from :func:`known_processes`.
        overrides: ``{key: value}`` as described in the module docstring.

    Returns:
        The validated recipe.

    Raises:
        ConfigError: unknown process, unknown key, wrong value type or invalid value.
    """
    known = known_processes()
    if process not in known:
        raise ConfigError(f"unknown process {process!r}; known processes: {', '.join(known)}")
    data = load_yaml(_samples_dir() / f"{process}.yaml")
    data.setdefault("process", process)
    data = _apply_overrides(data, dict(overrides or {}), process)
    if isinstance(data.get("mix"), dict):
        config_from_dict(MixConfig, data["mix"])  # precise errors for the mixture itself
    recipe = config_from_dict(SampleRecipe, data)
    try:
        recipe.pythia_lines()
    except ValueError as err:
        raise ConfigError(str(err)) from err
    if recipe.mix is not None:
        # validate the injected recipes now, so a bad signal name fails before any work
        load_recipe(recipe.mix.background, recipe.mix.background_overrides)
        load_recipe(recipe.mix.signal, recipe.mix.signal_overrides)
    return recipe


def _apply_overrides(data: dict[str, Any], overrides: dict[str, Any], process: str) -> dict[str, Any]:
    data = copy.deepcopy(data)
    defaults = config_to_dict(SampleRecipe(process=process))
    params = data.setdefault("parameters", {})
    for key, value in overrides.items():
        head, _, rest = key.partition(".")
        if "mix" in data and (head in ("signal", "background") and rest):
            data["mix"].setdefault(f"{head}_overrides", {})[rest] = value
        elif "mix" in data and key in _MIX_SHORTCUTS:
            data["mix"][key] = _typed(key, value, data["mix"].get(key, config_to_dict(MixConfig()).get(key)))
        elif not rest and key in params:
            params[key] = _typed(key, value, params[key])
        elif key == "block_size":
            data[key] = _typed(key, value, data.get(key, defaults[key]))
        elif rest and head in _NESTED and head != "mix" and "." not in rest and "mix" not in data:
            section = data.setdefault(head, {})
            known = defaults[head]
            if rest not in known:
                raise ConfigError(
                    f"unknown option {key!r} for process {process}; "
                    f"known {head} options: {', '.join(sorted(known))}"
                )
            section[rest] = _typed(key, value, section.get(rest, known[rest]))
        else:
            if "mix" in data:  # jets/detector/filter belong to the injected recipes
                names = ["block_size", "signal", "background", "signal_fraction", "signal.<key>", "background.<key>"]
            else:
                names = sorted(params) + [f"{s}.<field>" for s in _NESTED if s != "mix"] + ["block_size"]
            raise ConfigError(f"unknown option {key!r} for process {process}; known: {', '.join(names)}")
    return data


def _typed(key: str, value: Any, reference: Any) -> Any:
    """Check that ``value`` has the type of the value it replaces (ints widen to floats)."""
    if reference is None:
        return value
    if isinstance(reference, bool):
        ok = isinstance(value, bool)
    elif isinstance(reference, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(reference, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif isinstance(reference, str):
        ok = isinstance(value, (str, int, float)) and not isinstance(value, bool)
        value = str(value) if ok else value
    else:
        ok = True
    if not ok:
        raise ConfigError(
            f"--set {key}: expected a {type(reference).__name__} like {reference!r}, got {value!r}"
        )
    return value


def recipe_hash(recipe: SampleRecipe) -> str:
    """A short content hash of the fully resolved recipe (nested recipes included)."""
    payload: dict[str, Any] = {"recipe": config_to_dict(recipe)}
    if recipe.mix is not None:
        payload["background"] = config_to_dict(load_recipe(recipe.mix.background, recipe.mix.background_overrides))
        payload["signal"] = config_to_dict(load_recipe(recipe.mix.signal, recipe.mix.signal_overrides))
    return hashlib.sha256(dumps_json(payload).encode()).hexdigest()[:16]
