"""Sample generation: Pythia 8 recipes, a toy detector, fastjet jets, NanoAOD-v15-style files.

Public entry points (Pythia is imported only when events are generated)::

    from coffea_anomaly.generation import generate_sample, ensure_sample
    result = ensure_sample("top_jets", 1000, "data/dev/top_jets", seed=1)
    result.fileset  # path of fileset.json (coffea fileset format)

See docs/GENERATION.md for the recipes and the detector model.
"""

from __future__ import annotations

from .api import GenerationResult, ensure_sample, generate_sample
from .recipes import known_processes, load_recipe, parse_overrides, recipe_hash

__all__ = [
    "GenerationResult",
    "ensure_sample",
    "generate_sample",
    "known_processes",
    "load_recipe",
    "parse_overrides",
    "recipe_hash",
]
