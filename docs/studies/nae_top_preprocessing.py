"""Do the readings of the NAE paper's image normalisation and flip move the top-density ceiling?

A study behind docs/NAE.md ("Not the normalisation or the flip either"), not part of the
package. The paper (§3): "the whole image is rescaled by the total p_T of the event. To reduce
the sparsity we apply a Gaussian filter"; our ``jet_image`` instead divides each image by its
own pixel sum after the crop and the filter (unit sum). The two differ by the pT a window of
1.16 x 1.40 loses (constituents outside it, filter tails past its edge). And "flipped so that
the highest p_T region is in the lower-left quadrant" can be read as the pT-weighted half
along each axis (``flip: half``, the config's) or as the hardest constituent
(``flip: hardest``). Each mode rebuilds the test images of ``configs/training/nae_top.yaml``
and runs the yardsticks of ``python -m coffea_anomaly.training.nae_diagnostics
configs/training/nae_top.yaml --scan --pca`` (half the test tops as the reference density, the
other half against the QCD jets; QCD-in-tops AUCs):

* ``unit``:            the config as it is (unit sum after crop and filter);
* ``jet_pt``:          divided by the jet's total constituent pT, as the paper says, the filter
  after it (the two commute: both linear);
* ``hardest``:         ``flip: hardest``, unit sum;
* ``hardest_jet_pt``:  both changes.

Run from the repository root (about 20 s a mode, the test samples of the config's header)::

    python docs/studies/nae_top_preprocessing.py unit jet_pt hardest hardest_jet_pt
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace

import numpy as np

from coffea_anomaly.metrics import roc_auc
from coffea_anomaly.training.data import load_inputs
from coffea_anomaly.training.nae_diagnostics import pca_scan, smoothing_scan
from coffea_anomaly.training.nae_report import empty_reconstruction_energy
from coffea_anomaly.training.settings import (
    RepresentationChoice,
    load_training_config,
    resolve_selection,
)

MODES = ("unit", "jet_pt", "hardest", "hardest_jet_pt")
CONFIG = "configs/training/nae_top.yaml"
#: a window that holds every constituent of an R = 0.8 jet, for the total pT
WHOLE_JET = {"eta_range": 3.0, "phi_range": 3.0, "gaussian_sigma": 0.0, "normalize": False}


def images(cfg, sample, mode: str) -> tuple[np.ndarray, np.ndarray]:
    """(flattened images of ``sample`` under ``mode``, fraction of each jet's pT in the image)."""
    base = {**cfg.representation.config, **({"flip": "hardest"} if mode.startswith("hardest") else {})}

    def build(**over):
        rep = RepresentationChoice(cfg.representation.kind, {**base, **over})
        spec = replace(sample, selection=resolve_selection(sample.selection, cfg.level))
        x = load_inputs(spec, rep, cfg.level, progress=False).x
        return x.reshape(len(x), -1)

    window, whole = build(normalize=False), build(**WHOLE_JET)
    kept = window.sum(axis=1) / whole.sum(axis=1)
    scale = whole.sum(axis=1) if mode.endswith("jet_pt") else window.sum(axis=1)
    return window / scale[:, None], kept


def main(modes: list[str]) -> int:
    unknown = sorted(set(modes) - set(MODES))
    if unknown or not modes:
        print(f"usage: nae_top_preprocessing.py MODE... (MODE: {', '.join(MODES)}); got {modes}", file=sys.stderr)
        return 2
    cfg = load_training_config(CONFIG)
    for mode in modes:
        (tops, kept_top), (qcd, kept_qcd) = (images(cfg, s, mode) for s in (cfg.test, cfg.signals[0]))
        order = np.random.default_rng(0).permutation(len(tops))  # the split of density_report(seed=0)
        ref, held = tops[order[: len(tops) // 2]], tops[order[len(tops) // 2 :]]
        report = {
            "mode": mode, "n_reference": len(ref), "n_background": len(held), "n_signal": len(qcd),
            "pt_in_image": {"top": float(kept_top.mean()), "qcd": float(kept_qcd.mean())},
            "mean_pixel2": float(roc_auc(empty_reconstruction_energy(qcd), empty_reconstruction_energy(held))),
            "pixel_scan": smoothing_scan(ref, held, qcd, (20, 100, 500, 1000)),
            "pixel_pca": {d: v["projection"] for d, v in pca_scan(ref, held, qcd, (1, 2, 3, 4)).items()},
        }  # fmt: skip
        print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
