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
from ._dask import any_dask

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
        import dask_awkward as dak

        return dak.map_partitions(_LinkPartition(names), *arrays, label="fatjet-constituents")
    return _link(*arrays, names=names)


def empty_jets(constituents: Any) -> Any:
    """Boolean per fat jet: True where no constituent is stored (same nesting as the jets).

    Works on eager and dask-awkward constituents from :func:`fatjet_constituents`.
    """
    axis = constituents.ndim - 1
    if any_dask(constituents):
        import dask_awkward as dak

        return dak.num(constituents, axis=axis) == 0
    return ak.num(constituents, axis=axis) == 0


def _offsets(counts: np.ndarray) -> np.ndarray:
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return offsets


def _constituent_index(
    jet_pt: ak.Array, jet_index: ak.Array, cand_index: ak.Array, cand_pt: ak.Array
) -> ak.Array:
    """Eager core: events × jets × constituents positions into the flattened candidates.

    Links get global jet and candidate numbers; a stable argsort by jet number groups them
    (keeping the stored order within a jet) and a histogram of jet numbers gives the
    number of constituents of every jet, zero for jets without stored constituents.
    """
    n_jets = ak.to_numpy(ak.num(jet_pt, axis=1)).astype(np.int64)
    n_cands = ak.to_numpy(ak.num(cand_pt, axis=1)).astype(np.int64)
    n_links = ak.to_numpy(ak.num(jet_index, axis=1)).astype(np.int64)
    jet_offsets, cand_offsets = _offsets(n_jets), _offsets(n_cands)
    event_of_link = np.repeat(np.arange(len(n_links), dtype=np.int64), n_links)
    jidx = ak.to_numpy(ak.flatten(jet_index, axis=1)).astype(np.int64)
    cidx = ak.to_numpy(ak.flatten(cand_index, axis=1)).astype(np.int64)
    bad = (jidx < 0) | (jidx >= n_jets[event_of_link]) | (cidx < 0)
    bad |= cidx >= n_cands[event_of_link]
    if bad.any():
        raise InputDataError(
            f"{int(bad.sum())} of {len(bad)} fat-jet constituent links point outside "
            "FatJet or the PF-candidate collection of their event"
        )
    global_jet = jet_offsets[event_of_link] + jidx
    order = np.argsort(global_jet, kind="stable")
    take = (cand_offsets[event_of_link] + cidx)[order]
    counts = np.bincount(global_jet, minlength=int(jet_offsets[-1]))
    per_jet = ak.contents.ListOffsetArray(
        ak.index.Index64(_offsets(counts)), ak.contents.NumpyArray(take)
    )
    return ak.Array(ak.contents.ListOffsetArray(ak.index.Index64(jet_offsets), per_jet))


def _link(
    jet_pt: ak.Array,
    jet_index: ak.Array,
    cand_index: ak.Array,
    *cand_fields: ak.Array,
    names: tuple[str, ...],
) -> ak.Array:
    """Eager core: the candidate fields grouped per fat jet, as Momentum4D records."""
    index = _constituent_index(jet_pt, jet_index, cand_index, cand_fields[0])
    take = ak.to_numpy(ak.flatten(index, axis=None))
    contents = [_take(f, take) for f in cand_fields]
    record = ak.contents.RecordArray(
        contents, list(names), length=len(take), parameters={"__record__": "Momentum4D"}
    )
    outer = index.layout
    layout = outer.copy(content=outer.content.copy(content=record))
    return ak.Array(layout, behavior=vector.backends.awkward.behavior)


def _take(field: ak.Array, take: np.ndarray) -> ak.contents.NumpyArray:
    data = getattr(getattr(field.layout, "content", None), "data", None)
    if type(data).__name__ == "PlaceholderArray":
        # a field dask did not read because nothing downstream uses it: keep its type only
        return ak.contents.NumpyArray(np.zeros(len(take), dtype=data.dtype))
    return ak.contents.NumpyArray(ak.to_numpy(ak.flatten(field, axis=1))[take])


class _LinkPartition:
    """The dask partition function of :func:`fatjet_constituents`.

    On concrete arrays it is :func:`_link`. On typetracers (dask building or optimising
    its graph) it marks only the grouping inputs as read (jet counts, link indices,
    candidate pt) and *forwards* each candidate field's data buffer into the output, so
    dask reads e.g. ``PFCand_mass`` only if something downstream uses the mass.
    """

    def __init__(self, names: tuple[str, ...]) -> None:
        self.names = names

    def __call__(
        self, jet_pt: ak.Array, jet_index: ak.Array, cand_index: ak.Array, *cand_fields: ak.Array
    ) -> ak.Array:
        arrays = (jet_pt, jet_index, cand_index, *cand_fields)
        if ak.backend(jet_index) != "typetracer":
            return _link(*arrays, names=self.names)
        for a in arrays[:4]:
            ak.typetracer.touch_data(a)
        zeros = [ak.Array(a.layout.form.length_zero_array(), behavior=a.behavior) for a in arrays]
        out = _link(*zeros, names=self.names).layout.to_typetracer(forget_length=True)
        record = out.content.content
        contents = []
        for field, empty in zip(cand_fields, record.contents, strict=True):
            layout = field.layout
            forwardable = isinstance(layout, ak.contents.ListOffsetArray) and isinstance(
                layout.content, ak.contents.NumpyArray
            )
            if not forwardable:
                ak.typetracer.touch_data(field)
            contents.append(layout.content if forwardable else empty)
        record = record.copy(contents=contents)
        layout = out.copy(content=out.content.copy(content=record))
        return ak.Array(layout, behavior=vector.backends.awkward.behavior)
