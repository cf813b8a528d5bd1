"""FastJet's once-per-process banner goes to /dev/null, not into the user's output.

FastJet writes a 13-line banner to the C++ standard output on the first clustering of every
process (the main one, every Dask or futures worker, every generation worker).
``ClusterSequence.print_banner()`` prints it only once per process, so calling it once with
file descriptor 1 pointed at /dev/null silences it for the rest of the process. Every code
path that clusters calls :func:`silence_fastjet_banner` first; it is cheap after the first call.
"""

from __future__ import annotations

import contextlib
import os
import sys

__all__ = ["silence_fastjet_banner"]

_SILENCED = False


def silence_fastjet_banner() -> None:
    """Print FastJet's banner into /dev/null once in this process (no-op without fastjet)."""
    global _SILENCED
    if _SILENCED:
        return
    _SILENCED = True
    try:
        from fastjet import _swig
    except ImportError:
        return
    with contextlib.suppress(OSError, ValueError):
        sys.stdout.flush()
    saved = os.dup(1)
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        _swig.ClusterSequence.print_banner()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(null)
