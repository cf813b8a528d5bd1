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

__all__ = ["CONSTITUENT_FIELDS", "empty_jets", "fatjet_constituents", "linked_constituents"]

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


def linked_constituents(jets: Any) -> Any:
    """The constituents of fat jets taken from NanoEvents, found through their events.

    ``jets`` may be sliced, masked or reordered (``events.FatJet[sel]``,
    ``events[mask].FatJet``, ``jets[:, :2]``): NanoEvents collections know the events
    they were read with (coffea's ``_events()``), and each jet is found there by its
    position in the file's ``FatJet`` column, then checked against its ``pt, eta, phi``.

    Args:
        jets: events × fat jets or a flat array of fat jets from coffea NanoEvents
            (eager, virtual or dask-awkward).

    Returns:
        The jets' constituents as :func:`fatjet_constituents` gives them, aligned with
        ``jets`` (one more nesting level).

    Raises:
        InputDataError: the jets are not linked to NanoEvents (plain awkward arrays, or
            fields computed anew) or are not the events' ``FatJet``: pass the
            constituents yourself (``constituents=``).
    """
    events = _parent_events(jets)
    parts = (*(jets[f] for f in _LINK_CHECK), *(events.FatJet[f] for f in _LINK_CHECK))
    constituents = fatjet_constituents(events)
    if any_dask(jets, events):
        from ._dask import map_eager

        return map_eager(_take_linked, *parts, constituents, label="linked-constituents")
    return _take_linked(*parts, constituents)


#: the fields that must agree between a jet and the events' jet it is linked to
_LINK_CHECK = ("pt", "eta", "phi")

_UNLINKED = (
    "cannot find the constituents of these jets ({why}); pass them with constituents= "
    "(e.g. fatjet_constituents(events) sliced like the jets)"
)


def _parent_events(jets: Any) -> Any:
    missing = [f for f in _LINK_CHECK if f not in (getattr(jets, "fields", None) or [])]
    if missing:
        raise InputDataError(_UNLINKED.format(why=f"they have no {', '.join(missing)}"))
    try:
        events = jets._events()
    except Exception as err:  # plain awkward: AttributeError; detached NanoEvents: KeyError
        raise InputDataError(_UNLINKED.format(why="they are not NanoEvents jets")) from err
    if "FatJet" not in (getattr(events, "fields", None) or []):
        raise InputDataError(_UNLINKED.format(why="their events have no FatJet"))
    return events


def _file_positions(field: ak.Array) -> ak.Array:
    """Each value's position in the column it was read from: the leaf replaced by a range."""

    def leaf(layout: Any, **kwargs: Any) -> Any:
        if isinstance(layout, ak.contents.NumpyArray):
            return ak.contents.NumpyArray(np.arange(layout.length, dtype=np.int64))
        return None

    return ak.transform(leaf, field)


def _take_linked(*arrays: ak.Array) -> ak.Array:
    """Eager core of :func:`linked_constituents`: jet fields, the events' fields, constituents."""
    n = len(_LINK_CHECK)
    mine, theirs, constituents = arrays[:n], arrays[n : 2 * n], arrays[2 * n]
    if mine[0].ndim > 2:
        raise InputDataError(_UNLINKED.format(why="they are nested more than events × jets"))
    position = ak.to_numpy(ak.flatten(_file_positions(mine[0]), axis=None))
    flat = [ak.to_numpy(ak.flatten(t, axis=None)) for t in theirs]
    linked = len(position) == 0 or (position.min() >= 0 and position.max() < len(flat[0]))
    for m, t in zip(mine, flat, strict=True):
        ours = ak.to_numpy(ak.flatten(m, axis=None))
        linked = linked and np.array_equal(ours, t[position], equal_nan=True)
    if not linked:
        why = "they are not the FatJet of the events they came from"
        raise InputDataError(_UNLINKED.format(why=why))
    taken = ak.flatten(constituents, axis=1)[position]
    return taken if mine[0].ndim == 1 else ak.unflatten(taken, ak.num(mine[0], axis=1))
