"""Writing generated events as NanoAOD-v15-style ROOT files and the coffea fileset.

Every file is written under a temporary hidden name in the target folder and renamed
when complete, so an interrupted run never leaves a file that looks finished.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np
import uproot

from ..errors import InputDataError
from ..fileio import atomic_path, write_json

__all__ = ["FILESET_NAME", "write_events_file", "write_fileset"]

FILESET_NAME = "fileset.json"


@contextmanager
def _cannot_write(path: Path) -> Iterator[None]:
    """Report an operating-system failure to write ``path`` as :class:`InputDataError`."""
    try:
        yield
    except OSError as err:
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
    with _cannot_write(path), atomic_path(path) as tmp, uproot.recreate(tmp) as fout:
        # mktree + extend writes a TTree (plain assignment would write an RNTuple)
        tree = fout.mktree("Events", {k: _branch_type(v) for k, v in branches.items()})
        tree.extend(branches)


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
    with _cannot_write(path):
        write_json(path, fileset)
