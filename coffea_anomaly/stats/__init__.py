"""stats stage of coffea-anomaly: the dijet bump hunt on m_jj histograms.

Independent of the models: it works on any m_jj histogram (``hist``, ROOT, arrays), with
optional score axes for selections and categories. Modules, one job each::

    background   dijet function (3/4/5 parameters) and Bernstein polynomials, bin-integrated
    signal       Gaussian (sigma = 3 % of the mass) or histogram template
    likelihood   the binned Poisson cost
    fit          MINUIT fits (MIGRAD + HESSE) with status checks
    newton       compiled vectorised minimiser for scans and pseudo-experiments
    ftest        number of background parameters by F-test or likelihood ratio
    scan         mass scan, q0, local significance
    categories   score cuts and uniformly populated categories
    quantile_regression   score thresholds vs m_jj (VAE-QR): mass-decorrelated selections
    qr_categories         QR selections and categories equally populated at every m_jj
    combine      Fisher and joint-likelihood combinations
    toys         pseudo-experiments, global p-value, Gross-Vitells
    bumphunter   sliding-window cross-check
    io           reading ROOT / hist JSON / hist objects
    pipeline     run_bumphunt
    result, report, plots   the result, bumphunt.json and the PNGs

Public names are imported lazily (numba and iminuit load only when used).
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY: dict[str, str] = {
    "BumpHuntConfig": "config",
    "SignalTemplateConfig": "config",
    "BumpHuntResult": "result",
    "MjjHistogram": "io",
    "read_input": "io",
    "run_bumphunt": "pipeline",
    "write_report": "report",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
