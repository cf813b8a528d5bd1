"""Recipes: shipped YAML, ``--set`` overrides with type checks, hashes, placeholders."""

from __future__ import annotations

import pytest

from coffea_anomaly.config import config_from_dict, config_to_dict
from coffea_anomaly.errors import ConfigError
from coffea_anomaly.generation import known_processes, load_recipe, parse_overrides, recipe_hash
from coffea_anomaly.generation.settings import SampleRecipe

PROCESSES = ["dark_shower", "mixed", "qcd_dijet", "qcd_jets", "scalar_4c", "top_jets", "wprime_xy", "zprime_3prong"]


def test_every_process_of_the_issue_has_a_recipe():
    assert known_processes() == PROCESSES


@pytest.mark.parametrize("process", PROCESSES)
def test_recipes_load_and_round_trip(process):
    recipe = load_recipe(process)
    assert recipe.process == process
    assert config_from_dict(SampleRecipe, config_to_dict(recipe)) == recipe
    assert all("{" not in line for line in recipe.pythia_lines())


def test_benchmark_windows_are_the_papers():
    top = load_recipe("top_jets")
    assert (top.filter.pt_min, top.filter.pt_max, top.filter.abs_eta_max) == (550.0, 650.0, 2.0)
    assert top.filter.require_truth_match and top.truth_ids == (6,)
    assert "Beams:eCM = 14000.0" in top.pythia_lines()
    dijet = load_recipe("qcd_dijet")
    assert (dijet.filter.leading_pt_min, dijet.filter.mjj_min, dijet.filter.mjj_max) == (1200.0, 2000.0, 8000.0)
    assert "Beams:eCM = 13000.0" in dijet.pythia_lines()
    scalar = load_recipe("scalar_4c")
    assert (scalar.filter.pt_min, scalar.filter.pt_max) == (475.0, 525.0)
    assert "25:m0 = 175.0" in scalar.pythia_lines() and "36:m0 = 4.0" in scalar.pythia_lines()


def test_parameters_fill_pythia_lines_with_arithmetic():
    recipe = load_recipe("dark_shower", {"r_inv": 0.25, "m_qv": 5})
    lines = recipe.pythia_lines()
    assert "4900111:oneChannel = 1 0.75 91 1 -1" in lines
    assert "4900111:addChannel = 1 0.25 0 4900211 -4900211" in lines
    assert "4900111:m0 = 10.0" in lines
    assert "PartonLevel:MPI = off" in lines


def test_overrides_reach_parameters_sections_and_top_level():
    recipe = load_recipe("wprime_xy", {"m_wprime": 3000, "filter.mjj_min": 1500, "jets.store_all_pfcands": True,
                                       "block_size": 50})
    assert "34:m0 = 3000.0" in recipe.pythia_lines()
    assert recipe.filter.mjj_min == 1500.0
    assert recipe.jets.store_all_pfcands is True
    assert recipe.block_size == 50


def test_mixed_overrides_go_to_the_injected_recipes():
    recipe = load_recipe("mixed", {"signal": "zprime_3prong", "signal_fraction": 0.001, "signal.m_y": 400})
    assert recipe.mix.signal == "zprime_3prong"
    assert recipe.mix.signal_fraction == 0.001
    assert recipe.mix.signal_overrides == {"m_y": 400}


def test_recipe_hash_follows_content():
    assert recipe_hash(load_recipe("qcd_jets")) == recipe_hash(load_recipe("qcd_jets"))
    assert recipe_hash(load_recipe("qcd_jets")) != recipe_hash(load_recipe("qcd_jets", {"pthat_min": 480}))
    assert recipe_hash(load_recipe("mixed")) != recipe_hash(load_recipe("mixed", {"signal.m_wprime": 3000}))


def test_parse_overrides_reads_yaml_scalars():
    assert parse_overrides(["a=1", "b=2.5", "c=true", "d=zprime_3prong"]) == {"a": 1, "b": 2.5, "c": True,
                                                                              "d": "zprime_3prong"}


@pytest.mark.parametrize(
    ("process", "overrides", "message"),
    [
        ("nope", {}, "unknown process 'nope'; known processes: dark_shower, mixed, qcd_dijet"),
        ("wprime_xy", {"m_wprimo": 1.0}, "unknown option 'm_wprimo' for process wprime_xy; known: ecm, m_wprime"),
        ("wprime_xy", {"m_wprime": "heavy"}, "--set m_wprime: expected a float like 3500.0, got 'heavy'"),
        ("top_jets", {"filter.pt_mn": 1.0}, "unknown option 'filter.pt_mn' for process top_jets; known filter options"),
        ("top_jets", {"filter.pt_min": 700.0}, "pt_min (700.0) must be below pt_max (650.0)"),
        ("top_jets", {"block_size": 0}, "block_size must be an integer >= 1"),
        ("top_jets", {"process": "qcd_jets"}, "unknown option 'process' for process top_jets"),
        ("top_jets", {"detector.min_pt": -1.0}, "min_pt must be a number >= 0"),
        ("mixed", {"signal_fraction": 1.5}, "signal_fraction must be in [0, 1]"),
        ("mixed", {"signal": "nope"}, "unknown process 'nope'"),
        ("mixed", {"filter.pt_min": 1.0}, "unknown option 'filter.pt_min' for process mixed; known: block_size, signal"),
    ],
)
def test_bad_overrides_say_what_is_wrong(process, overrides, message):
    with pytest.raises(ConfigError) as info:
        load_recipe(process, overrides)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("item", ["novalue", "=3", "a=[1, 2]"])
def test_bad_set_syntax_is_rejected(item):
    with pytest.raises(ConfigError, match="--set"):
        parse_overrides([item])
