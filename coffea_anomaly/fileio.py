"""Writing output files atomically: the one JSON writer and the one write-then-rename helper.

Every output (JSON, ROOT, PNG, ONNX) is written under a temporary hidden name in the target
folder and renamed when complete, so an interrupted run never leaves a file that looks
finished; the rename is atomic because both names are on the same file system.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["atomic_path", "atomic_write", "json_default", "write_json"]


def _temporary(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary file name next to ``path`` that becomes ``path`` when the block succeeds.

    For writers that want a file name (uproot, matplotlib, onnx). If the block raises, the
    temporary file is removed and ``path`` is untouched.

    Args:
        path: the final file name (its folder must exist).

    Yields:
        the temporary name to write to.
    """
    path = Path(path)
    tmp = _temporary(path)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write(path: str | Path, data: bytes | str) -> Path:
    """Write ``data`` (bytes, or text as UTF-8) to ``path`` through a temporary file and a rename.

    Args:
        path: the final file name (its folder must exist).
        data: the whole content.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.
    """
    path = Path(path)
    with atomic_path(path) as tmp:
        if isinstance(data, bytes):
            tmp.write_bytes(data)
        else:
            tmp.write_text(data, encoding="utf-8")
    return path


def json_default(obj: Any) -> Any:
    """JSON form of numpy scalars and arrays and of paths (``default=`` of :func:`json.dumps`)."""
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def write_json(
    path: str | Path,
    obj: Any,
    *,
    indent: int | None = 2,
    sort_keys: bool = True,
    default: Callable[[Any], Any] = json_default,
) -> Path:
    """Write ``obj`` as JSON (one trailing newline) atomically.

    Args:
        path: the final file name (its folder must exist).
        obj: the content.
        indent: indentation (None: one line).
        sort_keys: sort the keys of every mapping.
        default: converts objects :mod:`json` does not know (numpy and paths by default).

    Returns:
        ``path`` as a :class:`~pathlib.Path`.
    """
    return atomic_write(path, json.dumps(obj, indent=indent, sort_keys=sort_keys, default=default) + "\n")
