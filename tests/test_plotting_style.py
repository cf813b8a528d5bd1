"""The report style is applied inside a context: the caller's matplotlib settings stay as they were."""

from __future__ import annotations

import warnings
from pathlib import Path

import matplotlib as mpl
import mplhep
import numpy as np
import pytest

from coffea_anomaly.plotting.style import label, new_figure, save, style, styled


def _snapshot() -> dict[str, object]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # reading deprecated keys warns
        return {k: repr(v) for k, v in mpl.rcParams.items()}


@styled
def _plot(path: Path) -> tuple[Path, float]:
    fig, (ax, pull) = new_figure(nrows=2, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    ax.stairs(np.array([3.0, 5.0, 2.0]), np.array([0.0, 1.0, 2.0, 3.0]), label="x")
    pull.plot([0, 3], [0, 0])
    ax.legend()
    label(ax, text="test")
    return save(fig, path), float(mpl.rcParams["font.size"])


def test_making_a_plot_leaves_rcparams_unchanged(tmp_path: Path) -> None:
    before = _snapshot()
    path, font_size_inside = _plot(tmp_path / "p.png")
    assert path.read_bytes().startswith(b"\x89PNG")
    assert [p.name for p in tmp_path.iterdir()] == ["p.png"]
    assert _snapshot() == before
    assert font_size_inside == pytest.approx(mplhep.style.CMS["font.size"])  # styled while drawing


def test_style_is_active_only_inside_the_block() -> None:
    before = _snapshot()
    with style():
        assert mpl.rcParams["font.size"] == pytest.approx(mplhep.style.CMS["font.size"])
    assert _snapshot() == before
