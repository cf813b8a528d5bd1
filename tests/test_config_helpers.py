"""Frozen-dataclass configs round-trip through dicts; bad input fails early and clearly."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from coffea_anomaly.config import config_from_dict, config_to_dict, load_yaml
from coffea_anomaly.errors import ConfigError


@dataclass(frozen=True)
class Inner:
    width: float = 1.0


@dataclass(frozen=True)
class Outer:
    name: str = "x"
    sizes: tuple[int, ...] = (1, 2)
    inner: Inner = field(default_factory=Inner)
    maybe: Inner | None = None


def test_round_trip() -> None:
    cfg = Outer(name="y", sizes=(3,), inner=Inner(2.5), maybe=Inner(4.0))
    assert config_from_dict(Outer, config_to_dict(cfg)) == cfg


def test_int_is_accepted_for_float() -> None:
    assert config_from_dict(Inner, {"width": 3}).width == 3.0


def test_unknown_keys_are_named() -> None:
    with pytest.raises(ConfigError, match="unknown option.*colour.*known: inner, maybe, name, sizes"):
        config_from_dict(Outer, {"colour": 1})


def test_bad_nested_optional_is_not_kept_silently() -> None:
    with pytest.raises(ConfigError, match="unknown option.*depth"):
        config_from_dict(Outer, {"maybe": {"depth": 2}})


def test_load_yaml_errors(tmp_path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_yaml(bad)
    lst = tmp_path / "list.yaml"
    lst.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="mapping at top level"):
        load_yaml(lst)
    with pytest.raises(ConfigError, match="cannot read"):
        load_yaml(tmp_path / "missing.yaml")
