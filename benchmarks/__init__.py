"""Speed benchmarks: ratios against baselines run in the same process (never in tests).

Run ``python -m benchmarks`` to run them all, ``python -m benchmarks --list`` to list
them, or ``python -m benchmarks representations [options]`` to run one. Every benchmark
is a module ``bench_<name>.py`` here with a ``main(argv: list[str]) -> int``.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

__all__ = ["available", "load"]


def available() -> list[str]:
    """Names of the benchmarks (modules ``bench_<name>`` in this package)."""
    return sorted(
        m.name[len("bench_") :]
        for m in pkgutil.iter_modules(__path__)
        if m.name.startswith("bench_")
    )


def load(name: str) -> ModuleType:
    """Import the benchmark module ``bench_<name>``."""
    return importlib.import_module(f"{__name__}.bench_{name}")
