"""The toy detector: stable visible particles -> PF candidates.

The model (documented in docs/GENERATION.md) is deliberately simple:

* invisible particles (neutrinos, dark hadrons: Pythia's ``isVisible``) are removed
  before this module sees them;
* charged particles with ``|eta| < tracker_abs_eta`` are tracks: kept unchanged;
* muons outside the tracker are lost;
* every other particle with ``|eta| < calo_abs_eta`` is a calorimeter deposit whose pT
  is multiplied by ``max(0, 1 + sigma * z)``, ``z ~ N(0, 1)``, with
  ``sigma = sqrt((a / sqrt(E))**2 + b**2)``; (a, b) are the electromagnetic terms for
  photons and electrons, the hadronic terms otherwise; eta, phi and mass are kept;
* candidates with pT below ``min_pt`` after smearing are dropped.

Everything is vectorised over the flat list of particles of a batch of events; one
normal number is drawn per input particle, so the random stream depends only on the
particles themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .settings import DetectorConfig

__all__ = ["Candidates", "apply_detector", "kinematics"]

_EM_IDS = (11, 22)
_MUON_ID = 13


@dataclass(frozen=True)
class Candidates:
    """Flat PF candidates of a batch (float32 kinematics, as stored on disk).

    Attributes:
        keep: mask over the input particles: which became candidates.
        pt, eta, phi, mass: float32 kinematics.
        charge: int32 charge.
        pdg_id: int32 pdgId of the particle.
    """

    keep: np.ndarray
    pt: np.ndarray
    eta: np.ndarray
    phi: np.ndarray
    mass: np.ndarray
    charge: np.ndarray
    pdg_id: np.ndarray


def kinematics(px: np.ndarray, py: np.ndarray, pz: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(pt, eta, phi) of 3-momenta; eta is +-1e4 where pt = 0."""
    pt = np.hypot(px, py)
    with np.errstate(divide="ignore", invalid="ignore"):
        eta = np.where(pt > 0, np.arcsinh(pz / np.where(pt > 0, pt, 1.0)), np.copysign(1e4, pz))
    phi = np.arctan2(py, px)
    return pt, eta, phi


def apply_detector(
    px: np.ndarray,
    py: np.ndarray,
    pz: np.ndarray,
    energy: np.ndarray,
    mass: np.ndarray,
    pdg_id: np.ndarray,
    charge: np.ndarray,
    config: DetectorConfig,
    rng: np.random.Generator,
) -> Candidates:
    """Turn visible final-state particles (flat arrays) into PF candidates.

    Args:
        px, py, pz, energy, mass: particle 4-momenta (GeV).
        pdg_id: particle pdgIds.
        charge: particle charges (units of e).
        config: the detector model.
        rng: random generator for the energy smearing.

    Returns:
        The kept candidates and the mask of which inputs they are.
    """
    pt, eta, phi = kinematics(px, py, pz)
    abs_eta = np.abs(eta)
    abs_id = np.abs(pdg_id)
    charged = charge != 0
    track = charged & (abs_eta < config.tracker_abs_eta)
    calo = ~track & (abs_eta < config.calo_abs_eta) & (abs_id != _MUON_ID)

    em = np.isin(abs_id, _EM_IDS)
    stochastic = np.where(em, config.em_stochastic, config.had_stochastic)
    constant = np.where(em, config.em_constant, config.had_constant)
    e_safe = np.maximum(energy, 1e-6)
    sigma = np.sqrt(stochastic**2 / e_safe + constant**2)
    z = rng.standard_normal(len(pt))
    smeared_pt = np.where(calo, pt * np.maximum(0.0, 1.0 + sigma * z), pt)

    keep = (track | calo) & (smeared_pt > config.min_pt)
    return Candidates(
        keep=keep,
        pt=smeared_pt[keep].astype(np.float32),
        eta=eta[keep].astype(np.float32),
        phi=phi[keep].astype(np.float32),
        mass=mass[keep].astype(np.float32),
        charge=np.rint(charge[keep]).astype(np.int32),
        pdg_id=pdg_id[keep].astype(np.int32),
    )
