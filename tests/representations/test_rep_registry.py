"""The registry (Contract 2): build_input(kind, config, jets, constituents) -> float32."""

from __future__ import annotations

import json

import awkward as ak
import numpy as np
import pytest
from rep_toys import make_jets, random_jet

from coffea_anomaly.config import config_from_dict, config_to_dict
from coffea_anomaly.errors import ConfigError, InputDataError
from coffea_anomaly.representations import (
    REPRESENTATION_KINDS,
    ConstituentConfig,
    FeatureConfig,
    ImageConfig,
    build_input,
    config_class,
    constituent_arrays,
    jet_images,
    register,
)
from coffea_anomaly.representations import registry


@pytest.fixture
def nested() -> tuple[ak.Array, ak.Array]:
    """4 events with 2 jets each (8 random jets)."""
    rng = np.random.default_rng(21)
    jets, constituents = make_jets([random_jet(rng, n=20) for _ in range(8)])
    return ak.unflatten(jets, [2] * 4), ak.unflatten(constituents, [2] * 4)


def test_the_four_kinds_are_registered_with_their_configs():
    assert set(REPRESENTATION_KINDS) == {
        "jet_image",
        "constituents",
        "jet_features",
        "dijet_features",
    }
    assert config_class("jet_image") is ImageConfig
    assert config_class("constituents") is ConstituentConfig
    assert config_class("jet_features") is FeatureConfig
    assert config_class("dijet_features") is FeatureConfig


def test_a_registered_kind_shows_up_everywhere(nested):
    jets, constituents = nested
    try:

        @register("toy_pt", ConstituentConfig)
        def _build(config, jets, constituents):
            return np.asarray(ak.to_numpy(ak.flatten(jets.pt, axis=None)), dtype=np.float32)

        assert "toy_pt" in REPRESENTATION_KINDS  # the name imported before registering
        assert config_class("toy_pt") is ConstituentConfig
        x = build_input("toy_pt", {"n_constituents": 3}, jets, constituents)
        assert x.shape == (8,) and x.dtype == np.float32
    finally:
        registry._REGISTRY.pop("toy_pt", None)
    assert "toy_pt" not in REPRESENTATION_KINDS


@pytest.mark.parametrize(
    ("kind", "config", "shape"),
    [
        ("jet_image", ImageConfig(npix=37, pad_to=40), (8, 40, 40)),
        ("constituents", ConstituentConfig(n_constituents=30), (8, 30, 4)),
        ("jet_features", FeatureConfig.preset("vae_latent"), (8, 3)),
        ("dijet_features", FeatureConfig.preset("quak", event_features=("mjj",)), (4, 13)),
    ],
)
def test_build_input_shapes_and_dtype(backend, nested, kind, config, shape):
    jets, constituents = nested
    x = backend.numpy(build_input(kind, config, backend(jets), backend(constituents)))
    assert x.shape == shape
    assert x.dtype == np.float32
    assert np.isfinite(x).all()
    # the card's dict form gives exactly the same input
    as_card = json.loads(json.dumps(config_to_dict(config)))
    np.testing.assert_array_equal(build_input(kind, as_card, jets, constituents), x)


def test_build_input_matches_the_representation_functions(nested):
    jets, constituents = nested
    np.testing.assert_array_equal(
        build_input("jet_image", {}, jets, constituents), jet_images(jets, constituents)
    )
    np.testing.assert_array_equal(
        build_input("constituents", {"frame": "lab"}, jets, constituents),
        constituent_arrays(jets, constituents, ConstituentConfig(frame="lab"))[0],
    )


def test_unknown_kinds_and_options_are_config_errors(nested):
    jets, constituents = nested
    with pytest.raises(ConfigError, match="known: jet_image"):
        build_input("graph", {}, jets, constituents)
    with pytest.raises(ConfigError, match="unknown option"):
        build_input("jet_image", {"npixels": 40}, jets, constituents)
    with pytest.raises(ConfigError, match="needs a ImageConfig"):
        build_input("jet_image", ConstituentConfig(), jets, constituents)


def test_dijet_input_needs_exactly_two_jets_per_event(nested):
    jets, constituents = nested
    three = ak.concatenate([jets[:, :2], jets[:, :1]], axis=1)
    three_c = ak.concatenate([constituents[:, :2], constituents[:, :1]], axis=1)
    with pytest.raises(InputDataError, match="exactly two jets per event; 4 of 4"):
        build_input("dijet_features", {}, three, three_c)


@pytest.mark.parametrize("kind", ["jet_image", "constituents", "jet_features", "dijet_features"])
def test_default_configs_round_trip_through_json(kind):
    cls = config_class(kind)
    text = json.dumps(config_to_dict(cls()))
    assert config_from_dict(cls, json.loads(text)) == cls()


@pytest.mark.parametrize("kind", ["jet_image", "constituents", "jet_features", "dijet_features"])
def test_an_empty_chunk_gives_an_empty_input(backend, nested, kind):
    jets, constituents = nested
    x = backend.numpy(build_input(kind, {}, backend(jets[:0]), backend(constituents[:0])))
    assert x.shape[0] == 0
    assert x.dtype == np.float32
