"""Tiny generated samples for the training integration tests (Pythia via generate_sample).

They are cached in pytest's cache folder and reused while the recipe is unchanged
(``ensure_sample``), so only the first run pays for the generation (~20 s); without the
cache plugin (``-p no:cacheprovider``) they go to a temporary folder.
"""

from __future__ import annotations

from pathlib import Path

import pytest

#: process -> accepted events: a few hundred jets, enough for 2 epochs and an AUC
SAMPLES = {"qcd_jets": 300, "top_jets": 100, "qcd_dijet": 200, "wprime_xy": 60}


@pytest.fixture(scope="session")
def generated(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    """Folder (with fileset.json) of each tiny sample, by process name."""
    from coffea_anomaly.generation import ensure_sample

    cache = getattr(request.config, "cache", None)
    root = (
        Path(cache.mkdir("coffea_anomaly_training_samples"))
        if cache is not None
        else tmp_path_factory.mktemp("training_samples")
    )
    return {
        process: ensure_sample(process, n, root / process, seed=7, progress=False).fileset.parent
        for process, n in SAMPLES.items()
    }
