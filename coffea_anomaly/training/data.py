"""Reading training and evaluation inputs through the same code as inference.

Events are opened with :func:`coffea_anomaly.nanoaod.open_events`, fat jets (or the two
leading fat jets of an event) are selected, their constituents come from
:func:`coffea_anomaly.representations.fatjet_constituents`, and the model input is built
by :func:`coffea_anomaly.representations.registry.build_input` — the function inference
uses — so a model sees in training exactly what it sees in a coffea job.
"""

from __future__ import annotations

import json
import sys
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np
from tqdm.auto import tqdm

from ..errors import ConfigError, InputDataError
from ..selection import select_dijets, select_jets
from .settings import RepresentationChoice, SampleSpec, resolve_selection

__all__ = ["Inputs", "files_within", "load_inputs", "sample_files", "sample_name"]

#: events read per chunk (bounded memory for large files)
CHUNK_EVENTS = 20_000


@dataclass
class Inputs:
    """Model inputs read from a sample, with the accounting of what was (not) used.

    Attributes:
        x: float32 inputs, first axis = selected items (jets or events).
        weights: per-item ``genWeight`` when the sample is weighted, else None.
        n_events: events read.
        n_selected: items that passed the selection.
        n_nonfinite: selected items dropped because their input holds NaN or inf.
        files: the ROOT files read (completely or up to the ``max_items`` cap).
        aux: per-item quantities that are not model inputs: ``mass`` of each jet (jet
            level) or ``mjj`` of each event (event level), and the event's truth ``label``
            (1 signal, 0 background, -1 unknown).
    """

    x: np.ndarray
    weights: np.ndarray | None
    aux: dict[str, np.ndarray] = field(default_factory=dict)
    n_events: int = 0
    n_selected: int = 0
    n_nonfinite: int = 0
    files: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """The accounting as plain JSON (for model cards and reports)."""
        return {
            "n_events_read": self.n_events,
            "n_selected": self.n_selected,
            "n_dropped_nonfinite": self.n_nonfinite,
            "n_used": int(self.x.shape[0]),
        }


def sample_files(path: str | Path | Sequence[str | Path]) -> dict[str, str]:
    """The ROOT files of a sample: ``{file: tree}`` from a fileset.json, a folder or a file.

    A folder is read through its ``fileset.json``; relative file paths in a fileset are
    taken relative to the fileset's folder. Every dataset of the fileset is used. A list
    or tuple of such paths is one sample: the union of their files, in order.

    Raises:
        InputDataError: the path does not exist or names no ROOT file.
    """
    if isinstance(path, list | tuple):
        files = {}
        for one in path:
            files.update(sample_files(one))
        return files
    if _is_url(path):  # root://, https://: a remote file, read as it is (no existence check here)
        return {str(path): "Events"}
    p = Path(path)
    if p.is_dir():
        p = p / "fileset.json"
    if p.suffix == ".root":
        if not p.is_file():
            raise InputDataError(f"no such file: {p}")
        return {str(p): "Events"}
    if not p.is_file():
        raise InputDataError(f"no sample at {path} (expected a fileset.json, a folder with one, or a .root file)")
    try:
        fileset = json.loads(p.read_text())
        files: dict[str, str] = {}
        for spec in fileset.values():
            for f, tree in spec["files"].items():
                fp = Path(f)
                files[f if _is_url(f) else str(fp if fp.is_absolute() else p.parent / fp)] = str(tree)
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise InputDataError(f"{p} is not a coffea fileset ({type(err).__name__}: {err})") from err
    if not files:
        raise InputDataError(f"{p} lists no files")
    return files


def files_within(inner: str | Path | Sequence[str | Path], outer: str | Path | Sequence[str | Path]) -> bool:
    """Whether every ROOT file of the sample ``inner`` is one of the sample ``outer`` (paths
    resolved, URLs compared as they are): a "test" sample that is the training sample."""

    def resolved(files: dict[str, str]) -> set[str]:
        return {f if _is_url(f) else str(Path(f).resolve()) for f in files}

    return resolved(sample_files(inner)) <= resolved(sample_files(outer))


def sample_name(path: str | Path | Sequence[str | Path]) -> str:
    """A short name of a sample's path for labels: ``.../top_jets/fileset.json`` and
    ``.../top_jets/`` give ``top_jets``, ``a.root`` gives ``a``, a list ``a+b``."""
    if isinstance(path, list | tuple):
        return "+".join(sample_name(p) for p in path)
    p = Path(str(path))
    if p.name == "fileset.json":
        p = p.parent
    return (p.stem if p.suffix == ".root" else p.name) or str(p)


def _chunk_inputs(
    events: Any, spec: SampleSpec, rep: RepresentationChoice, level: str, scorer: Any = None
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Model inputs, per-item event weights and auxiliary quantities of one chunk.

    The jets and events are chosen by :mod:`coffea_anomaly.selection`, the functions the
    processors and ``score()`` use, quality checks included (the constituents are given).
    With a ``scorer`` (an ``OnnxModel``), the "inputs" are its scores computed by
    :func:`coffea_anomaly.score` on the selected jets, one column per score.
    """
    from ..representations import fatjet_constituents
    from ..representations.registry import build_input

    fatjets = events.FatJet
    constituents = fatjet_constituents(events)
    weight = (
        ak.to_numpy(events.genWeight).astype(np.float64)
        if "genWeight" in events.fields
        else np.ones(len(events))
    )
    # per-event truth (Contract 1): 1 signal, 0 background; -1 when the file has none
    label = (ak.to_numpy(events.truthLabel).astype(np.float64) if "truthLabel" in events.fields
             else np.full(len(events), -1.0))  # fmt: skip
    sel = resolve_selection(spec.selection, level)
    if level == "jet":
        jets, consts, _ = select_jets(fatjets, constituents, sel)
        w = np.repeat(weight, ak.to_numpy(ak.num(jets, axis=1)))
        aux = {"mass": ak.to_numpy(ak.flatten(jets.mass)).astype(np.float64),
               "label": np.repeat(label, ak.to_numpy(ak.num(jets, axis=1)))}  # fmt: skip
    else:
        jets, consts, keep, _ = select_dijets(fatjets, constituents, sel)
        w = weight[ak.to_numpy(keep).astype(bool)]
        aux = {"mjj": ak.to_numpy((jets[:, 0] + jets[:, 1]).mass).astype(np.float64),
               "label": label[ak.to_numpy(keep).astype(bool)]}
    if len(w) == 0:
        return np.zeros((0,)), w, {k: np.zeros(0) for k in aux}
    if scorer is not None:
        return _scores_via_score(jets, consts, scorer, level), w, aux
    x = np.asarray(build_input(rep.kind, rep.config, jets, consts), dtype=np.float32)
    if x.shape[0] != len(w):
        raise InputDataError(
            f"representation {rep.kind!r} returned {x.shape[0]} items for {len(w)} selected"
        )
    return x, w, aux


def _scores_via_score(jets: Any, constituents: Any, scorer: Any, level: str) -> np.ndarray:
    """Scores of the selected jets/events from ``coffea_anomaly.score``: (n_items, n_scores);
    a missing score (None) becomes NaN and is dropped and counted by the caller."""
    from ..inference.score import score

    result = score(jets, scorer, constituents=constituents)
    names = list(scorer.card.score_names)
    cols = [result] if len(names) == 1 and not ak.fields(result) else [result[n] for n in names]
    if level == "jet":
        cols = [ak.flatten(c) for c in cols]
    return np.column_stack([ak.to_numpy(ak.fill_none(c, np.nan)).astype(np.float64) for c in cols])


def load_inputs(
    spec: SampleSpec,
    representation: RepresentationChoice,
    level: str,
    progress: bool | None = None,
    chunk_events: int = CHUNK_EVENTS,
    scorer: Any = None,
) -> Inputs:
    """Read a sample and build the model inputs of its selected jets (or events).

    Files are read in order, in chunks of ``chunk_events``, until ``spec.max_items`` items
    are collected (0: everything). Jets that cannot be scored (non-finite kinematics or
    constituents, no stored constituent: :func:`coffea_anomaly.selection.jet_quality`,
    as in the processors) are dropped by the selection before any input is built, so no
    NaN reaches fastjet; items whose built input is still not finite are dropped and
    counted (``n_nonfinite``).

    Args:
        spec: the sample, its selection, size cap and whether to use ``genWeight``.
        representation: the representation kind and config (as in the model card).
        level: ``"jet"`` (selected fat jets) or ``"event"`` (two leading fat jets).
        progress: show a tqdm bar on stderr (default: when stderr is a terminal).
        chunk_events: events per read.
        scorer: an ``OnnxModel``: ``x`` then holds its scores as :func:`coffea_anomaly.score`
            computes them on the selected jets (one column per score): the number an
            analyst gets in a processor, for checks against the direct path.

    Raises:
        InputDataError: unreadable sample, missing collections, or nothing selected.
    """
    from ..nanoaod import open_events

    if level not in ("jet", "event"):
        raise ConfigError(f"level must be 'jet' or 'event', not {level!r}")
    files = sample_files(spec.path)
    xs: list[np.ndarray] = []
    ws: list[np.ndarray] = []
    auxs: list[dict[str, np.ndarray]] = []
    out = Inputs(x=np.zeros(0, dtype=np.float32), weights=None)
    show = sys.stderr.isatty() if progress is None else progress
    cap = spec.max_items or None
    bar = tqdm(total=cap, desc=f"read {spec.label or sample_name(spec.path)}",
               unit=level, disable=not show, file=sys.stderr)  # fmt: skip
    try:
        for path, tree in files.items():
            out.files.append(path)
            n_entries = _num_entries(path, tree)
            for start in range(0, n_entries, chunk_events):
                stop = min(start + chunk_events, n_entries)
                with warnings.catch_warnings():
                    # coffea's NanoAODSchema warns about cross-references it cannot link
                    # (Tau_jetIdx, ...) in files that lack those collections; harmless here
                    warnings.filterwarnings("ignore", "Missing cross-reference index",
                                            RuntimeWarning)  # fmt: skip
                    events = open_events(path, mode="virtual", entry_start=start,
                                         entry_stop=stop, treepath=tree)  # fmt: skip
                    x, w, aux = _chunk_inputs(events, spec, representation, level, scorer)
                out.n_events += stop - start
                out.n_selected += len(w)
                if len(w):
                    finite = np.isfinite(x.reshape(len(x), -1)).all(axis=1)
                    out.n_nonfinite += int(np.count_nonzero(~finite))
                    xs.append(x[finite])
                    ws.append(w[finite])
                    auxs.append({k: v[finite] for k, v in aux.items()})
                    bar.update(int(finite.sum()))
                if cap is not None and sum(len(a) for a in xs) >= cap:
                    break
            if cap is not None and sum(len(a) for a in xs) >= cap:
                break
    finally:
        bar.close()
    if not xs or sum(len(a) for a in xs) == 0:
        raise InputDataError(
            f"no {level}s selected from {spec.path} ({out.n_events} events read, "
            f"{out.n_selected} selected, {out.n_nonfinite} with non-finite inputs)"
        )
    out.x = np.concatenate(xs)[:cap]
    out.aux = {k: np.concatenate([a[k] for a in auxs])[:cap] for k in auxs[0]}
    weights = np.concatenate(ws)[:cap]
    out.weights = weights if spec.weighted else None
    return out


def _is_url(path: str | Path) -> bool:
    return isinstance(path, str) and "://" in path and not path.startswith("file://")


def _num_entries(path: str, tree: str) -> int:
    """Entries of the TTree or RNTuple ``tree`` in ``path`` (local or remote)."""
    import uproot

    from ..runner.files import OPEN_TIMEOUT_S, configure_remote_timeouts

    configure_remote_timeouts()
    try:
        with uproot.open(path, timeout=OPEN_TIMEOUT_S) as f:
            return int(f[tree].num_entries)
    except Exception as err:  # uproot raises many kinds on broken files
        raise InputDataError(f"cannot read {path}: {type(err).__name__}: {err}") from err
