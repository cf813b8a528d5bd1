"""High-level jet and dijet features on jets whose substructure is known."""

from __future__ import annotations

import math

import awkward as ak
import numpy as np
import pytest
import vector
from rep_toys import make_jets, prong_cluster

from coffea_anomaly.config import config_from_dict, config_to_dict
from coffea_anomaly.errors import ConfigError, InputDataError
from coffea_anomaly.representations import (
    FEATURE_SETS,
    FeatureConfig,
    dijet_features_from_jets,
    dijet_matrix,
    feature_matrix,
    jet_features,
)


def _one_two_three_prong(seed: int = 3) -> tuple[ak.Array, ak.Array]:
    rng = np.random.default_rng(seed)
    one = prong_cluster(rng, [(300.0, 0.0, 0.0)], n_each=24)
    two = prong_cluster(rng, [(150.0, 0.2, 0.0), (150.0, -0.2, 0.05)], n_each=12)
    three = prong_cluster(
        rng, [(100.0, 0.25, 0.0), (100.0, -0.15, 0.2), (100.0, -0.1, -0.25)], n_each=8
    )
    return make_jets([one, two, three])


def test_tau21_of_a_two_prong_jet_is_small_compared_to_a_one_prong_jet(backend):
    jets, constituents = _one_two_three_prong()
    feats = backend.awkward(jet_features(backend(jets), backend(constituents)))
    tau21 = feats.tau21.to_numpy()
    assert tau21[1] < 0.15
    assert tau21[0] > 3 * tau21[1]
    tau32 = feats.tau32.to_numpy()
    assert tau32[2] < 0.2
    assert tau32[2] < tau32[1] / 3


def test_mass_of_two_massless_particles_is_analytic():
    pt1, pt2, deta, dphi = 120.0, 80.0, 0.3, 0.4
    jets, constituents = make_jets([[(pt1, 0.1, 1.0), (pt2, 0.1 + deta, 1.0 + dphi)]])
    feats = jet_features(jets, constituents, FeatureConfig(features=("mass",)))
    expected = math.sqrt(2 * pt1 * pt2 * (math.cosh(deta) - math.cos(dphi)))
    assert feats.mass[0] == pytest.approx(expected, rel=1e-9)


def test_soft_drop_keeps_two_hard_prongs_and_grooms_soft_wide_radiation():
    rng = np.random.default_rng(5)
    core = prong_cluster(rng, [(150.0, 0.15, 0.0), (150.0, -0.15, 0.0)], n_each=6)
    soft_wide = [(5.0, 0.0, 0.7)]  # z = 5/305 < 0.1 at the first declustering
    jets, constituents = make_jets([core, core + soft_wide])
    feats = jet_features(jets, constituents, FeatureConfig(features=("mass", "msoftdrop")))
    core_mass = feats.mass[0]
    assert feats.msoftdrop[0] == pytest.approx(core_mass, rel=1e-6)  # nothing to groom
    assert feats.mass[1] > core_mass + 5.0  # the wide soft particle adds mass...
    assert feats.msoftdrop[1] == pytest.approx(core_mass, rel=1e-6)  # ...soft drop removes it


def test_charged_multiplicity_from_charge_or_pdgid():
    parts = [(10.0, 0.0, 0.0, 0.0, 1), (5.0, 0.1, 0.0, 0.0, 0), (3.0, 0.0, 0.1, 0.0, -1)]
    jets, constituents = make_jets([parts, []])
    feats = jet_features(jets, constituents, FeatureConfig(features=("n_charged",)))
    assert feats.n_charged.tolist() == [2, 0]
    by_pdgid = ak.with_field(
        constituents[["pt", "eta", "phi", "mass"]], ak.Array([[211, 22, -11], []]), "pdgId"
    )
    feats = jet_features(jets, by_pdgid, FeatureConfig(features=("n_charged",)))
    assert feats.n_charged.tolist() == [2, 0]
    with pytest.raises(InputDataError, match="charge"):
        jet_features(
            jets, constituents[["pt", "eta", "phi", "mass"]], FeatureConfig(features=("n_charged",))
        )


def test_empty_jets_get_zero_features_and_their_count(backend):
    jets, constituents = make_jets([[(10.0, 0.0, 0.0), (10.0, 0.3, 0.0)], []])
    feats = backend.awkward(jet_features(backend(jets), backend(constituents)))
    assert feats.n_constituents.tolist() == [2, 0]
    for name in ("mass", "msoftdrop", "tau1", "tau21", "tau43"):
        assert feats[name][1] == 0.0
    assert feats.mass[0] > 0


def test_stored_nanoaod_values_are_used_when_asked():
    jets, constituents = _one_two_three_prong()
    stored = ak.zip(
        {
            **{f: jets[f] for f in ("pt", "eta", "phi")},
            "mass": ak.Array([1.0, 2.0, 3.0]),
            "msoftdrop": ak.Array([0.5, 1.5, 2.5]),
            "tau1": ak.Array([0.4, 0.4, 0.4]),
            "tau2": ak.Array([0.2, 0.1, 0.3]),
        }
    )
    config = FeatureConfig(
        features=("mass", "msoftdrop", "tau21"), tau_source="nanoaod", mass_source="nanoaod"
    )
    feats = jet_features(stored, constituents, config)
    assert feats.mass.tolist() == [1.0, 2.0, 3.0]
    assert feats.msoftdrop.tolist() == [0.5, 1.5, 2.5]
    assert feats.tau21.to_numpy() == pytest.approx([0.5, 0.25, 0.75])


def test_features_keep_the_events_by_jets_nesting_and_the_matrix_flattens_it(backend):
    jets, constituents = _one_two_three_prong()
    nested_jets = ak.unflatten(jets, [2, 0, 1])
    nested_constituents = ak.unflatten(constituents, [2, 0, 1])
    config = FeatureConfig.preset("vae_latent")
    feats = jet_features(backend(nested_jets), backend(nested_constituents), config)
    assert ak.num(backend.awkward(feats)).tolist() == [2, 0, 1]
    matrix = backend.numpy(feature_matrix(feats, config.features))
    flat = jet_features(jets, constituents, config)
    assert matrix.shape == (3, 3)
    assert matrix.dtype == np.float32
    np.testing.assert_allclose(matrix[:, 1], flat.tau21.to_numpy(), rtol=1e-6)


def _dijet_events() -> tuple[ak.Array, ak.Array]:
    rng = np.random.default_rng(9)
    light = prong_cluster(rng, [(400.0, 0.5, 0.0)], n_each=10)  # narrow: low mass
    heavy = prong_cluster(rng, [(200.0, -0.7, 3.0), (200.0, -0.4, 2.8)], n_each=10)
    third = prong_cluster(rng, [(50.0, 2.0, 1.5)], n_each=4)
    jets, constituents = make_jets([light, heavy, third, light, heavy])
    counts = [3, 1, 1]  # event 0: light, heavy, third; event 1: one jet; event 2: one jet
    return ak.unflatten(jets, counts), ak.unflatten(constituents, counts)


def test_dijet_features_order_jets_by_mass_and_compute_mjj(backend):
    jets, constituents = _dijet_events()
    config = FeatureConfig.preset("vae_latent", event_features=("mjj", "deta"))
    dijet = backend.awkward(dijet_features_from_jets(backend(jets), backend(constituents), config))
    assert ak.is_none(dijet).tolist() == [False, True, True]
    event = dijet[0]
    assert event.j1.mass > event.j2.mass  # heavier first, although it has lower pT
    assert event.j1.pt < event.j2.pt
    v = [vector.obj(pt=j.pt, eta=j.eta, phi=j.phi, mass=j.mass) for j in jets[0][:2]]
    assert event.mjj == pytest.approx((v[0] + v[1]).mass, rel=1e-9)
    assert event.deta == pytest.approx(abs(jets[0][0].eta - jets[0][1].eta), rel=1e-9)
    matrix = backend.numpy(
        dijet_matrix(dijet_features_from_jets(backend(jets), backend(constituents), config), config)
    )
    assert matrix.shape == (1, 8)
    assert config.dijet_columns == (
        "j1_mass",
        "j1_tau21",
        "j1_tau32",
        "j2_mass",
        "j2_tau21",
        "j2_tau32",
        "mjj",
        "deta",
    )
    assert matrix[0, 0] == pytest.approx(event.j1.mass, rel=1e-6)
    assert matrix[0, 6] == pytest.approx(event.mjj, rel=1e-6)


def test_quak_set_has_six_features_per_jet():
    jets, constituents = _dijet_events()
    config = FeatureConfig.preset("quak")
    matrix = dijet_matrix(dijet_features_from_jets(jets, constituents, config), config)
    assert len(FEATURE_SETS["quak"]) == 6
    assert matrix.shape == (1, 12)


@pytest.mark.parametrize(
    "config",
    [
        FeatureConfig(),
        FeatureConfig.preset("quak", tau_source="nanoaod"),
        FeatureConfig.preset("vae_latent", event_features=("mjj",), nsub_axes="KT_Axes"),
    ],
)
def test_feature_config_round_trips(config):
    assert config_from_dict(FeatureConfig, config_to_dict(config)) == config


@pytest.mark.parametrize(
    "bad",
    [
        {"features": ("mass", "width")},
        {"event_features": ("ht",)},
        {"jet_radius": 0.0},
        {"tau_source": "cms"},
        {"features": ()},
        {"order_by": "colour"},
    ],
)
def test_invalid_feature_configs_are_rejected(bad):
    with pytest.raises(ConfigError):
        FeatureConfig(**bad)
