"""One-class yardsticks of nae_diagnostics on point sets whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from coffea_anomaly.training.nae_diagnostics import (
    knn_distance,
    knn_distances,
    main,
    one_class_auc,
    pca_scan,
    plot_scans,
    scan_points,
    smoothing_scan,
    two_sample_auc,
)


def test_knn_distance_by_hand() -> None:
    ref = [[0.0, 0.0], [3.0, 0.0], [0.0, 4.0]]
    # from (0, 0): 0, 3, 4; from (3, 4): 5, 4, 3
    np.testing.assert_allclose(knn_distance(ref, [[0.0, 0.0], [3.0, 4.0]], k=1), [0.0, 3.0])
    np.testing.assert_allclose(knn_distance(ref, [[0.0, 0.0], [3.0, 4.0]], k=3), [4.0, 5.0])
    # images are flattened; chunks do not change the answer
    img_ref = np.arange(24.0).reshape(6, 2, 2)
    x = np.random.default_rng(1).normal(size=(7, 2, 2)) * 5
    np.testing.assert_allclose(knn_distance(img_ref, x, k=2, chunk=3), knn_distance(img_ref, x, k=2))


def test_knn_distances_are_one_column_per_k_in_the_order_asked() -> None:
    ref = [[0.0, 0.0], [3.0, 0.0], [0.0, 4.0]]
    got = knn_distances(ref, [[0.0, 0.0], [3.0, 4.0]], ks=(3, 1, 3))
    np.testing.assert_allclose(got, [[4.0, 0.0, 4.0], [5.0, 3.0, 5.0]])
    with pytest.raises(ValueError, match="every k must be in"):
        knn_distances(ref, ref, ks=())


def _clump_sample(rng: np.random.Generator, n: int) -> np.ndarray:
    """A broad bulk at the origin with 5 % of the points in a tight clump at (6, 0)."""
    clump = rng.random(n) < 0.05
    return np.where(clump[:, None], rng.normal(size=(n, 2)) * 0.05 + [6.0, 0.0], rng.normal(size=(n, 2)))


def test_smoothing_scan_sees_a_clump_far_from_the_bulk_only_when_smooth() -> None:
    """The situation of QCD among tops: the anomaly sits in a small dense clump of the
    training jets, far from their bulk. Sharp densities call it typical, smooth ones rare."""
    rng = np.random.default_rng(3)
    ref, bkg = _clump_sample(rng, 800), _clump_sample(rng, 800)
    sig = rng.normal(size=(200, 2)) * 0.05 + [6.0, 0.0]
    scan = smoothing_scan(ref, bkg, sig, ks=(1, 5, 200, 5000))
    assert list(scan) == ["1", "5", "200", "mean"]  # k beyond the reference size is skipped
    assert max(scan["1"], scan["5"]) < 0.3
    assert min(scan["200"], scan["mean"]) > 0.9
    # "mean" is the distance to the reference mean, by hand
    centre = ref.mean(axis=0)
    d_sig, d_bkg = ((sig - centre) ** 2).sum(1), ((bkg - centre) ** 2).sum(1)
    assert scan["mean"] == pytest.approx((d_sig[:, None] > d_bkg[None, :]).mean(), abs=1e-12)
    with pytest.raises(ValueError, match="must be >= 1"):
        smoothing_scan(ref, bkg, sig, ks=(0, 5))


@pytest.mark.parametrize(("args", "match"), [
    (([[0.0]], [[0.0]], 2), "k must be in"),
    (([[0.0, 1.0]], [[0.0]], 1), "differ in size"),
    (([0.0, 1.0], [[0.0]], 1), "non-empty array of points"),
    ((np.zeros((0, 2)), [[0.0, 1.0]], 1), "non-empty array of points"),
    (([[0.0, 1.0]], [[np.nan, 1.0], [0.0, np.inf], [1.0, 1.0]], 1), "x has 2 points with NaN or inf"),
])  # fmt: skip
def test_knn_distance_bad_input_is_one_line(args, match) -> None:
    with pytest.raises(ValueError, match=match):
        knn_distance(*args)


def test_one_class_auc_tells_sparse_from_dense() -> None:
    rng = np.random.default_rng(0)
    ref, bkg = rng.normal(size=(400, 2)), rng.normal(size=(400, 2))
    far = rng.normal(size=(200, 2)) * 0.1 + 6.0  # where the background has no points
    core = rng.normal(size=(200, 2)) * 0.1  # inside its densest region
    assert one_class_auc(ref, bkg, far) == 1.0
    assert one_class_auc(ref, bkg, core, k=50) < 0.15  # small k: all of the core shares its neighbours
    assert abs(one_class_auc(ref, bkg, rng.normal(size=(400, 2))) - 0.5) < 0.07


def test_two_sample_auc_is_separability_not_density() -> None:
    """The dense-core sample of the test above is inseparable for a density but not for a
    classifier: that is the distinction the two yardsticks draw."""
    rng = np.random.default_rng(0)
    bkg = rng.normal(size=(600, 2))
    assert abs(two_sample_auc(bkg, rng.normal(size=(600, 2))) - 0.5) < 0.07
    assert two_sample_auc(bkg, rng.normal(size=(300, 2)) * 0.1) > 0.85
    assert two_sample_auc(bkg, rng.normal(size=(300, 2)) + 8.0) == 1.0
    with pytest.raises(ValueError, match="needs more than"):
        two_sample_auc(bkg[:10], bkg[10:20], k=25)


def test_plot_scans_draws_reports_with_a_scan_and_refuses_others(tmp_path) -> None:
    pytest.importorskip("matplotlib")
    rng = np.random.default_rng(3)
    ref, bkg = _clump_sample(rng, 300), _clump_sample(rng, 300)
    sig = rng.normal(size=(100, 2)) * 0.05 + [6.0, 0.0]
    report = {"mean_pixel2": 0.7, "pixel_scan": smoothing_scan(ref, bkg, sig, ks=(1, 5, 50))}
    assert plot_scans({"a": report, "b": report}, tmp_path / "s.png", target=0.85).stat().st_size > 0
    with pytest.raises(ValueError, match="at least one report"):
        plot_scans({}, tmp_path / "u.png")
    with pytest.raises(ValueError, match="b: the report has no pixel_scan"):
        plot_scans({"a": report, "b": {"mean_pixel2": 0.7}}, tmp_path / "t.png")


def test_plot_without_scan_is_a_usage_error(capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["any.yaml", "--plot", "x.png"])
    assert exit_.value.code == 2
    assert "--plot draws the scan: add --scan" in capsys.readouterr().err


def test_scan_points_in_k_or_as_a_fraction_of_the_reference(tmp_path) -> None:
    report = {"n_reference": 200, "mean_pixel2": 0.6, "pixel_scan": {"1": 0.3, "50": 0.7, "mean": 0.65}}
    assert scan_points(report) == ([1.0, 50.0], [0.3, 0.7])
    assert scan_points(report, per_reference=True) == ([0.005, 0.25], [0.3, 0.7])
    with pytest.raises(ValueError, match="needs the report's n_reference"):
        scan_points({"pixel_scan": report["pixel_scan"]}, per_reference=True)
    pytest.importorskip("matplotlib")
    assert plot_scans({"N = 200": report}, tmp_path / "f.png", per_reference=True).stat().st_size > 0


def test_pca_scan_tells_within_the_subspace_from_off_it() -> None:
    """Reference: a Gaussian stretched along x (sd 10) and y (sd 5), thin along z (sd 1).
    An anomaly shifted along y, inside the 2-d principal plane, is seen by the density
    within it; one shifted along z, off the plane, only by the residual (a linear AE's error)."""
    rng = np.random.default_rng(7)
    scale = np.array([10.0, 5.0, 1.0])
    ref, bkg = rng.normal(size=(4000, 3)) * scale, rng.normal(size=(2000, 3)) * scale
    in_plane = rng.normal(size=(2000, 3)) * scale + [0.0, 15.0, 0.0]
    off_plane = rng.normal(size=(2000, 3)) * scale + [0.0, 0.0, 4.0]
    a = pca_scan(ref, bkg, in_plane, dims=(2,))["2"]
    b = pca_scan(ref, bkg, off_plane, dims=(2,))["2"]
    assert a["projection"] > 0.9
    assert abs(a["residual"] - 0.5) < 0.05
    assert b["residual"] > 0.9
    assert abs(b["projection"] - 0.5) < 0.05
    assert a["ppca"] > 0.85
    assert b["ppca"] > 0.9
    # one dimension: y is off the 1-d subspace, so the residual sees the in-plane shift too
    assert pca_scan(ref, bkg, in_plane, dims=(1,))["1"]["residual"] > 0.9
    # dimensions at or above the rank are skipped; bad ones are one-line errors
    assert list(pca_scan(ref, bkg, off_plane, dims=(1, 3, 5))) == ["1"]
    with pytest.raises(ValueError, match="every PCA dimension must be >= 1"):
        pca_scan(ref, bkg, off_plane, dims=(0,))
    with pytest.raises(ValueError, match="at least one dimension"):
        pca_scan(ref, bkg, off_plane, dims=())
