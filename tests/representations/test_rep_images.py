"""Jet images: the preprocessing of every paper, on jets whose images are known."""

from __future__ import annotations

import math

import awkward as ak
import numpy as np
import pytest
from rep_toys import make_jets, random_jet, two_prong

from coffea_anomaly.config import config_from_dict, config_to_dict
from coffea_anomaly.errors import ConfigError, InputDataError
from coffea_anomaly.representations import (
    IMAGE_PRESETS,
    ImageConfig,
    jet_images,
    jet_images_with_info,
)


def _pixels(image: np.ndarray) -> list[tuple[int, int]]:
    return sorted(zip(*(a.tolist() for a in np.nonzero(image)), strict=False))


@pytest.mark.parametrize("angle", [0.0, 0.4, math.pi / 2, 2.5, -1.0])
def test_symmetric_two_prong_jet_ends_up_vertical(backend, angle):
    jets, constituents = make_jets([two_prong(angle=angle)])
    config = ImageConfig(npix=37)  # odd: the centre is the middle of a pixel column
    images = backend.numpy(jet_images(backend(jets), backend(constituents), config))
    (r1, c1), (r2, c2) = _pixels(images[0])
    assert c1 == c2 == 18  # both prongs in the central column
    assert r1 + r2 == 36  # mirror images about the central row
    height = 2 * 0.69 / 37
    assert (r1, r2) == (int((0.69 - 0.2) / height), int((0.69 + 0.2) / height))


def test_with_an_even_grid_the_prongs_straddle_only_the_central_line():
    jets, constituents = make_jets([two_prong(angle=0.7)])
    (r1, c1), (r2, c2) = _pixels(jet_images(jets, constituents)[0])
    assert {c1, c2} <= {19, 20}
    assert r1 + r2 == 39


QUADRANT_SLICES = {
    "upper_right": (slice(0, 20), slice(20, 40)),
    "upper_left": (slice(0, 20), slice(0, 20)),
    "lower_left": (slice(20, 40), slice(0, 20)),
    "lower_right": (slice(20, 40), slice(20, 40)),
}


@pytest.mark.parametrize("quadrant", list(QUADRANT_SLICES))
def test_hardest_constituent_lands_in_the_chosen_quadrant(backend, quadrant):
    rng = np.random.default_rng(7)
    jets_parts = []
    for _ in range(20):
        parts = random_jet(rng, n=12, spread=0.1)
        # one clearly hardest constituent (its pixel is the brightest), away from the axis
        parts[0] = (200.0, parts[0][1] + 0.08, parts[0][2] - 0.05)
        jets_parts.append(parts)
    jets, constituents = make_jets(jets_parts)
    config = ImageConfig(quadrant=quadrant)
    images = backend.numpy(jet_images(backend(jets), backend(constituents), config))
    rows, cols = QUADRANT_SLICES[quadrant]
    for image in images:
        r, c = np.unravel_index(np.argmax(image), image.shape)
        assert rows.start <= r < rows.stop
        assert cols.start <= c < cols.stop


def test_flip_by_half_puts_the_larger_pt_half_on_the_chosen_side():
    rng = np.random.default_rng(3)
    jets, constituents = make_jets([random_jet(rng, n=25) for _ in range(10)])
    images = jet_images(jets, constituents, ImageConfig(flip="half", quadrant="lower_left"))
    assert (images[:, :, :20].sum(axis=(1, 2)) >= images[:, :, 20:].sum(axis=(1, 2))).all()
    assert (images[:, 20:, :].sum(axis=(1, 2)) >= images[:, :20, :].sum(axis=(1, 2))).all()


@pytest.mark.parametrize(
    "config",
    [
        ImageConfig(),
        ImageConfig(gaussian_sigma=1.0),
        ImageConfig(pt_power=0.2),
        IMAGE_PRESETS["nae"],
        ImageConfig.preset("farina", pad_to=40),
    ],
    ids=["default", "gauss", "power", "nae", "farina-padded"],
)
def test_pixels_sum_to_one(backend, config):
    rng = np.random.default_rng(11)
    jets, constituents = make_jets([random_jet(rng) for _ in range(15)])
    images = backend.numpy(jet_images(backend(jets), backend(constituents), config))
    assert images.dtype == np.float32
    assert images.shape == (15, *config.shape)
    np.testing.assert_allclose(images.sum(axis=(1, 2)), 1.0, rtol=1e-5)


def test_pixel_is_the_pt_sum_and_power_remaps_pixels():
    parts = [(60.0, 0.0, 0.0), (30.0, 0.001, 0.001), (10.0, 0.0, 0.3)]  # two share a pixel
    jets, constituents = make_jets([parts])
    fixed = {"npix": 37, "center": "leading", "rotate": False, "flip": "none"}
    raw = jet_images(jets, constituents, ImageConfig(normalize=False, **fixed))[0]
    assert sorted(raw[raw > 0].tolist()) == pytest.approx([10.0, 90.0])
    remapped = jet_images(jets, constituents, ImageConfig(pt_power=0.5, **fixed))[0]
    # sqrt(90) = 3 sqrt(10): after normalisation 3/4 and 1/4
    assert sorted(remapped[remapped > 0].tolist()) == pytest.approx([0.25, 0.75])


def test_leading_centre_puts_the_hardest_constituent_in_the_central_pixel():
    jets, constituents = make_jets([[(100.0, 1.0, 2.0), (40.0, 1.2, 2.3)]])
    config = ImageConfig(npix=37, center="leading", rotate=False, flip="none")
    image = jet_images(jets, constituents, config)[0]
    assert image[18, 18] == pytest.approx(100.0 / 140.0)


def test_jet_axis_centre_uses_the_jet_direction():
    _, constituents = make_jets([[(100.0, 0.5, 0.5)]])
    jets = ak.Array([{"pt": 100.0, "eta": 0.5 - 0.1, "phi": 0.5, "mass": 0.0}])
    config = ImageConfig(npix=37, center="jet_axis", rotate=False, flip="none")
    image = jet_images(jets, constituents, config)[0]
    width = 2 * 0.57 / 37
    assert _pixels(image) == [(18, int((0.1 + 0.57) / width))]


def test_phi_wrap_around_pi_does_not_split_the_jet():
    def wrap(phi: float) -> float:
        return (phi + math.pi) % (2 * math.pi) - math.pi

    base = [(100.0, 0.0, 0.0), (50.0, 0.1, 0.2), (20.0, -0.1, -0.15)]
    # the same jet turned in φ so that its constituents straddle φ = ±π
    turned = [(pt, eta, wrap(phi + math.pi - 0.05)) for pt, eta, phi in base]
    assert max(p[2] for p in turned) > 2.9
    assert min(p[2] for p in turned) < -2.9
    jets, constituents = make_jets([base, turned])
    images = jet_images(jets, constituents)
    np.testing.assert_allclose(images[0], images[1], atol=1e-6)
    assert images[1].sum() == pytest.approx(1.0)


def test_constituents_outside_the_window_are_dropped_and_counted(backend):
    inside = [(100.0, 0.0, 0.0), (50.0, 0.1, 0.1)]
    outside = [(5.0, 1.5, 0.0), (5.0, 0.0, -1.2)]  # ΔR > window after centring
    jets, constituents = make_jets([inside + outside, inside])
    config = ImageConfig(rotate=False)
    images, info = jet_images_with_info(backend(jets), backend(constituents), config)
    images = backend.numpy(images)
    assert backend.numpy(info.n_dropped).tolist() == [2, 0]
    assert backend.numpy(info.n_constituents).tolist() == [4, 2]
    np.testing.assert_allclose(images.sum(axis=(1, 2)), 1.0, rtol=1e-6)
    assert np.count_nonzero(images[0]) == 2


def test_jets_without_constituents_give_zero_images_and_are_flagged(backend):
    jets, constituents = make_jets([[(10.0, 0.0, 0.0)], [], [(5.0, 1.0, 1.0)]])
    images, info = jet_images_with_info(backend(jets), backend(constituents), ImageConfig())
    images = backend.numpy(images)
    assert (images[1] == 0).all()
    assert backend.numpy(info.empty).tolist() == [False, True, False]
    assert images[0].sum() == pytest.approx(1.0)


def test_gaussian_filter_spreads_one_pixel_symmetrically():
    jets, constituents = make_jets([[(100.0, 0.0, 0.0)]])
    config = ImageConfig(npix=37, center="leading", gaussian_sigma=1.0)
    image = jet_images(jets, constituents, config)[0]
    assert image[18, 18] == image.max()
    assert image[18, 18] == pytest.approx(1 / (2 * math.pi), rel=0.05)
    np.testing.assert_allclose(image, image.T, rtol=1e-6)
    np.testing.assert_allclose(image, image[::-1, ::-1], rtol=1e-6)


def test_padding_adds_a_zero_border():
    rng = np.random.default_rng(5)
    jets, constituents = make_jets([random_jet(rng)])
    small = jet_images(jets, constituents, ImageConfig(npix=37))[0]
    padded = jet_images(jets, constituents, ImageConfig(npix=37, pad_to=40))[0]
    assert padded.shape == (40, 40)
    np.testing.assert_array_equal(padded[1:38, 1:38], small)
    assert padded[0].sum() == padded[:, 0].sum() == padded[38:].sum() == 0


def test_events_by_jets_input_gives_the_same_images_as_flat_jets(backend):
    rng = np.random.default_rng(2)
    flat_jets, flat_constituents = make_jets([random_jet(rng) for _ in range(5)])
    counts = [2, 0, 3]
    jets = ak.unflatten(flat_jets, counts)
    constituents = ak.unflatten(flat_constituents, counts)
    nested = backend.numpy(jet_images(backend(jets), backend(constituents)))
    np.testing.assert_array_equal(nested, jet_images(flat_jets, flat_constituents))


def test_misaligned_inputs_are_rejected():
    jets, constituents = make_jets([[(1.0, 0.0, 0.0)], [(1.0, 0.0, 0.0)]])
    with pytest.raises(InputDataError, match="2 jets but 1 constituent lists"):
        jet_images(jets, constituents[:1])


def test_nae_preset_has_the_paper_pixel_size():
    config = IMAGE_PRESETS["nae"]
    assert config.pixel_size == pytest.approx((0.029, 0.035))
    assert (config.npix, config.gaussian_sigma, config.quadrant) == (40, 1.0, "lower_left")


@pytest.mark.parametrize(
    "config", [*IMAGE_PRESETS.values(), ImageConfig(pad_to=44, pt_power=0.01, center="jet_axis")]
)
def test_image_config_round_trips(config):
    assert config_from_dict(ImageConfig, config_to_dict(config)) == config


@pytest.mark.parametrize(
    "bad",
    [
        {"npix": 0},
        {"eta_range": -1.0},
        {"center": "middle"},
        {"quadrant": "top"},
        {"pt_power": 0.0},
        {"gaussian_sigma": -1.0},
        {"pad_to": 10},
        {"flip": "x"},
    ],
)
def test_invalid_image_configs_are_rejected(bad):
    with pytest.raises(ConfigError):
        ImageConfig(**bad)


def test_unknown_preset_names_the_known_ones():
    with pytest.raises(ConfigError, match="nae"):
        ImageConfig.preset("deep")


@pytest.mark.parametrize("sigma", [0.5, 1.0, 2.0])
def test_gaussian_filter_equals_scipy_with_zero_boundary(sigma):
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(8)
    near_edges = [(50.0, 0.0, 0.0), (50.0, 0.0, 1.2)]  # ends up in rows 2 and 37
    jets, constituents = make_jets([random_jet(rng) for _ in range(6)] + [near_edges])
    raw = jet_images(jets, constituents, ImageConfig(normalize=False))
    blurred = jet_images(jets, constituents, ImageConfig(normalize=False, gaussian_sigma=sigma))
    expected = gaussian_filter(raw.astype(np.float64), sigma=(0, sigma, sigma), mode="constant")
    np.testing.assert_allclose(blurred, expected, rtol=1e-5, atol=1e-6)
