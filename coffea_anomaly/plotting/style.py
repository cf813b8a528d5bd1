"""One plotting style for every report: mplhep's CMS-like style, non-interactive backend."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..fileio import atomic_path

__all__ = ["new_figure", "save", "use_style"]


def use_style() -> None:
    """Select the Agg backend and the mplhep CMS style (idempotent)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import mplhep

    mplhep.style.use("CMS")


def label(ax: Any, text: str = "", rlabel: str | None = None, data: bool = False) -> None:
    """Experiment-style label: 'coffea-anomaly Simulation <text>' (or '... <text>' for
    ``data=True``) on the left, ``rlabel`` on the right."""
    import mplhep

    mplhep.label.exp_label(exp="coffea-anomaly", text=text, data=data, rlabel=rlabel or "", ax=ax, loc=0)


def new_figure(**kwargs: Any) -> tuple[Any, Any]:
    """A new (figure, axes) in the project style."""
    use_style()
    import matplotlib.pyplot as plt

    return plt.subplots(**kwargs)


def save(fig: Any, path: str | Path) -> Path:
    """Save a figure as PNG (write, then rename) and close it."""
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=path.suffix.lstrip(".") or "png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path
