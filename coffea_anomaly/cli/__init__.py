"""Command-line interface: ``coffea-anomaly SUBCOMMAND``; one module per subcommand."""

from __future__ import annotations

__all__ = ["main"]


def main() -> None:
    from .main import main as _main

    _main()
