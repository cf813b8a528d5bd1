"""Small building blocks shared by several families (importing this needs torch)."""

from __future__ import annotations

from typing import Any

from .._torch import require_torch

torch = require_torch()

__all__ = ["mlp"]


def mlp(widths: list[int], activation: type = torch.nn.SELU) -> Any:
    """Dense layers ``widths[0] -> ... -> widths[-1]`` with ``activation`` between them and a
    linear last layer."""
    layers: list[Any] = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(torch.nn.Linear(a, b))
        if i < len(widths) - 2:
            layers.append(activation())
    return torch.nn.Sequential(*layers)
