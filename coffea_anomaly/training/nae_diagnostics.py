"""Can a density of the training jets tell the anomaly apart at all? Yardsticks for the NAE.

The NAE (``families/nae.py``) learns a density of its training jets, exp(−E), by raising
the energy wherever its sampler finds low-energy images that are not data. Whether that can
tag an anomaly depends on where the anomaly lies *relative to the training density*, which
can be measured without training anything:

* :func:`knn_distance` — distance of each point to its k-th nearest reference point, a
  non-parametric one-class score (large = where the reference sample is sparse);
* :func:`one_class_auc` — AUC of that score for anomalies against held-out training jets:
  above 0.5 the anomaly lives where the training jets are sparse (a density model can tag
  it), below 0.5 it sits in their dense core;
* :func:`smoothing_scan` — the same from sharp (k = 1) to smooth densities (large k, and
  the distance to the mean image): the best any density of the training jets does;
  :func:`plot_scans` draws it (AUC against k, or k as a fraction of the reference size);
* :func:`two_sample_auc` — a k-nearest-neighbour *classifier* (2-fold): whether the two
  samples are separable at all in that space, whatever the density says;
* :func:`latent_codes` — the encoder's points on the sphere for an NAE checkpoint (torch);
* :func:`density_report` / ``python -m coffea_anomaly.training.nae_diagnostics CONFIG
  [CHECKPOINT ...]`` — all of them on a config's test samples (the training label is the
  background, its first signal the anomaly; the reference density half of the test sample
  or, ``--reference train``, the training sample) in pixel space and in the latent space of
  each checkpoint, next to the checkpoint's own energy.

Measured with it (docs/NAE.md, "Where QCD lies in the top density"): for the top-trained
models QCD jets sit in the *dense core* of the tops, in pixel space and on the sphere of
every pre-trained AE, although a classifier separates them there (AUC 0.92–0.96); smoothed
over about a quarter of the tops their density reaches 0.848, and no further — from 2 337
tops as from 70 141 (``--reference train``, ``--max-reference``).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import CoffeaAnomalyError, ConfigError
from ..metrics import roc_auc
from ..plotting.style import styled

__all__ = ["density_report", "knn_distance", "knn_distances", "latent_codes", "one_class_auc", "pca_scan",
           "plot_scans", "scan_points", "smoothing_scan", "two_sample_auc"]

#: neighbour counts of :func:`smoothing_scan`, sharp to smooth
SCAN_KS = (1, 5, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000)
#: principal-subspace dimensions of :func:`pca_scan`
PCA_DIMS = (1, 2, 3, 4, 8, 16, 32, 64)


def _points(a: Any, what: str) -> np.ndarray:
    x = np.asarray(a, dtype=np.float64)
    if x.ndim < 2 or len(x) == 0:
        raise ValueError(f"{what} must be a non-empty array of points (n, ...), got shape {x.shape}")
    x = x.reshape(len(x), -1)
    if not np.isfinite(x).all():
        raise ValueError(f"{what} has {int((~np.isfinite(x).all(axis=1)).sum())} points with NaN or inf")
    return x


def _squared_distances(ref: np.ndarray, pts: np.ndarray, chunk: int) -> Iterator[tuple[slice, np.ndarray]]:
    """(rows of ``pts``, their squared distances to every row of ``ref``), ``chunk`` rows at a time."""
    r2 = (ref**2).sum(axis=1)
    for lo in range(0, len(pts), chunk):
        p = pts[lo : lo + chunk]
        yield slice(lo, lo + len(p)), (p**2).sum(axis=1)[:, None] - 2.0 * p @ ref.T + r2[None, :]


def knn_distance(reference: Any, x: Any, k: int = 20, chunk: int = 1024) -> np.ndarray:
    """Euclidean distance of each row of ``x`` to its ``k``-th nearest row of ``reference``.

    Points are flattened (images become vectors); memory is bounded by ``chunk`` rows of
    ``x`` at a time.

    Example:
        >>> knn_distance([[0.0], [1.0], [3.0]], [[0.4], [2.5]], k=2)
        array([0.6, 1.5])
    """
    return knn_distances(reference, x, (k,), chunk)[:, 0]


def knn_distances(reference: Any, x: Any, ks: Sequence[int], chunk: int = 1024) -> np.ndarray:
    """:func:`knn_distance` for several ``ks`` at once: shape ``(len(x), len(ks))``."""
    ref, pts = _points(reference, "reference"), _points(x, "x")
    if ref.shape[1] != pts.shape[1]:
        raise ValueError(f"reference and x differ in size: {ref.shape[1]} vs {pts.shape[1]} values per point")
    ks = [int(k) for k in ks]
    if not ks or not all(1 <= k <= len(ref) for k in ks):
        raise ValueError(f"every k must be in [1, {len(ref)}] (the reference size), got {ks}")
    kth = sorted({k - 1 for k in ks})
    out = np.empty((len(pts), len(ks)))
    for rows, d2 in _squared_distances(ref, pts, chunk):
        out[rows] = np.partition(d2, kth, axis=1)[:, [k - 1 for k in ks]]
    return np.sqrt(np.maximum(out, 0.0))


def one_class_auc(reference: Any, background: Any, signal: Any, k: int = 20) -> float:
    """AUC of the k-NN distance to ``reference`` (background jets) for ``signal`` against
    ``background`` (other background jets, not in ``reference``).

    1: the signal lies where the background is sparse; 0.5: no difference; below 0.5 the
    signal sits in the background's dense core, where no one-class density can tag it.
    """
    return float(roc_auc(knn_distance(reference, signal, k), knn_distance(reference, background, k)))


def _check_scan(values: Sequence[int], what: str = "k of the scan") -> None:
    if any(int(v) < 1 for v in values):
        raise ValueError(f"every {what} must be >= 1, got {list(values)}")


def smoothing_scan(reference: Any, background: Any, signal: Any,
                   ks: Sequence[int] = SCAN_KS) -> dict[str, float]:  # fmt: skip
    """:func:`one_class_auc` from sharp to smooth densities of ``reference``.

    The k-NN distance is a density estimate smoothed over ``k`` neighbours; the scan runs
    over the ``ks`` that fit the reference size (larger ones are skipped), and ends with the smoothest "density" of
    all, one mode: the distance to the reference mean (key ``"mean"``). A density model
    (an NAE with a small latent space is a smooth one) cannot beat the best of these by
    much: it is the same question, asked at some smoothing scale.
    """
    ref, bkg, sig = _points(reference, "reference"), _points(background, "background"), _points(signal, "signal")
    _check_scan(ks)
    ks = [int(k) for k in ks if k <= len(ref)]  # the larger ones do not fit this reference
    out = {}
    if ks:
        d_sig, d_bkg = knn_distances(ref, sig, ks), knn_distances(ref, bkg, ks)
        out = {str(k): float(roc_auc(d_sig[:, i], d_bkg[:, i])) for i, k in enumerate(ks)}
    centre = ref.mean(axis=0)
    out["mean"] = float(roc_auc(((sig - centre) ** 2).sum(axis=1), ((bkg - centre) ** 2).sum(axis=1)))
    return out


def pca_scan(reference: Any, background: Any, signal: Any,
             dims: Sequence[int] = PCA_DIMS) -> dict[str, dict[str, float]]:  # fmt: skip
    """Gaussian densities of ``reference`` on its ``d`` leading principal components, for
    each ``d`` of ``dims`` (those not below the reference's rank are skipped): one-class AUCs of
    the anomaly against ``background`` for three scores —

    * ``"projection"``: the Mahalanobis distance within the d-dimensional principal subspace
      (a density of d summary numbers; what lies off the subspace is ignored);
    * ``"residual"``: the squared distance *off* that subspace — the reconstruction error of
      the best linear autoencoder with d latent dimensions, the kind of energy an NAE has;
    * ``"ppca"``: both, as the probabilistic PCA density of the whole point (the residual
      with the mean discarded variance).
    """
    ref, bkg, sig = _points(reference, "reference"), _points(background, "background"), _points(signal, "signal")
    if not dims:
        raise ValueError("pca_scan needs at least one dimension")
    _check_scan(dims, "PCA dimension")
    mean = ref.mean(axis=0)
    _, sv, vt = np.linalg.svd(ref - mean, full_matrices=False)
    var = sv**2 / max(len(ref) - 1, 1)
    rank = int((var > var[0] * 1e-12).sum())  # _points: at least one point and one value
    dims = [int(d) for d in dims if int(d) < rank]  # a residual needs a discarded direction
    if not dims:
        return {}
    top = max(dims)

    def parts(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per point: cumulative squared projections, the same in units of the variances, |x - mean|²."""
        c = x - mean
        z2 = (c @ vt[:top].T) ** 2
        return np.cumsum(z2, axis=1), np.cumsum(z2 / var[:top], axis=1), (c**2).sum(axis=1)

    (p_sig, m_sig, n_sig), (p_bkg, m_bkg, n_bkg) = parts(sig), parts(bkg)
    out = {}
    for d in dims:
        noise = var[d:rank].mean()
        r_sig, r_bkg = n_sig - p_sig[:, d - 1], n_bkg - p_bkg[:, d - 1]
        out[str(d)] = {
            "projection": float(roc_auc(m_sig[:, d - 1], m_bkg[:, d - 1])),
            "residual": float(roc_auc(r_sig, r_bkg)),
            "ppca": float(roc_auc(m_sig[:, d - 1] + r_sig / noise, m_bkg[:, d - 1] + r_bkg / noise)),
        }
    return out


def two_sample_auc(a: Any, b: Any, k: int = 25, seed: int = 0) -> float:
    """How separable ``b`` is from ``a``: AUC of a k-NN classifier, trained on one half and
    scored on the other, both ways (the fraction of ``b`` among the ``k`` nearest points)."""
    pa, pb = _points(a, "a"), _points(b, "b")
    x, y = np.concatenate([pa, pb]), np.r_[np.zeros(len(pa)), np.ones(len(pb))]
    fold = np.random.default_rng(seed).permutation(len(x)) % 2
    if min(np.bincount(fold, minlength=2)) <= k:
        raise ValueError(f"two_sample_auc needs more than 2k = {2 * k} points, got {len(x)}")
    frac = np.empty(len(x))
    for f in (0, 1):
        train, test = np.flatnonzero(fold != f), np.flatnonzero(fold == f)
        for rows, d2 in _squared_distances(x[train], x[test], 1024):
            near = np.argpartition(d2, k - 1, axis=1)[:, :k]
            frac[test[rows]] = y[train][near].mean(axis=1)
    return float(roc_auc(frac[y == 1], frac[y == 0]))


def _network(checkpoint: str | Path, key: str = "model") -> Any:
    """The NAE network of a checkpoint, rebuilt from the hyper-parameters stored in it."""
    from .families.nae import NAENetwork, load_checkpoint

    state = load_checkpoint(checkpoint)
    if key not in state:
        raise ConfigError(f"{checkpoint} has no weights {key!r} (has: model, best_model)")
    net = NAENetwork(**json.loads(state["fingerprint"])["params"])
    net.load_state_dict(state[key])
    return net.eval()


def latent_codes(checkpoint: str | Path | Any, images: Any, key: str = "model") -> tuple[np.ndarray, np.ndarray]:
    """The encoder's points on the sphere and the energies of ``images`` for an NAE checkpoint.

    ``checkpoint``: a checkpoint file (``key`` picks the running weights, ``model``, or the
    kept ones, ``best_model``) or an ``NAENetwork``. Needs torch.
    """
    import torch

    is_file = isinstance(checkpoint, (str, Path))
    net = _network(checkpoint, key) if is_file else checkpoint
    x = torch.as_tensor(np.asarray(images, dtype=np.float32))
    if tuple(x.shape[1:]) != net.item_shape:
        raise ValueError(f"{checkpoint if is_file else 'the network'} reads {net.item_shape} images, got {tuple(x.shape[1:])}")
    with torch.no_grad():
        return net.encode(x).numpy().astype(np.float64), net.energy(x).numpy().astype(np.float64)


def density_report(config: str | Path, checkpoints: Sequence[str | Path] = (), k: int = 20,
                   seed: int = 0, progress: bool | None = None,
                   scan: Sequence[int] | None = None, reference: str = "test",
                   max_reference: int | None = None, pca: Sequence[int] | None = None) -> dict[str, Any]:  # fmt: skip
    """The yardsticks above on the test samples of a training config.

    ``reference="test"``: the config's ``test`` sample (the training label) is split in two
    halves at random (``seed``): one is the reference density, the other the background the
    anomaly (its first ``signals`` sample) is compared with. ``reference="train"``: the
    reference density is the config's ``train`` sample — the jets an NAE of that config
    learns from — and the background is the whole ``test`` sample. ``max_reference`` keeps
    that many reference jets at random (``seed``): how the yardsticks depend on the size of
    the sample the density is estimated from. Every AUC has the anomaly as signal.

    With ``scan`` (neighbour counts; ``()``: :data:`SCAN_KS`) it adds the pixel-space
    :func:`smoothing_scan` as ``"pixel_scan"``; with ``pca`` (dimensions; ``()``:
    :data:`PCA_DIMS`) the :func:`pca_scan` as ``"pixel_pca"``.

    Returns:
        ``{"n_reference", "n_background", "n_signal", "mean_pixel2", "pixel_knn",
        ["pixel_scan", "pixel_pca",] "checkpoints": {path: {"energy", "latent_separability", "latent_knn"}}}``.
    """
    from .data import load_inputs
    from .nae_report import empty_reconstruction_energy
    from .settings import load_training_config, resolve_selection

    cfg = load_training_config(config)
    if cfg.test is None or not cfg.signals:
        raise ConfigError(f"{config}: density_report needs a test sample and a signals sample")
    if reference not in ("test", "train"):
        raise ValueError(f"reference must be 'test' (half of the test sample) or 'train', got {reference!r}")
    if max_reference is not None and max_reference < 1:
        raise ValueError(f"max_reference must be >= 1, got {max_reference}")
    if scan is not None:
        _check_scan(scan)
    if pca is not None:
        _check_scan(pca, "PCA dimension")
    nets = {str(p): _network(p) for p in checkpoints}  # bad input fails before the slow read
    rep, level = cfg.representation, cfg.level
    samples = (cfg.test, cfg.signals[0], *((cfg.train,) if reference == "train" else ()))
    images = [load_inputs(replace(s, selection=resolve_selection(s.selection, level)), rep, level,
                          progress=progress).x for s in samples]  # fmt: skip
    rng = np.random.default_rng(seed)
    if reference == "train":
        held, sig, ref = images
    else:
        test, sig = images
        order = rng.permutation(len(test))
        ref, held = test[order[: len(test) // 2]], test[order[len(test) // 2 :]]
    if max_reference is not None and max_reference < len(ref):
        ref = ref[np.sort(rng.permutation(len(ref))[:max_reference])]
    out: dict[str, Any] = {
        "reference": reference, "n_reference": len(ref), "n_background": len(held), "n_signal": len(sig),
        "mean_pixel2": float(roc_auc(empty_reconstruction_energy(sig), empty_reconstruction_energy(held))),
        "pixel_knn": one_class_auc(ref, held, sig, k),
        "checkpoints": {},
    }  # fmt: skip
    if scan is not None:
        out["pixel_scan"] = smoothing_scan(ref, held, sig, tuple(scan) or SCAN_KS)
    if pca is not None:
        out["pixel_pca"] = pca_scan(ref, held, sig, tuple(pca) or PCA_DIMS)
    for path, net in nets.items():
        (z_ref, _), (z_bkg, e_bkg), (z_sig, e_sig) = (latent_codes(net, x) for x in (ref, held, sig))
        out["checkpoints"][path] = {
            "energy": float(roc_auc(e_sig, e_bkg)),
            "latent_separability": two_sample_auc(z_bkg, z_sig),
            "latent_knn": one_class_auc(z_ref, z_bkg, z_sig, k),
        }
    return out


def scan_points(report: dict[str, Any], per_reference: bool = False) -> tuple[list[float], list[float]]:
    """The k-NN points of a report's ``pixel_scan``: (k, AUC), or with ``per_reference``
    (k / reference size, AUC) — the smoothing as a fraction of the sample, which is what
    compares densities estimated from samples of different sizes."""
    scan = report["pixel_scan"]
    ks = [int(k) for k in scan if k != "mean"]
    if per_reference and not report.get("n_reference"):
        raise ValueError("per_reference needs the report's n_reference")
    scale = 1.0 / report["n_reference"] if per_reference else 1.0
    return [k * scale for k in ks], [scan[str(k)] for k in ks]


@styled
def plot_scans(reports: dict[str, dict[str, Any]], path: str | Path, target: float | None = None,
               per_reference: bool = False) -> Path:  # fmt: skip
    """AUC of the training density against its smoothing (k) for one or more
    :func:`density_report` results with ``pixel_scan`` (``{label: report}``): the k-NN
    points, the mean-image distance at the right edge, the mean pixel² as a dashed line of
    the same colour, and an optional ``target`` AUC. ``per_reference``: k as a fraction of
    each report's reference size (:func:`scan_points`)."""
    from ..plotting.style import new_figure, save

    if not reports:
        raise ValueError("plot_scans needs at least one report")
    for label, r in reports.items():
        if not r.get("pixel_scan"):
            raise ValueError(f"{label}: the report has no pixel_scan (density_report(..., scan=()))")
    points = {label: scan_points(r, per_reference) for label, r in reports.items()}
    # the mean-image points share one x, right of the largest k of any report
    right = 3 * max([1, *(x for xs, _ in points.values() for x in xs)])
    fig, ax = new_figure(figsize=(10, 9))
    for i, (label, r) in enumerate(reports.items()):
        color = f"C{i}"
        ax.plot(*points[label], "o-", color=color, label=f"{label}: k-NN density")
        ax.plot([right], [r["pixel_scan"]["mean"]], "s", color=color, mfc="none")
        ax.axhline(r["mean_pixel2"], color=color, ls="--", lw=1, label=f"{label}: mean pixel² {r['mean_pixel2']:.3f}")
    ax.plot([], [], "ks", mfc="none", label="distance to the mean image (one mode)")
    ax.axhline(0.5, color="grey", lw=0.8)
    if target is not None:
        ax.axhline(target, color="black", lw=1.2, ls=":", label=f"target {target:g}")
    ax.set_xscale("log")
    ax.set_xlabel("k / reference size: the fraction of the jets smoothed over"
                  if per_reference else "k: neighbours the density is smoothed over", fontsize="small")  # fmt: skip
    ax.set_ylabel("AUC: anomaly vs held-out training jets", fontsize="small")
    ax.set_title("below 0.5 the anomaly sits in the training jets' dense core,\n"
                 "above it where they are sparse", fontsize="small")  # fmt: skip
    ax.legend(fontsize="x-small", loc="upper center", bbox_to_anchor=(0.5, -0.12), frameon=False, ncol=2)
    return save(fig, path)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m coffea_anomaly.training.nae_diagnostics",
        description="Where the anomaly lies relative to the training density: one-class k-NN AUCs in "
                    "pixel space and on the sphere of NAE checkpoints (anomaly = the config's first signal).")  # fmt: skip
    parser.add_argument("config", help="training config YAML with test and signals samples")
    parser.add_argument("checkpoints", nargs="*", help="NAE checkpoints (e.g. X.pretrained.ckpt)")
    parser.add_argument("-k", type=int, default=20, help="neighbour for the one-class distance (20)")
    parser.add_argument("--scan", type=int, nargs="*", metavar="K",
                        help="also scan the pixel-space density from sharp to smooth: these k "
                             f"(none given: {' '.join(map(str, SCAN_KS))}) and the distance to the mean image")  # fmt: skip
    parser.add_argument("--pca", type=int, nargs="*", metavar="D",
                        help="also Gaussian densities on the D leading principal components (none given: "
                             f"{' '.join(map(str, PCA_DIMS))}): within them, off them (a linear AE's error), both")  # fmt: skip
    parser.add_argument("--plot", metavar="PNG", help="with --scan: draw the scan (AUC against k) to this file")
    parser.add_argument("--reference", choices=("test", "train"), default="test",
                        help="the reference density: half of the test sample (default; the other half is "
                             "the background) or the training sample (the whole test sample is the background)")
    parser.add_argument("--max-reference", type=int, metavar="N",
                        help="keep N reference jets at random: the yardsticks against the reference size")
    parser.add_argument("--json", help="also write the numbers to this file")
    args = parser.parse_args(argv)
    if args.plot and args.scan is None:
        parser.error("--plot draws the scan: add --scan")
    try:
        r = density_report(args.config, args.checkpoints, k=args.k, scan=args.scan, reference=args.reference,
                           max_reference=args.max_reference, pca=args.pca)  # fmt: skip
    except (CoffeaAnomalyError, ValueError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"{r['n_signal']} anomalous vs {r['n_background']} background jets; "
          f"reference density: {r['n_reference']} {'training' if r['reference'] == 'train' else 'other test'} "
          "jets of the training label")  # fmt: skip
    print(f"  no model, mean pixel²          AUC {r['mean_pixel2']:.3f}")
    print(f"  pixel space, {args.k}-NN distance    AUC {r['pixel_knn']:.3f}")
    if "pixel_scan" in r:
        print("  pixel space, sharp to smooth:   " + ", ".join(
            f"{k if k == 'mean' else f'{k}-NN'} {a:.3f}" for k, a in r["pixel_scan"].items()))  # fmt: skip
    if "pixel_pca" in r:
        print("  pixel space, PCA Gaussian, d: within / off / both:   " + ", ".join(
            f"{d}: {a['projection']:.3f} / {a['residual']:.3f} / {a['ppca']:.3f}" for d, a in r["pixel_pca"].items()))  # fmt: skip
    for path, c in r["checkpoints"].items():
        print(f"  {path}: energy AUC {c['energy']:.3f}, latent {args.k}-NN distance AUC "
              f"{c['latent_knn']:.3f}, latent separability (k-NN classifier) {c['latent_separability']:.3f}")  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps(r, indent=1) + "\n")
    if args.plot:
        print(f"wrote {plot_scans({Path(args.config).stem: r}, args.plot)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
