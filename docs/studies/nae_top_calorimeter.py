"""Does a calorimeter's granularity move the top-density ceiling of the nae_top images?

A study behind docs/NAE.md ("Not the detector either"), not part of the package. The images of
``configs/training/nae_top.yaml`` are built from our generator's particle-level PF candidates;
the paper's come from a Delphes ATLAS-card simulation, where neutral particles are seen as
calorimeter towers. This rebuilds the same test images with the neutral candidates moved onto
towers, tracks unchanged, and runs the same yardsticks as
``python -m coffea_anomaly.training.nae_diagnostics configs/training/nae_top.yaml`` (half the
test tops as the reference density, the other half against the QCD jets):

* ``none``:   as generated;
* ``hcal``:   neutral hadrons (charge 0, not photons) in the ATLAS card's HCAL towers, 0.1 in eta
  by pi/18 in phi, at a pseudo-random point of their tower (the card's SmearTowerCenter; a
  deterministic hash of the candidate's eta and phi, so reruns agree); photons stay, the
  card's ECAL cells (0.0174 x 1 degree) being finer than the image's pixels;
* ``coarse``: every neutral (photons too) at the centre of a 0.1 x 2 pi/64 tower.

Run from the repository root (about a minute each, the test samples of the config's header)::

    python docs/studies/nae_top_calorimeter.py none hcal coarse
"""

from __future__ import annotations

import json
import sys

import awkward as ak
import numpy as np

import coffea_anomaly.representations as representations
from coffea_anomaly.training.nae_diagnostics import density_report

MODES = ("none", "hcal", "coarse")
_constituents = representations.fatjet_constituents


def _frac(x):
    return x - np.floor(x)


def towers(mode: str):
    """``fatjet_constituents`` with the neutral candidates moved onto the ``mode``'s towers."""

    def moved(events):
        c = _constituents(events)
        if mode == "hcal":
            neutral, deta, dphi = (c.charge == 0) & (abs(c.pdgId) != 22), 0.1, np.pi / 18
            u = _frac(np.sin(c.eta * 12.9898 + c.phi * 78.233) * 43758.5453)
            v = _frac(np.sin(c.eta * 39.3468 + c.phi * 11.135) * 24634.6345)
        else:
            neutral, deta, dphi, u, v = c.charge == 0, 0.1, 2 * np.pi / 64, 0.5, 0.5
        eta = ak.where(neutral, (np.floor(c.eta / deta) + u) * deta, c.eta)
        phi = ak.where(neutral, (np.floor(c.phi / dphi) + v) * dphi, c.phi)
        phi = (phi + np.pi) % (2 * np.pi) - np.pi
        return ak.with_field(ak.with_field(c, eta, "eta"), phi, "phi")

    return moved


def main(modes: list[str]) -> int:
    unknown = sorted(set(modes) - set(MODES))
    if unknown or not modes:
        print(f"usage: nae_top_calorimeter.py MODE... (MODE: {', '.join(MODES)}); got {modes}", file=sys.stderr)
        return 2
    for mode in modes:
        representations.fatjet_constituents = _constituents if mode == "none" else towers(mode)
        report = density_report("configs/training/nae_top.yaml", scan=(20, 100, 300, 500, 1000), pca=(1, 2, 3, 4),
                                progress=False)  # fmt: skip
        report.pop("checkpoints")
        print(json.dumps({"mode": mode, **report}, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
