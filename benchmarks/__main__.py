"""``python -m benchmarks [--list] [NAME [options...]]``: list or run benchmarks.

Benchmarks measure single-core throughput, so BLAS/OpenMP thread pools are limited to one
thread before numpy is imported.
"""

from __future__ import annotations

import os
import sys

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from . import available, load  # noqa: E402


def main(argv: list[str]) -> int:
    names = available()
    if argv[:1] in (["--list"], ["-l"]):
        for name in names:
            doc = (load(name).__doc__ or "").strip().splitlines()
            print(f"{name:20s} {doc[0] if doc else ''}")
        return 0
    if argv[:1] in (["--help"], ["-h"]):
        print(__doc__.strip())
        print("benchmarks:", ", ".join(names))
        return 0
    if argv and not argv[0].startswith("-"):
        name, rest = argv[0], argv[1:]
        if name not in names:
            print(f"unknown benchmark {name!r}; available: {', '.join(names)}", file=sys.stderr)
            return 2
        return int(load(name).main(rest))
    status = 0
    for name in names:
        print(f"== {name} ==")
        status |= int(load(name).main(argv))
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
