"""Write a run's outputs: histograms (ROOT and hist's JSON serialisation) and summary.json.

ROOT layout (readable with uproot or ROOT, without our package)::

    <dataset>/<histogram>               summed over truth labels
    <dataset>/<histogram>__label<k>     one per truth label present (k = -1, 0, 1)

``hists.json`` holds every histogram with all its axes (dataset and label included) in the
UHI serialisation: ``hist.serialization.from_uhi`` reads it back.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import hist
import numpy as np
import uproot

__all__ = ["load_hists_json", "write_hists", "write_json"]


def write_json(obj: Any, path: Path) -> Path:
    """Write JSON (write to a temporary name, then rename)."""
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n")
    os.replace(tmp, path)
    return path


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def write_hists(hists: dict[str, hist.Hist], out_dir: Path) -> dict[str, Path]:
    """Write ``hists.root`` and ``hists.json`` into ``out_dir``; return their paths."""
    from hist.serialization import to_uhi
    from uhi.io.json import default as uhi_default

    out_dir.mkdir(parents=True, exist_ok=True)
    root_path = out_dir / "hists.root"
    tmp = out_dir / "hists.root.part"
    with uproot.recreate(tmp) as f:
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
    os.replace(tmp, root_path)
    json_path = out_dir / "hists.json"
    tmpj = out_dir / "hists.json.part"
    tmpj.write_text(json.dumps({k: to_uhi(v) for k, v in sorted(hists.items())}, default=uhi_default))
    os.replace(tmpj, json_path)
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
