"""Running processors over filesets: config, file checks, executors, outputs."""

from __future__ import annotations

from .config import EXECUTORS, RunConfig, load_fileset, load_run_config
from .outputs import load_hists_json
from .run import RunResult, build_processor, run_analysis

__all__ = [
    "EXECUTORS",
    "RunConfig",
    "RunResult",
    "build_processor",
    "load_fileset",
    "load_hists_json",
    "load_run_config",
    "run_analysis",
]
