"""Check input files before a run, so nothing is lost silently.

Every file is opened once with uproot before the job: its number of entries is recorded
(``events in files``) and the collections the processors need are looked up. A file that
cannot be used either stops the run with one clear line or, with ``skip_bad_files``, is
skipped and named in the summary with the reason. A skipped file's events are counted
from its header when it can be read, else from the fileset (coffea's ``num_entries``);
when neither says, ``entries`` is None and the run's accounting fails ("unknown").
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import uproot

from ..errors import InputDataError

__all__ = ["FileCheck", "check_file", "check_fileset"]

#: constituent collections per NanoAOD convention: (candidates, jet->candidate table, index branch)
CONSTITUENT_CONVENTIONS = {
    "v15": ("PFCand_pt", "FatJetPFCand_jetIdx", "FatJetPFCand_pfCandIdx"),
    "pfnano": ("PFCands_pt", "FatJetPFCands_jetIdx", "FatJetPFCands_pFCandsIdx"),
}


@dataclass
class FileCheck:
    """What the pre-check learnt about one file."""

    path: str
    treename: str
    entries: int | None = 0
    convention: str | None = None
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None


def check_file(path: str, treename: str = "Events", need_constituents: bool = True) -> FileCheck:
    """Open ``path`` and check that it holds what the processors need."""
    chk = FileCheck(path=path, treename=treename)
    try:
        with uproot.open(path) as f:
            if treename not in f:
                chk.entries = None
                chk.error = f"no tree {treename!r} (keys: {', '.join(sorted({k.split(';')[0] for k in f})[:8]) or 'none'})"
                return chk
            tree = f[treename]
            chk.entries = int(tree.num_entries)
            keys = set(tree.keys())
            truncated = _past_end_of_file(path, tree)
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


def check_fileset(
    fileset: dict[str, dict[str, Any]], skip_bad_files: bool, need_constituents: bool = True
) -> tuple[dict[str, dict[str, Any]], dict[str, list[FileCheck]]]:
    """Check every file; return the usable fileset and the checks per dataset.

    Raises:
        InputDataError: a bad file when ``skip_bad_files`` is False.
    """
    usable: dict[str, dict[str, Any]] = {}
    checks: dict[str, list[FileCheck]] = {}
    for ds, spec in fileset.items():
        checks[ds] = []
        files = {}
        known = spec.get("entries") or {}
        for path, tree in spec["files"].items():
            chk = check_file(path, tree, need_constituents)
            if chk.entries is None and known.get(path) is not None:
                chk.entries = int(known[path])
                chk.extra["entries_from"] = "fileset"
            checks[ds].append(chk)
            if not chk.ok:
                if not skip_bad_files:
                    raise InputDataError(f"{path}: {chk.error} (use --skip-bad-files to skip it)")
                continue
            if chk.entries > 0:
                files[path] = tree
        if files:
            entries = {c.path: c.entries for c in checks[ds] if c.path in files}
            usable[ds] = {"files": files, "metadata": spec.get("metadata", {}), "entries": entries}
    return usable, checks


def _past_end_of_file(path: str, tree: Any) -> str | None:
    """For local files: a message if some basket lies beyond the end of the file (truncated)."""
    if "://" in path and not path.startswith("file://"):
        return None
    size = os.path.getsize(path.removeprefix("file://"))
    for branch in tree.itervalues(recursive=True):
        n = branch.num_baskets
        if n == 0:
            continue
        seeks = np.asarray(branch.member("fBasketSeek"))[:n]
        nbytes = np.asarray(branch.member("fBasketBytes"))[:n]
        end = int((seeks + nbytes).max())
        if end > size:
            return f"truncated: branch {branch.name} needs {end} bytes, the file has {size}"
    return None


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0][:200] if text else ""
