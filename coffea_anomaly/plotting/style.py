"""One plotting style for every report: mplhep's CMS-like style, applied only where we plot.

The style is active inside :func:`style` (or a function decorated with :func:`styled`) and
the caller's ``matplotlib.rcParams`` are restored afterwards. Figures are made with
:class:`matplotlib.figure.Figure` directly, without pyplot's figure manager, so no backend
is selected or switched either: a notebook or GUI session importing coffea-anomaly keeps its
own settings.

Example:
    >>> @styled
    ... def plot_counts(counts, path):
    ...     fig, ax = new_figure()
    ...     ax.stairs(counts)
    ...     label(ax)
    ...     return save(fig, path)
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from ..fileio import atomic_path

__all__ = ["label", "new_figure", "save", "style", "styled"]

P = ParamSpec("P")
R = TypeVar("R")

# keyword arguments of plt.subplots that lay out axes; the others go to the Figure
_LAYOUT = frozenset({"nrows", "ncols", "sharex", "sharey", "squeeze", "width_ratios", "height_ratios",
                     "subplot_kw", "gridspec_kw"})


@contextmanager
def style() -> Iterator[None]:
    """Use the mplhep CMS style inside the block; the previous rcParams come back after it."""
    import matplotlib.style
    import mplhep

    with matplotlib.style.context(mplhep.style.CMS):
        yield


def styled(func: Callable[P, R]) -> Callable[P, R]:
    """Decorator: run a plotting function (figure creation to saving) inside :func:`style`."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with style():
            return func(*args, **kwargs)

    return wrapper


def label(ax: Any, text: str = "", rlabel: str | None = None, data: bool = False) -> None:
    """Experiment-style label: 'coffea-anomaly Simulation <text>' (or '... <text>' for
    ``data=True``) on the left, ``rlabel`` on the right."""
    import mplhep

    mplhep.label.exp_label(exp="coffea-anomaly", text=text, data=data, rlabel=rlabel or "", ax=ax, loc=0)


def new_figure(**kwargs: Any) -> tuple[Any, Any]:
    """A new (figure, axes) in the project style; arguments as for ``plt.subplots``.

    Draw and :func:`save` inside :func:`style` (or a :func:`styled` function) so that what
    is drawn gets the style too.
    """
    from matplotlib.figure import Figure

    layout = {k: kwargs.pop(k) for k in list(kwargs) if k in _LAYOUT}
    with style():
        fig = Figure(**kwargs)
        return fig, fig.subplots(**layout)


def save(fig: Any, path: str | Path) -> Path:
    """Save a figure (format from the suffix, PNG by default), written then renamed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with style(), atomic_path(path) as tmp:
        fig.savefig(tmp, format=path.suffix.lstrip(".") or "png", dpi=100, bbox_inches="tight")
    return path
