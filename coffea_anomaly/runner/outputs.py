"""Write a run's outputs: histograms (ROOT and hist's JSON serialisation) and summary.json.

ROOT layout (readable with uproot or ROOT, without our package)::

    <dataset>/<histogram>               summed over truth labels
    <dataset>/<histogram>__label<k>     one per truth label present (k = -1, 0, 1)

``hists.json`` holds every histogram with all its axes (dataset and label included) in the
UHI serialisation: ``hist.serialization.from_uhi`` reads it back.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import hist
import uproot

from ..fileio import atomic_path, write_json

__all__ = ["load_hists_json", "write_hists"]


def write_hists(hists: dict[str, hist.Hist], out_dir: Path) -> dict[str, Path]:
    """Write ``hists.root`` and ``hists.json`` into ``out_dir``; return their paths."""
    from hist.serialization import to_uhi
    from uhi.io.json import default as uhi_default

    out_dir.mkdir(parents=True, exist_ok=True)
    root_path = out_dir / "hists.root"
    with atomic_path(root_path) as tmp, uproot.recreate(tmp) as f:
        for name, h in sorted(hists.items()):
            for ds in _categories(h, "dataset"):
                hd = h[{"dataset": ds}]
                labels = _categories(hd, "label")
                if labels:
                    f[f"{ds}/{name}"] = hd[{"label": sum}]
                    for lab in labels:
                        part = hd[{"label": hist.loc(lab)}]
                        if part.sum(flow=True).value != 0:
                            f[f"{ds}/{name}__label{lab}"] = part
                else:
                    f[f"{ds}/{name}"] = hd
    json_path = write_json(out_dir / "hists.json", {k: to_uhi(v) for k, v in sorted(hists.items())},
                           indent=None, sort_keys=False, default=uhi_default)
    return {"root": root_path, "json": json_path}


def load_hists_json(path: str | Path) -> dict[str, hist.Hist]:
    """Read ``hists.json`` back into ``hist.Hist`` objects."""
    from hist.serialization import from_uhi
    from uhi.io.json import object_hook

    data = json.loads(Path(path).read_text(), object_hook=object_hook)
    return {k: hist.Hist(from_uhi(v)) for k, v in data.items()}


def _categories(h: hist.Hist, name: str) -> list[Any]:
    if name not in h.axes.name:
        return []
    return list(h.axes[name])
