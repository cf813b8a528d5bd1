"""Constituent 4-vector arrays (the LoLa input): ordering, padding, rest-frame boost."""

from __future__ import annotations

import math

import awkward as ak
import numpy as np
import pytest
from rep_toys import make_jets, random_jet

from coffea_anomaly.config import config_from_dict, config_to_dict
from coffea_anomaly.errors import ConfigError
from coffea_anomaly.representations import ConstituentConfig, constituent_arrays


def _massive_jets(n_jets: int, n_parts: int, seed: int) -> tuple[ak.Array, ak.Array]:
    rng = np.random.default_rng(seed)
    jets = []
    for _ in range(n_jets):
        parts = random_jet(rng, n=n_parts, spread=0.2)
        # some massive constituents (pions) and one boosted far forward
        jets.append([(pt, eta, phi, 0.14 * (i % 2)) for i, (pt, eta, phi) in enumerate(parts)])
    return make_jets(jets)


def test_rest_frame_has_zero_momentum_and_the_jet_mass_as_energy(backend):
    jets, constituents = _massive_jets(6, n_parts=25, seed=1)
    x, mask = constituent_arrays(backend(jets), backend(constituents), ConstituentConfig())
    x, mask = backend.numpy(x), backend.numpy(mask)
    total = x.astype(np.float64).sum(axis=1)
    scale = x[:, :, 0].sum(axis=1)
    np.testing.assert_allclose(total[:, 1:] / scale[:, None], 0.0, atol=1e-5)
    np.testing.assert_allclose(total[:, 0], ak.to_numpy(jets.mass), rtol=1e-5)
    assert mask.sum(axis=1).tolist() == [25] * 6


def test_boost_into_the_jet_frame_uses_the_given_jet_vector():
    jets, constituents = _massive_jets(3, n_parts=10, seed=2)
    own, _ = constituent_arrays(jets, constituents, ConstituentConfig(frame="constituents"))
    given, _ = constituent_arrays(jets, constituents, ConstituentConfig(frame="jet"))
    np.testing.assert_allclose(given, own, rtol=1e-4, atol=1e-3)
    moved = ak.with_field(jets, jets.eta + 0.5, "eta")  # a different frame: not at rest
    other, _ = constituent_arrays(moved, constituents, ConstituentConfig(frame="jet"))
    assert np.abs(other.sum(axis=1)[:, 3]).min() > 1.0


def test_lab_frame_keeps_the_measured_four_vectors_sorted_by_pt():
    parts = [(10.0, 0.5, 1.0, 0.0), (30.0, -0.2, 0.1, 1.0), (20.0, 0.0, -3.0, 0.0)]
    jets, constituents = make_jets([parts])
    x, mask = constituent_arrays(
        jets, constituents, ConstituentConfig(n_constituents=4, frame="lab")
    )
    ordered = [parts[1], parts[2], parts[0]]
    for slot, (pt, eta, phi, m) in enumerate(ordered):
        pz = pt * math.sinh(eta)
        e = math.sqrt(pt**2 + pz**2 + m**2)
        np.testing.assert_allclose(
            x[0, slot], [e, pt * math.cos(phi), pt * math.sin(phi), pz], rtol=1e-6
        )
    assert mask[0].tolist() == [True, True, True, False]
    assert (x[0, 3] == 0).all()


def test_only_the_leading_n_are_kept_and_short_jets_are_zero_padded(backend):
    rng = np.random.default_rng(4)
    long_jet = random_jet(rng, n=60)
    jets, constituents = make_jets([long_jet, long_jet[:5], []])
    config = ConstituentConfig(n_constituents=40, frame="lab")
    x, mask = constituent_arrays(backend(jets), backend(constituents), config)
    x, mask = backend.numpy(x), backend.numpy(mask)
    assert x.shape == (3, 40, 4)
    assert x.dtype == np.float32
    assert mask.sum(axis=1).tolist() == [40, 5, 0]
    pt = np.hypot(x[0, :, 1], x[0, :, 2])
    top40 = np.sort([p[0] for p in long_jet])[::-1][:40]
    np.testing.assert_allclose(pt, top40, rtol=1e-5)
    assert (x[1, 5:] == 0).all()
    assert (x[2] == 0).all()


def test_a_massless_single_constituent_jet_is_left_unboosted():
    jets, constituents = make_jets([[(50.0, 0.3, 0.2)]])
    boosted, _ = constituent_arrays(jets, constituents, ConstituentConfig(frame="constituents"))
    lab, _ = constituent_arrays(jets, constituents, ConstituentConfig(frame="lab"))
    np.testing.assert_array_equal(boosted, lab)


@pytest.mark.parametrize("config", [ConstituentConfig(), ConstituentConfig(17, "jet")])
def test_constituent_config_round_trips(config):
    assert config_from_dict(ConstituentConfig, config_to_dict(config)) == config


@pytest.mark.parametrize("bad", [{"n_constituents": 0}, {"frame": "cms"}, {"n_constituents": 2.5}])
def test_invalid_constituent_configs_are_rejected(bad):
    with pytest.raises(ConfigError):
        ConstituentConfig(**bad)
