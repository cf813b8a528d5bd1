"""Check input files before a run, so nothing is lost silently; the checks run where the data is read.

Every file is opened once with uproot — on the Dask workers, in parallel, for the ``dask``
and ``dask-awkward`` executors (the client opens none), in a process pool for
``futures``, in this process for ``iterative`` — and its number of entries is recorded
(``events in files``) and the collections the processors need are looked up. TTree and
RNTuple files are checked alike, local or remote (``root://``, ``https://``). A file that
cannot be used either stops the run with one clear line or, with ``skip_bad_files``, is
skipped and named in the summary with the reason. A skipped file's events are counted
from its header when it can be read, else from the fileset (coffea's ``num_entries``);
when neither says, ``entries`` is None and the run's accounting fails ("unknown").

The checks can be saved (:func:`save_checks`, ``--save-preprocessed``) in coffea's
preprocessed-fileset form plus our check results, and reused (:func:`load_checks`,
``--preprocessed``) so that a rerun starts at once.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, InputDataError

__all__ = [
    "OPEN_TIMEOUT_S",
    "XRD_DEFAULTS",
    "FileCheck",
    "check_file",
    "check_fileset",
    "configure_remote_timeouts",
    "load_checks",
    "run_checks",
    "save_checks",
    "usable_fileset",
]

#: constituent collections per NanoAOD convention: (candidates, jet->candidate table, index branch)
CONSTITUENT_CONVENTIONS = {
    "v15": ("PFCand_pt", "FatJetPFCand_jetIdx", "FatJetPFCand_pfCandIdx"),
    "pfnano": ("PFCands_pt", "FatJetPFCands_jetIdx", "FatJetPFCands_pFCandsIdx"),
}

#: seconds uproot waits for one remote request (``uproot.open(..., timeout=)``; the same
#: value is coffea's ``xrootdtimeout``); a dead server is an error after this, never a hang
OPEN_TIMEOUT_S = 30

#: XRootD client settings (environment, read once when the client library loads) unless
#: already set: 2 connection attempts 5 s apart instead of 5 over 120 s each (a missing
#: server otherwise blocks for 10 minutes), 30 s per request and per stream.
XRD_DEFAULTS = {
    "XRD_CONNECTIONRETRY": "2",
    "XRD_CONNECTIONWINDOW": "5",
    "XRD_REQUESTTIMEOUT": "30",
    "XRD_STREAMTIMEOUT": "30",
    "XRD_TIMEOUTRESOLUTION": "1",
}

#: format tag of a saved checks file (``--save-preprocessed``)
CHECKS_FORMAT = "coffea-anomaly checked fileset 1"


def configure_remote_timeouts() -> None:
    """Set :data:`XRD_DEFAULTS` in the environment (values already set are kept).

    Called before any file is opened and before a LocalCluster starts, so the workers
    inherit the same settings.
    """
    for key, value in XRD_DEFAULTS.items():
        os.environ.setdefault(key, value)


@dataclass
class FileCheck:
    """What the check learnt about one file."""

    path: str
    treename: str
    entries: int | None = 0
    convention: str | None = None
    error: str | None = None
    uuid: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FileCheck:
        return cls(**{k: data[k] for k in ("path", "treename", "entries", "convention", "error", "uuid", "extra")
                      if k in data})  # fmt: skip


def check_file(path: str, treename: str = "Events", need_constituents: bool = True,
               timeout: float = OPEN_TIMEOUT_S) -> FileCheck:  # fmt: skip
    """Open ``path`` (TTree or RNTuple, local or remote) and check it holds what the processors need."""
    import uproot

    configure_remote_timeouts()
    chk = FileCheck(path=path, treename=treename)
    try:
        with uproot.open(path, timeout=timeout) as f:
            chk.uuid = bytes(f.file.fUUID).hex()
            if treename not in f:
                chk.entries = None
                chk.error = f"no tree {treename!r} (keys: {', '.join(sorted({k.split(';')[0] for k in f})[:8]) or 'none'})"
                return chk
            obj = f[treename]
            chk.entries = int(obj.num_entries)
            # RNTuple: the field names (keys() builds every field's awkward form: seconds)
            keys = set(obj.field_names) if hasattr(obj, "field_names") else set(obj.keys())
            truncated = _past_end_of_file(obj, int(f.file.source.num_bytes))
            if truncated:
                chk.error = truncated
                return chk
    except Exception as err:  # uproot raises many kinds on broken files
        if not chk.entries:
            chk.entries = None  # the header could not be read: how many events is unknown
        chk.error = f"unreadable ({type(err).__name__}: {_first_line(err)})"
        return chk
    if chk.entries == 0:
        return chk  # empty: nothing to read, nothing lost
    if "FatJet_pt" not in keys:
        chk.error = "missing collection FatJet (no FatJet_pt branch)"
        return chk
    for conv, branches in CONSTITUENT_CONVENTIONS.items():
        if all(b in keys for b in branches):
            chk.convention = conv
            break
    if chk.convention is None and need_constituents:
        chk.error = (
            "missing jet constituents: needs PFCand + FatJetPFCand (NanoAOD v15) "
            "or PFCands + FatJetPFCands (PFNano)"
        )
    return chk


def _check_batch(items: list[tuple[str, str]], need_constituents: bool) -> list[FileCheck]:
    """Check a batch of ``(path, tree)`` (one task on a worker)."""
    return [check_file(p, t, need_constituents) for p, t in items]


def _batches(items: list[tuple[str, str]], size: int) -> Iterator[list[tuple[str, str]]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def run_checks(
    items: list[tuple[str, str]],
    need_constituents: bool = True,
    *,
    client: Any = None,
    pool: Any = None,
    progress: bool = False,
    batch: int = 8,
) -> dict[tuple[str, str], FileCheck]:
    """Check every ``(path, tree)``: on the Dask ``client``'s workers, in a ``concurrent.futures``
    ``pool``, or (neither given) here, one after the other.

    Files are sent in batches of ``batch`` (one task each) so that thousands of files make a
    few hundred tasks; results are collected as they finish (the client keeps only the
    small :class:`FileCheck` records).
    """
    from tqdm.auto import tqdm

    out: dict[tuple[str, str], FileCheck] = {}
    bar = tqdm(total=len(items), desc="check files", unit="file", disable=not progress, file=sys.stderr)
    try:
        if client is not None:
            from distributed import as_completed

            futures = [client.submit(_check_batch, b, need_constituents, pure=False, retries=0)
                       for b in _batches(items, batch)]  # fmt: skip
            for fut in as_completed(futures):
                done = fut.result()
                fut.release()
                _collect(out, done, bar)
        elif pool is not None:
            batches = list(_batches(items, batch))
            for done in pool.map(_check_batch, batches, [need_constituents] * len(batches)):
                _collect(out, done, bar)
        else:
            for b in _batches(items, batch):
                _collect(out, _check_batch(b, need_constituents), bar)
    finally:
        bar.close()
    return out


def _collect(out: dict[tuple[str, str], FileCheck], done: Iterable[FileCheck], bar: Any) -> None:
    for chk in done:
        out[(chk.path, chk.treename)] = chk
        bar.update(1)


def check_fileset(
    fileset: dict[str, dict[str, Any]],
    skip_bad_files: bool,
    need_constituents: bool = True,
    *,
    client: Any = None,
    pool: Any = None,
    known: dict[tuple[str, str], FileCheck] | None = None,
    progress: bool = False,
) -> tuple[dict[str, dict[str, Any]], dict[str, list[FileCheck]]]:
    """Check every file (``known`` checks are reused); return the usable fileset and the checks per dataset.

    Where the checks run: see :func:`run_checks`.

    Raises:
        InputDataError: a bad file when ``skip_bad_files`` is False.
    """
    known = dict(known or {})
    todo = list(dict.fromkeys((p, t) for spec in fileset.values() for p, t in spec["files"].items()
                              if (p, t) not in known))  # fmt: skip
    if todo:
        known.update(run_checks(todo, need_constituents, client=client, pool=pool, progress=progress))
    return usable_fileset(fileset, known, skip_bad_files)


def usable_fileset(
    fileset: dict[str, dict[str, Any]], results: dict[tuple[str, str], FileCheck], skip_bad_files: bool
) -> tuple[dict[str, dict[str, Any]], dict[str, list[FileCheck]]]:
    """The files to process, from the check ``results``: ``{ds: {"files", "metadata", "entries", "uuids"}}``.

    Raises:
        InputDataError: a bad file when ``skip_bad_files`` is False.
    """
    usable: dict[str, dict[str, Any]] = {}
    checks: dict[str, list[FileCheck]] = {}
    for ds, spec in fileset.items():
        checks[ds] = []
        files = {}
        declared = spec.get("entries") or {}
        for path, tree in spec["files"].items():
            chk = _copy(results[(path, tree)])
            if chk.entries is None and declared.get(path) is not None:
                chk.entries = int(declared[path])
                chk.extra["entries_from"] = "fileset"
            checks[ds].append(chk)
            if not chk.ok:
                if not skip_bad_files:
                    raise InputDataError(f"{path}: {chk.error} (use --skip-bad-files to skip it)")
                continue
            if chk.entries > 0:
                files[path] = tree
        if files:
            by_path = {c.path: c for c in checks[ds]}
            usable[ds] = {
                "files": files,
                "metadata": spec.get("metadata", {}),
                "entries": {p: by_path[p].entries for p in files},
                "uuids": {p: by_path[p].uuid for p in files if by_path[p].uuid},
            }
    return usable, checks


def _copy(chk: FileCheck) -> FileCheck:
    return FileCheck.from_dict(json.loads(json.dumps(chk.to_dict())))


def save_checks(path: str | Path, fileset: dict[str, dict[str, Any]],
                results: dict[tuple[str, str], FileCheck]) -> Path:  # fmt: skip
    """Write the checked fileset: coffea's preprocessed form (``object_path``, ``num_entries``,
    ``uuid`` per file) with each file's check (``results`` by ``(path, tree)``) under
    ``coffea_anomaly_check``."""
    from ..fileio import write_json

    out: dict[str, Any] = {"_format": CHECKS_FORMAT}
    for ds, spec in fileset.items():
        chks = [results[(p, t)] for p, t in spec["files"].items()]
        out[ds] = {
            "files": {c.path: {"object_path": c.treename, "num_entries": c.entries, "uuid": c.uuid,
                               "coffea_anomaly_check": c.to_dict()} for c in chks},  # fmt: skip
            "metadata": spec.get("metadata", {}),
        }
    return write_json(Path(path), out)


def load_checks(path: str | Path) -> dict[tuple[str, str], FileCheck]:
    """The checks saved by :func:`save_checks`, by ``(path, tree)``.

    Raises:
        ConfigError: the file cannot be read or was not written by :func:`save_checks`.
    """
    p = Path(path)
    try:
        data = json.loads(p.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise ConfigError(f"cannot read the preprocessed fileset {p}: {err}") from err
    if not isinstance(data, dict) or data.get("_format") != CHECKS_FORMAT:
        raise ConfigError(f"{p} is not a fileset saved with --save-preprocessed (no '_format': {CHECKS_FORMAT!r})")
    out: dict[tuple[str, str], FileCheck] = {}
    for ds, spec in data.items():
        if ds == "_format":
            continue
        for finfo in (spec.get("files") or {}).values():
            chk = FileCheck.from_dict(finfo["coffea_anomaly_check"])
            out[(chk.path, chk.treename)] = chk
    return out


def _past_end_of_file(obj: Any, size: int) -> str | None:
    """A message if some basket (TTree) or page (RNTuple) lies beyond the end of the file."""
    for name, end in _data_ends(obj):
        if end > size:
            return f"truncated: {name} needs {end} bytes, the file has {size}"
    return None


def _data_ends(obj: Any) -> Iterator[tuple[str, int]]:
    """``(what, last byte + 1)`` of every branch's baskets or of every RNTuple column's pages."""
    if hasattr(obj, "page_link_list"):  # RNTuple
        members = obj.members
        yield "the RNTuple footer", int(members["fSeekFooter"]) + int(members["fNBytesFooter"])
        for cluster in obj.page_link_list:
            for col, pages in enumerate(cluster):
                ends = [int(p.locator.offset) + int(p.locator.num_bytes) for p in pages.pages]
                if ends:
                    yield f"column {col}", max(ends)
        return
    for branch in obj.itervalues(recursive=True):
        n = branch.num_baskets
        if n == 0:
            continue
        seeks = np.asarray(branch.member("fBasketSeek"))[:n]
        nbytes = np.asarray(branch.member("fBasketBytes"))[:n]
        yield f"branch {branch.name}", int((seeks + nbytes).max())


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0][:200] if text else ""

