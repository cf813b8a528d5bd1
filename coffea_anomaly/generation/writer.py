"""Writing generated events as NanoAOD-v15-style ROOT files and the coffea fileset.

Every file is written under a temporary hidden name in the target folder and renamed
when complete, so an interrupted run never leaves a file that looks finished.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np
import uproot

from ..errors import InputDataError

__all__ = ["FILESET_NAME", "atomic_write_text", "write_events_file", "write_fileset"]

FILESET_NAME = "fileset.json"


def _temporary(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename."""
    tmp = _temporary(path)
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise InputDataError(f"cannot write {path}: {err.strerror or err}") from err


def write_events_file(path: Path, events: ak.Array, *, run: int, luminosity_block: int, first_event: int) -> None:
    """Write one block of events as tree ``Events`` (write to a temporary name, then rename).

    Args:
        path: the final file name.
        events: records from :func:`~coffea_anomaly.generation.reconstruct.reconstruct_batch`.
        run: value of the ``run`` branch.
        luminosity_block: value of the ``luminosityBlock`` branch.
        first_event: ``event`` number of the first event (then +1 per event).
    """
    n = len(events)
    branches: dict[str, Any] = {
        "run": np.full(n, run, dtype=np.uint32),
        "luminosityBlock": np.full(n, luminosity_block, dtype=np.uint32),
        "event": np.arange(first_event, first_event + n, dtype=np.uint64),
    }
    for name in ak.fields(events):
        column = events[name]
        if name[0].isupper():
            branches[name] = ak.to_packed(column)
        else:
            branches[name] = ak.to_numpy(column)
    tmp = _temporary(path)
    try:
        with uproot.recreate(tmp) as fout:
            # mktree + extend writes a TTree (plain assignment would write an RNTuple)
            tree = fout.mktree("Events", {k: _branch_type(v) for k, v in branches.items()})
            tree.extend(branches)
        os.replace(tmp, path)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise InputDataError(f"cannot write {path}: {err.strerror or err}") from err
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _branch_type(column: Any) -> Any:
    return column.type if isinstance(column, ak.Array) else column.dtype


def write_fileset(path: Path, dataset: str, files: list[Path], metadata: dict[str, Any]) -> None:
    """Write ``fileset.json`` in coffea's fileset format, with absolute file paths.

    Args:
        path: where ``fileset.json`` goes.
        dataset: the dataset name (key of the fileset).
        files: the ROOT files of the dataset.
        metadata: per-dataset metadata (process, xsec_pb, n_events, seed, ...).
    """
    fileset = {
        dataset: {
            "files": {str(Path(f).resolve()): "Events" for f in files},
            "metadata": metadata,
        }
    }
    atomic_write_text(path, json.dumps(fileset, indent=2, sort_keys=True) + "\n")
