"""Opening NanoAOD-style files with coffea NanoEvents, and telling the conventions apart.

Two conventions store the particle-flow constituents of fat jets (see Contract 1 and the
NanoAOD conventions in ``docs/ARCHITECTURE.md``):

- **PFNano**: ``PFCands`` and ``FatJetPFCands`` with ``jetIdx`` and ``pFCandsIdx``;
- **NanoAOD v15** (and our generated samples): ``PFCand`` and ``FatJetPFCand`` with
  ``jetIdx`` and ``pfCandIdx``.

Example:
    >>> events = open_events("nanoaod_v15_ttbar.root")          # doctest: +SKIP
    >>> detect_convention(events)                                 # doctest: +SKIP
    'v15'
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .errors import ConfigError, InputDataError, MissingCollectionError

__all__ = [
    "CONVENTIONS",
    "Convention",
    "ConventionName",
    "detect_convention",
    "get_convention",
    "open_events",
]

ConventionName = Literal["pfnano", "v15"]
Mode = Literal["virtual", "eager", "dask"]


@dataclass(frozen=True)
class Convention:
    """Where one NanoAOD convention stores fat-jet constituents.

    Attributes:
        name: short name, ``"pfnano"`` or ``"v15"``.
        candidates: collection of particle-flow candidates.
        links: collection with one entry per (fat jet, constituent).
        jet_index: field of ``links`` indexing ``FatJet`` in the same event.
        candidate_index: field of ``links`` indexing ``candidates`` in the same event.
    """

    name: ConventionName
    candidates: str
    links: str
    jet_index: str
    candidate_index: str


CONVENTIONS: dict[str, Convention] = {
    "v15": Convention("v15", "PFCand", "FatJetPFCand", "jetIdx", "pfCandIdx"),
    "pfnano": Convention("pfnano", "PFCands", "FatJetPFCands", "jetIdx", "pFCandsIdx"),
}


def open_events(
    path_or_files: str | Path | Sequence[str | Path] | Mapping[str, str],
    mode: Mode = "virtual",
    entry_start: int | None = None,
    entry_stop: int | None = None,
    treepath: str = "Events",
) -> Any:
    """Open NanoAOD-style ROOT file(s) as coffea NanoEvents with the ``NanoAODSchema``.

    Args:
        path_or_files: one path, a list of paths, or a ``{path: treepath}`` mapping
            (coffea's fileset ``files`` entry). Several files need ``mode="dask"``.
        mode: ``"virtual"`` (lazy columns, the default), ``"eager"`` or ``"dask"``.
        entry_start: first entry to read (eager/virtual only).
        entry_stop: entry after the last one to read (eager/virtual only).
        treepath: tree name used for paths given without one.

    Returns:
        The events: an awkward array (eager/virtual) or a dask-awkward array (dask).

    Raises:
        ConfigError: on an unknown mode, or several files outside dask mode.
        InputDataError: if a file cannot be opened or has no such tree.
    """
    from coffea.nanoevents import NanoAODSchema, NanoEventsFactory

    if mode not in ("virtual", "eager", "dask"):
        raise ConfigError(f"mode must be 'virtual', 'eager' or 'dask', not {mode!r}")
    files = _as_file_dict(path_or_files, treepath)
    if mode != "dask" and len(files) != 1:
        raise ConfigError(
            f"mode={mode!r} reads one file but {len(files)} were given; use mode='dask'"
        )
    if mode == "dask" and (entry_start is not None or entry_stop is not None):
        raise ConfigError("entry_start/entry_stop apply to eager and virtual mode only")
    missing = [f for f in files if "://" not in f and not Path(f).is_file()]
    if missing:
        raise InputDataError(f"no such file: {', '.join(missing)}")
    where = ", ".join(files)
    kwargs: dict[str, Any] = {"schemaclass": NanoAODSchema, "mode": mode}
    if mode != "dask":
        kwargs.update(entry_start=entry_start, entry_stop=entry_stop)
    try:
        with warnings.catch_warnings():
            # NanoAODSchema warns for every cross-reference whose target collection a file
            # lacks (e.g. Electron_genPartIdx in our generated files): noise, not a problem
            warnings.filterwarnings("ignore", "Missing cross-reference index", RuntimeWarning)
            return NanoEventsFactory.from_root(
                files, metadata={"filename": where}, **kwargs
            ).events()
    except (OSError, KeyError, ValueError) as err:
        raise InputDataError(f"cannot read {where} as NanoAOD: {err}") from err


def _as_file_dict(
    path_or_files: str | Path | Sequence[str | Path] | Mapping[str, str], treepath: str
) -> dict[str, str]:
    if isinstance(path_or_files, Mapping):
        return {str(k): str(v) for k, v in path_or_files.items()}
    if isinstance(path_or_files, (str, Path)):
        return {str(path_or_files): treepath}
    files = {str(p): treepath for p in path_or_files}
    if not files:
        raise ConfigError("no input files given")
    return files


def _where(events: Any) -> str:
    metadata = getattr(events, "metadata", None) or {}
    return str(metadata.get("filename", "")) if isinstance(metadata, Mapping) else ""


def detect_convention(events: Any) -> ConventionName:
    """Return which convention stores the fat-jet constituents: ``"v15"`` or ``"pfnano"``.

    Args:
        events: NanoEvents (eager, virtual or dask-awkward).

    Raises:
        MissingCollectionError: naming ``FatJet`` if it is absent, or the constituent
            collections and index fields of both conventions if neither is complete.
    """
    return get_convention(events).name


def get_convention(events: Any) -> Convention:
    """Like :func:`detect_convention`, but return the full :class:`Convention`."""
    fields = set(events.fields)
    where = _where(events)
    if "FatJet" not in fields:
        raise MissingCollectionError("FatJet", where)
    partial: list[str] = []
    for conv in CONVENTIONS.values():
        have = [c for c in (conv.candidates, conv.links) if c in fields]
        if len(have) == 2:
            link_fields = set(events[conv.links].fields)
            lacking = [
                f"{conv.links}_{f}"
                for f in (conv.jet_index, conv.candidate_index)
                if f not in link_fields
            ]
            if not lacking:
                return conv
            raise MissingCollectionError(lacking, where)
        if have:
            partial = [c for c in (conv.candidates, conv.links) if c not in fields]
    if partial:
        raise MissingCollectionError(partial, where)
    raise MissingCollectionError(
        ["PFCand + FatJetPFCand (NanoAOD v15)", "PFCands + FatJetPFCands (PFNano)"],
        where,
        hint="the file stores no fat-jet constituents",
    )
