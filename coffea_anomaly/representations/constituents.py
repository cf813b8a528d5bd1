"""Fat-jet constituents from NanoAOD cross-references, for both conventions.

Each entry of the link collection (``FatJetPFCand`` / ``FatJetPFCands``) says "candidate
``pfCandIdx`` belongs to fat jet ``jetIdx``" within one event. We trust these indices, not
``FatJet_nConstituents``: real files do not always store every constituent of every jet,
and those jets simply get shorter (possibly empty) lists, which :func:`empty_jets` flags.

The grouping is vectorised: links get global jet and candidate numbers, a stable argsort
by jet number groups them, and a histogram of jet numbers gives the list lengths.
"""

from __future__ import annotations

from typing import Any

import awkward as ak
import numpy as np
import vector

from ..errors import InputDataError, MissingCollectionError
from ..nanoaod import _where, get_convention
from ._dask import any_dask, map_eager

__all__ = ["CONSTITUENT_FIELDS", "empty_jets", "fatjet_constituents"]

#: kinematic fields every constituent carries, then the optional ones kept when present
CONSTITUENT_FIELDS: tuple[str, ...] = ("pt", "eta", "phi", "mass")
_OPTIONAL_FIELDS: tuple[str, ...] = ("charge", "pdgId")


def fatjet_constituents(events: Any) -> Any:
    """Return the PF candidates of every fat jet, aligned with ``events.FatJet``.

    Args:
        events: NanoEvents in the PFNano or NanoAOD-v15 convention (eager, virtual or
            dask-awkward).

    Returns:
        An events × fat jets × constituents array of vector ``Momentum4D`` records with
        fields ``pt, eta, phi, mass`` and ``charge``/``pdgId`` when the file has them,
        in the stored order. Lazy (dask-awkward) for dask input.

    Raises:
        MissingCollectionError: if ``FatJet``, the constituent collections, their index
            fields or the candidate kinematics are absent (the message names them).
        InputDataError: if a cross-reference index points outside its collection.

    Example:
        >>> constituents = fatjet_constituents(events)                # doctest: +SKIP
        >>> ak.num(constituents, axis=2)   # stored constituents per fat jet  # doctest: +SKIP
    """
    conv = get_convention(events)
    cands = events[conv.candidates]
    have = set(cands.fields)
    lacking = [f"{conv.candidates}_{f}" for f in CONSTITUENT_FIELDS if f not in have]
    if lacking:
        raise MissingCollectionError(lacking, _where(events))
    names = CONSTITUENT_FIELDS + tuple(f for f in _OPTIONAL_FIELDS if f in have)
    links = events[conv.links]
    arrays = (
        events.FatJet.pt,
        links[conv.jet_index],
        links[conv.candidate_index],
        *(cands[f] for f in names),
    )
    if any_dask(*arrays):
        return map_eager(_link_constituents, *arrays, label="fatjet-constituents", names=names)
    return _link_constituents(*arrays, names=names)


def empty_jets(constituents: Any) -> Any:
    """Boolean per fat jet: True where no constituent is stored (same nesting as the jets).

    Works on eager and dask-awkward constituents from :func:`fatjet_constituents`.
    """
    axis = constituents.ndim - 1
    if any_dask(constituents):
        import dask_awkward as dak

        return dak.num(constituents, axis=axis) == 0
    return ak.num(constituents, axis=axis) == 0


def _link_constituents(
    jet_pt: ak.Array,
    jet_index: ak.Array,
    cand_index: ak.Array,
    *cand_fields: ak.Array,
    names: tuple[str, ...],
) -> ak.Array:
    """Eager core: group candidates by fat jet using the link indices of each event."""
    n_jets = ak.to_numpy(ak.num(jet_pt, axis=1)).astype(np.int64)
    jet_offsets = np.zeros(len(n_jets) + 1, dtype=np.int64)
    np.cumsum(n_jets, out=jet_offsets[1:])
    n_cands = ak.to_numpy(ak.num(cand_fields[0], axis=1)).astype(np.int64)
    cand_offsets = np.zeros(len(n_cands) + 1, dtype=np.int64)
    np.cumsum(n_cands, out=cand_offsets[1:])

    n_links = ak.to_numpy(ak.num(jet_index, axis=1)).astype(np.int64)
    event_of_link = np.repeat(np.arange(len(n_links), dtype=np.int64), n_links)
    jidx = ak.to_numpy(ak.flatten(jet_index, axis=1)).astype(np.int64)
    cidx = ak.to_numpy(ak.flatten(cand_index, axis=1)).astype(np.int64)
    bad = (
        (jidx < 0) | (jidx >= n_jets[event_of_link]) | (cidx < 0) | (cidx >= n_cands[event_of_link])
    )
    if bad.any():
        raise InputDataError(
            f"{int(bad.sum())} of {len(bad)} fat-jet constituent links point outside "
            "FatJet or the PF-candidate collection of their event"
        )
    global_jet = jet_offsets[event_of_link] + jidx
    order = np.argsort(global_jet, kind="stable")
    take = (cand_offsets[event_of_link] + cidx)[order]
    counts = np.bincount(global_jet, minlength=int(jet_offsets[-1]))

    contents = [
        ak.contents.NumpyArray(ak.to_numpy(ak.flatten(f, axis=1))[take]) for f in cand_fields
    ]
    record = ak.contents.RecordArray(
        contents, list(names), length=len(take), parameters={"__record__": "Momentum4D"}
    )
    const_offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=const_offsets[1:])
    per_jet = ak.contents.ListOffsetArray(ak.index.Index64(const_offsets), record)
    per_event = ak.contents.ListOffsetArray(ak.index.Index64(jet_offsets), per_jet)
    return ak.Array(per_event, behavior=vector.backends.awkward.behavior)
