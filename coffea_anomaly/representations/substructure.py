"""Jet substructure with fastjet: N-subjettiness τ_N and the soft-drop mass.

Each jet's constituents are treated as one "event" of a fastjet ``ClusterSequence``
(Cambridge/Aachen, radius large enough to merge them all), so fastjet's multi-event
interface processes all jets in one call: ``njettiness`` (normalised measure, β, R0,
OnePass-kT axes by default, as CMS NanoAOD) and ``exclusive_jets_softdrop_grooming``.
Jets without constituents get τ_N = 0 and m_SD = 0.
"""

from __future__ import annotations

import awkward as ak
import numpy as np

from ._flat import FlatConstituents
from .kinematics import four_momenta

__all__ = ["nsubjettiness", "softdrop_mass"]

#: C/A radius used to recluster one jet's constituents into a single jet
_RECLUSTER_R = 10.0


def _cluster_sequence(flat: FlatConstituents) -> tuple[object, np.ndarray]:
    """A fastjet multi-event cluster sequence with one event per non-empty jet.

    Returns the sequence and the indices of the non-empty jets it holds, in order.
    """
    import fastjet

    from ..fastjet_banner import silence_fastjet_banner

    silence_fastjet_banner()
    jets = np.flatnonzero(flat.counts > 0)
    cols = flat.columns
    p = four_momenta(cols["pt"], cols["eta"], cols["phi"], cols["mass"])
    offsets = np.zeros(len(jets) + 1, dtype=np.int64)
    np.cumsum(flat.counts[jets], out=offsets[1:])  # empty jets own no constituents
    record = ak.contents.RecordArray(
        [ak.contents.NumpyArray(np.ascontiguousarray(p[:, k])) for k in (1, 2, 3, 0)],
        ["px", "py", "pz", "E"],
        parameters={"__record__": "Momentum4D"},
    )
    array = ak.Array(ak.contents.ListOffsetArray(ak.index.Index64(offsets), record))
    jet_def = fastjet.JetDefinition(fastjet.cambridge_algorithm, _RECLUSTER_R)
    return fastjet.ClusterSequence(array, jet_def), jets


def nsubjettiness(
    flat: FlatConstituents,
    n_max: int = 4,
    beta: float = 1.0,
    r0: float = 0.8,
    axes: str = "OnePass_KT_Axes",
) -> np.ndarray:
    """τ_1 … τ_{n_max} of every jet as float64 ``(n_jets, n_max)`` (normalised measure)."""
    out = np.zeros((flat.n_jets, n_max))
    if not flat.counts.any():
        return out
    cs, jets = _cluster_sequence(flat)
    taus = cs.njettiness(  # type: ignore[attr-defined]
        measure_definition="NormalizedMeasure",
        axes_definition=axes,
        njets=list(range(1, n_max + 1)),
        beta=beta,
        R0=r0,
    )
    out[jets] = np.asarray(ak.to_numpy(taus), dtype=np.float64).reshape(len(jets), n_max)
    return out


def softdrop_mass(
    flat: FlatConstituents, beta: float = 0.0, zcut: float = 0.1, r0: float = 0.8
) -> np.ndarray:
    """Soft-drop groomed mass of every jet (float64, ``(n_jets,)``)."""
    out = np.zeros(flat.n_jets)
    if not flat.counts.any():
        return out
    cs, jets = _cluster_sequence(flat)
    groomed = cs.exclusive_jets_softdrop_grooming(  # type: ignore[attr-defined]
        njets=1, beta=beta, symmetry_cut=zcut, R0=r0
    )
    out[jets] = np.asarray(ak.to_numpy(groomed.msoftdrop), dtype=np.float64)
    return out
