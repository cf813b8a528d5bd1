"""Selections on hand-made jets, sample resolution, and reading generated samples."""

from __future__ import annotations

import json

import numpy as np
import pytest

from coffea_anomaly.errors import ConfigError, InputDataError
from coffea_anomaly.representations import ImageConfig
from coffea_anomaly.selection import DijetSelection, JetSelection
from coffea_anomaly.training.data import files_within, load_inputs, sample_files
from coffea_anomaly.training.settings import RepresentationChoice, SampleSpec, resolve_selection


def test_a_sample_selection_is_the_level_s_selection_class() -> None:
    spec = SampleSpec("x", {"pt_min": 550.0, "pt_max": 650.0})
    assert resolve_selection(spec.selection, "jet") == JetSelection(pt_min=550.0, pt_max=650.0)
    assert resolve_selection({"jet_pt_min": 300.0}, "event") == DijetSelection(jet_pt_min=300.0)
    with pytest.raises(ConfigError, match="unknown option.*pt_max"):
        resolve_selection({"pt_max": 650.0}, "event")  # the dijet selection has no jet pT window
    with pytest.raises(ConfigError, match="needs a dijet selection"):
        resolve_selection(JetSelection(), "event")


def test_sample_files_from_folder_fileset_and_root_file(tmp_path) -> None:
    (tmp_path / "a.root").write_bytes(b"")
    fileset = {"ds": {"files": {"a.root": "Events"}, "metadata": {}}}
    (tmp_path / "fileset.json").write_text(json.dumps(fileset))
    want = {str(tmp_path / "a.root"): "Events"}
    assert sample_files(tmp_path) == want
    assert sample_files(tmp_path / "fileset.json") == want
    assert sample_files(tmp_path / "a.root") == want
    with pytest.raises(InputDataError, match="no sample"):
        sample_files(tmp_path / "missing")


def test_a_list_of_paths_is_one_sample_the_union_of_their_files(tmp_path) -> None:
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / f"{name}.root").write_bytes(b"")
        (tmp_path / name / "fileset.json").write_text(json.dumps({name: {"files": {f"{name}.root": "Events"}}}))
    both = [str(tmp_path / "a"), str(tmp_path / "b" / "fileset.json")]
    assert list(sample_files(both)) == [str(tmp_path / "a" / "a.root"), str(tmp_path / "b" / "b.root")]
    spec = SampleSpec(both, {})
    assert spec.path == tuple(both)  # frozen, hashable, JSON-able as a list
    with pytest.raises(InputDataError, match="no sample"):
        sample_files([str(tmp_path / "a"), str(tmp_path / "missing")])
    with pytest.raises(ConfigError, match="non-empty strings"):
        SampleSpec([str(tmp_path / "a"), ""], {})
    # a test sample that is (part of) the training sample is recognised through its files
    assert files_within(str(tmp_path / "a" / "a.root"), both) and files_within(both, both)
    assert not files_within(both, str(tmp_path / "a"))


@pytest.mark.slow
def test_reading_generated_jets_gives_normalised_images(generated) -> None:
    spec = SampleSpec(str(generated["qcd_jets"]), JetSelection(pt_min=550, pt_max=650))
    inputs = load_inputs(spec, RepresentationChoice("jet_image", {}), "jet", progress=False)
    assert inputs.x.dtype == np.float32
    assert inputs.x.shape[1:] == ImageConfig().shape
    assert inputs.n_events == 300
    assert inputs.n_selected >= inputs.x.shape[0] > 200  # at least one jet per event mostly
    np.testing.assert_allclose(inputs.x.sum(axis=(1, 2)), 1.0, rtol=1e-5)
    assert inputs.weights is None
    # the jet mass travels beside the inputs, for families whose loss needs it
    assert inputs.aux["mass"].shape == (inputs.x.shape[0],) and np.all(inputs.aux["mass"] > 0)


@pytest.mark.slow
def test_max_items_caps_the_sample(generated) -> None:
    spec = SampleSpec(str(generated["qcd_jets"]), JetSelection(pt_min=550, pt_max=650),
                      max_items=50, weighted=True)  # fmt: skip
    inputs = load_inputs(spec, RepresentationChoice("jet_image", {}), "jet", progress=False)
    assert inputs.x.shape[0] == 50
    assert inputs.weights is not None and inputs.weights.shape == (50,)


@pytest.mark.slow
def test_reading_generated_dijets_gives_twelve_features(generated) -> None:
    spec = SampleSpec(str(generated["qcd_dijet"]), DijetSelection(jet_pt_min=300, eta_max=2.5))
    rep = RepresentationChoice(
        "dijet_features", {"features": ["mass", "tau1", "tau21", "tau32", "tau43", "n_charged"]}
    )
    inputs = load_inputs(spec, rep, "event", progress=False)
    assert inputs.x.shape[1] == 12
    assert 0 < inputs.x.shape[0] <= 200
    assert np.all(inputs.x[:, 0] >= inputs.x[:, 6])  # heavier jet first
    assert np.all(inputs.aux["mjj"] > inputs.x[:, 0])
