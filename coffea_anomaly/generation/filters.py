"""Generator-level event filters (which generated events a sample keeps)."""

from __future__ import annotations

import awkward as ak
import numpy as np

from .settings import FilterConfig

__all__ = ["dijet_mass", "passes_filter"]


def dijet_mass(pt: ak.Array, eta: ak.Array, phi: ak.Array, mass: ak.Array) -> np.ndarray:
    """Invariant mass of the two leading jets per event (0 where there are fewer than two).

    Args:
        pt, eta, phi, mass: events x jets, pT-ordered.
    """
    two = ak.num(pt, axis=1) >= 2
    lead = [ak.to_numpy(ak.fill_none(ak.pad_none(x, 2, axis=1, clip=True), 0.0)).astype(np.float64)
            for x in (pt, eta, phi, mass)]
    jpt, jeta, jphi, jm = lead
    px = (jpt * np.cos(jphi)).sum(axis=1)
    py = (jpt * np.sin(jphi)).sum(axis=1)
    pz = (jpt * np.sinh(jeta)).sum(axis=1)
    energy = np.sqrt((jpt * np.cosh(jeta)) ** 2 + jm**2).sum(axis=1)
    m2 = energy**2 - px**2 - py**2 - pz**2
    return np.where(ak.to_numpy(two), np.sqrt(np.maximum(m2, 0.0)), 0.0)


def passes_filter(fatjets: ak.Array, config: FilterConfig) -> np.ndarray:
    """Boolean mask of events that pass the recipe's generator-level filter.

    Args:
        fatjets: events x fat jets (pT-ordered) with pt, eta, phi, mass, truthMatch.
        config: the filter.
    """
    n = len(fatjets)
    if config.kind == "none":
        return np.ones(n, dtype=bool)
    if config.kind == "fatjet_window":
        in_window = (
            (fatjets.pt >= config.pt_min)
            & (fatjets.pt <= config.pt_max)
            & (np.abs(fatjets.eta) < config.abs_eta_max)
        )
        if config.require_truth_match:
            in_window = in_window & (fatjets.truthMatch == 1)
        return ak.to_numpy(ak.any(in_window, axis=1))
    # dijet
    leading = ak.to_numpy(ak.fill_none(ak.firsts(fatjets.pt), 0.0))
    mjj = dijet_mass(fatjets.pt, fatjets.eta, fatjets.phi, fatjets.mass)
    two = ak.to_numpy(ak.num(fatjets.pt, axis=1) >= 2)
    return two & (leading > config.leading_pt_min) & (mjj >= config.mjj_min) & (mjj <= config.mjj_max)
