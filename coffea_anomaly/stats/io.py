"""Reading m_jj histograms: a TH1 in a ROOT file, a run's ``hists.root``/``hists.json``,
any ``hist``/UHI histogram, or plain arrays.

Everything becomes an :class:`MjjHistogram`: counts over m_jj (flow bins dropped) and
zero, one or two score axes (flow bins kept, as +-inf edges: the most anomalous events
often sit beyond the last edge). Other categorical axes are handled by name: ``dataset``
selects (or sums) datasets, every other category axis (e.g. the truth ``label``) is summed.

Layout of a ``coffea-anomaly run`` output that is understood (see docs/BUMPHUNT.md):
``hists.root`` with ``<dataset>/<name>`` (TH1/TH2/TH3: m_jj x score [x score2]) and
``hists.json`` with ``{name: UHI histogram}`` holding ``dataset`` and ``label`` axes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputDataError

__all__ = ["MjjHistogram", "as_mjj_histogram", "read_input", "read_template"]

_MJJ_NAMES = ("mjj", "m_jj", "mjj_gev", "m_{jj}")
_GENERIC = ("xaxis", "yaxis", "zaxis", "")


@dataclass(frozen=True, eq=False)
class MjjHistogram:
    """An m_jj histogram with optional score axes.

    Attributes:
        counts: ``(n_mjj[, n_s1[, n_s2]])`` bin contents.
        mjj_edges: m_jj bin edges (GeV).
        score_edges: edges of each score axis (with +-inf for flow bins).
        score_names: names of the score axes.
        unit_weights: whether the contents are plain event counts (else sums of weights).
        source: where it came from (for the report).
    """

    counts: np.ndarray
    mjj_edges: np.ndarray
    score_edges: tuple[np.ndarray, ...] = ()
    score_names: tuple[str, ...] = ()
    unit_weights: bool = True
    source: str = "arrays"

    def __post_init__(self) -> None:
        counts = np.asarray(self.counts, dtype=float)
        edges = np.asarray(self.mjj_edges, dtype=float)
        if counts.ndim < 1 or counts.ndim > 3 or counts.shape[0] != edges.size - 1:
            raise InputDataError(
                f"{self.source}: counts of shape {counts.shape} do not match {edges.size - 1} m_jj bins"
            )
        if np.any(np.diff(edges) <= 0):
            raise InputDataError(f"{self.source}: m_jj edges must increase")
        if not np.all(np.isfinite(counts)) or np.any(counts < 0):
            raise InputDataError(f"{self.source}: counts must be finite and non-negative")
        if counts.sum() <= 0:
            raise InputDataError(f"{self.source}: the histogram is empty (no entries)")
        object.__setattr__(self, "counts", counts)
        object.__setattr__(self, "mjj_edges", edges)
        object.__setattr__(self, "score_edges", tuple(np.asarray(e, dtype=float) for e in self.score_edges))
        if not self.score_names:
            object.__setattr__(self, "score_names", _default_names(counts.ndim - 1))

    @property
    def mjj_counts(self) -> np.ndarray:
        """Counts summed over the score axes."""
        return self.counts.sum(axis=tuple(range(1, self.counts.ndim)))


def _default_names(n: int) -> tuple[str, ...]:
    return ("score",) if n == 1 else tuple(f"score{i + 1}" for i in range(n))


def _axis_name(axis: Any, position: int, n_scores: int) -> str:
    name = str(getattr(axis, "name", "") or "")
    if name not in _GENERIC:
        return name
    label = str(getattr(axis, "label", "") or "")
    m = re.match(r"^\s*([A-Za-z_]\w*)", label)
    if m and m.group(1).lower() not in ("m", "mjj"):
        return m.group(1)
    return _default_names(n_scores)[position]


def _is_mjj(axis: Any) -> bool:
    name = str(getattr(axis, "name", "") or "").lower()
    label = str(getattr(axis, "label", "") or "").lower().replace("$", "").replace(" ", "")
    return name in _MJJ_NAMES or any(label.startswith(t) for t in ("m_{jj}", "mjj", "m_jj"))


def _select_categories(h: Any, dataset: Sequence[str] | str | None, what: str) -> Any:
    import hist

    if dataset and "dataset" not in [a.name for a in h.axes]:
        raise InputDataError(f"{what} has no dataset axis, but dataset {dataset!r} was asked for")

    for axis in list(h.axes):
        if not isinstance(axis, (hist.axis.StrCategory, hist.axis.IntCategory)):
            continue
        name = axis.name
        if name != "dataset":
            h = h[{name: sum}]
            continue
        present = [str(v) for v in axis]
        wanted = [dataset] if isinstance(dataset, str) else list(dataset or [])
        if wanted == ["all"]:
            wanted = present
        if not wanted:
            if len(present) != 1:
                raise InputDataError(
                    f"{what} holds several datasets ({', '.join(present) or 'none'}); choose with --dataset NAME"
                )
            wanted = present
        missing = [d for d in wanted if d not in present]
        if missing:
            raise InputDataError(f"dataset(s) {', '.join(missing)} not in {what} (found: {', '.join(present)})")
        parts = [h[{name: hist.loc(d)}] for d in wanted]
        h = parts[0]
        for part in parts[1:]:
            h = h + part
    return h


def _from_hist(h: Any, dataset: Sequence[str] | str | None, source: str) -> MjjHistogram:
    import hist

    if hasattr(h, "to_hist") and not isinstance(h, hist.Hist):
        h = h.to_hist()
    if not isinstance(h, hist.Hist):
        h = hist.Hist(h)
    h = _select_categories(h, dataset, source)
    axes = list(h.axes)
    if not axes:
        raise InputDataError(f"{source}: no numeric axis to use as m_jj")
    if len(axes) > 3:
        raise InputDataError(f"{source}: expected m_jj and at most two score axes, got {len(axes)} axes")
    mjj_pos = next((i for i, a in enumerate(axes) if _is_mjj(a)), 0)
    order = [mjj_pos] + [i for i in range(len(axes)) if i != mjj_pos]
    values = np.asarray(h.values(flow=True), dtype=float)
    variances = h.variances(flow=True)
    values = np.transpose(values, order)
    axes = [axes[i] for i in order]
    mjj = axes[0]
    lo = 1 if mjj.traits.underflow else 0
    values = values[lo : lo + mjj.size]
    score_edges = []
    for axis in axes[1:]:
        e = np.asarray(axis.edges, dtype=float)
        if axis.traits.underflow:
            e = np.concatenate([[-np.inf], e])
        if axis.traits.overflow:
            e = np.concatenate([e, [np.inf]])
        score_edges.append(e)
    names = tuple(_axis_name(a, i, len(axes) - 1) for i, a in enumerate(axes[1:]))
    if variances is None:
        unit = bool(np.all(values == np.round(values)))
    else:
        var = np.transpose(np.asarray(variances, dtype=float), order)[lo : lo + mjj.size]
        unit = bool(np.allclose(var, values))
    return MjjHistogram(values, np.asarray(mjj.edges, dtype=float), tuple(score_edges), names, unit, source)


def _root_hists(path: Path) -> tuple[Any, dict[str, str]]:
    import uproot

    try:
        f = uproot.open(path)
    except FileNotFoundError as err:
        raise InputDataError(f"cannot open {path}: no such file") from err
    except Exception as err:  # uproot raises many kinds for non-ROOT input
        reason = " ".join(str(err).split()) or type(err).__name__
        raise InputDataError(f"cannot read {path} as a ROOT file ({reason})") from err
    found = {}
    for key, cls in f.classnames().items():
        if re.match(r"^TH[123][DFISC]?$", cls):
            found[key.rsplit(";", 1)[0]] = cls
    return f, found


def _read_root(path: Path, name: str | None, dataset: Sequence[str] | str | None) -> MjjHistogram:
    f, found = _root_hists(path)
    if not found:
        raise InputDataError(f"no TH1/TH2/TH3 histogram in {path}")
    plain = {k: v for k, v in found.items() if "__label" not in k}
    if name is None:
        th1 = [k for k, c in plain.items() if c.startswith("TH1")]
        if len(plain) == 1:
            name = next(iter(plain))
        elif len(th1) == 1 and not dataset:
            name = th1[0]
        else:
            raise InputDataError(
                f"{path} holds several histograms ({', '.join(sorted(plain))}); choose one with --hist NAME"
            )
    datasets = [dataset] if isinstance(dataset, str) else list(dataset or [])
    keys = [k for k in plain if k == name]
    if not keys:
        keys = [k for k in plain if k.endswith("/" + name)]
        if datasets and datasets != ["all"]:
            keys = [k for k in keys if k.rsplit("/", 1)[0] in datasets]
            missing = [d for d in datasets if f"{d}/{name}" not in keys]
            if missing:
                raise InputDataError(f"no histogram {name} for dataset(s) {', '.join(missing)} in {path}")
        elif len(keys) > 1 and datasets != ["all"]:
            owners = ", ".join(k.rsplit("/", 1)[0] for k in keys)
            raise InputDataError(f"{name} exists for several datasets ({owners}) in {path}; choose with --dataset NAME")
    if not keys:
        raise InputDataError(f"no histogram named {name} in {path} (found: {', '.join(sorted(plain))})")
    parts = [_from_hist(f[k], None, f"{path}:{k}") for k in keys]
    total = parts[0]
    if len(parts) > 1:
        counts = sum(p.counts for p in parts[1:]) + total.counts
        total = MjjHistogram(counts, total.mjj_edges, total.score_edges, total.score_names,
                             all(p.unit_weights for p in parts), f"{path}:{name} ({len(parts)} datasets)")
    return total


def _read_json(path: Path, name: str | None, dataset: Sequence[str] | str | None) -> MjjHistogram:
    import hist
    from hist.serialization import from_uhi
    from uhi.io.json import object_hook

    try:
        data = json.loads(path.read_text(), object_hook=object_hook)
    except (OSError, ValueError) as err:
        raise InputDataError(f"cannot read {path} as hist JSON ({err})") from err
    if not isinstance(data, dict) or not data:
        raise InputDataError(f"{path} holds no histograms")
    if "uhi_schema" in data:
        data = {path.stem: data}
    if name is None:
        if len(data) != 1:
            raise InputDataError(f"{path} holds several histograms ({', '.join(sorted(data))}); choose one with --hist NAME")
        name = next(iter(data))
    if name not in data:
        raise InputDataError(f"no histogram named {name} in {path} (found: {', '.join(sorted(data))})")
    try:
        h = hist.Hist(from_uhi(data[name]))
    except Exception as err:
        raise InputDataError(f"{path}:{name} is not a valid UHI histogram ({err})") from err
    return _from_hist(h, dataset, f"{path}:{name}")


def read_input(path: str | Path, hist: str | None = None, dataset: Sequence[str] | str | None = None) -> MjjHistogram:
    """Read an m_jj histogram from a ROOT file, a hist JSON file or a run's output folder.

    Args:
        path: ``.root`` file, ``.json`` file, or a folder holding ``hists.root`` / ``hists.json``.
        hist: histogram name (optional when the file holds a single histogram).
        dataset: dataset name(s) to use (summed), or ``"all"``.

    Raises:
        InputDataError: with one line naming what is missing or wrong.
    """
    p = Path(path)
    if p.is_dir():
        for cand in ("hists.root", "hists.json"):
            if (p / cand).exists():
                p = p / cand
                break
        else:
            raise InputDataError(f"{p} is a folder without hists.root or hists.json")
    if not p.exists():
        raise InputDataError(f"cannot open {p}: no such file")
    if p.suffix.lower() == ".json":
        return _read_json(p, hist, dataset)
    return _read_root(p, hist, dataset)


def read_template(path: str | Path, hist: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Read a 1-D signal template (edges, counts) from a ROOT or hist JSON file."""
    h = read_input(path, hist)
    return h.mjj_edges, h.mjj_counts


def as_mjj_histogram(obj: Any, dataset: Sequence[str] | str | None = None) -> MjjHistogram:
    """Accept an :class:`MjjHistogram`, a ``hist``/UHI/uproot histogram, or arrays.

    Arrays are ``(counts, mjj_edges, *score_edges)``; score edges must include the flow
    bins if the counts do.
    """
    if isinstance(obj, MjjHistogram):
        return obj
    if isinstance(obj, (str, Path)):
        return read_input(obj, dataset=dataset)
    if isinstance(obj, tuple):
        counts, edges, *scores = obj
        return MjjHistogram(np.asarray(counts, dtype=float), np.asarray(edges, dtype=float), tuple(scores))
    if hasattr(obj, "axes") or hasattr(obj, "to_hist"):
        return _from_hist(obj, dataset, type(obj).__name__)
    raise InputDataError(f"cannot use a {type(obj).__name__} as an m_jj histogram")
