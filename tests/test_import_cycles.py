"""No import cycles among coffea_anomaly modules.

Only module-level imports count (what runs when a module is imported): imports inside
functions and under ``if TYPE_CHECKING:`` are ignored. The graph is read from the source
with ``ast``, so nothing is imported.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "coffea_anomaly"
# source folder -> dotted package it is installed as (see package-dir in pyproject.toml)
SOURCES = {ROOT / "coffea_anomaly": PACKAGE, ROOT / "processors": f"{PACKAGE}.processors"}


def _modules() -> dict[str, tuple[Path, bool]]:
    """Dotted module name -> (file, is_package)."""
    found: dict[str, tuple[Path, bool]] = {}
    for folder, dotted in SOURCES.items():
        for path in folder.rglob("*.py"):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            is_package = parts[-1] == "__init__"
            if is_package:
                parts = parts[:-1]
            found[".".join([dotted, *parts])] = (path, is_package)
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _module_level_imports(body: list[ast.stmt]) -> Iterator[ast.Import | ast.ImportFrom]:
    """Import statements executed at import time: not in functions, not under TYPE_CHECKING."""
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, ast.If):
            if not _is_type_checking(node.test):
                yield from _module_level_imports(node.body)
            yield from _module_level_imports(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody, *(h.body for h in node.handlers)):
                yield from _module_level_imports(block)
        elif isinstance(node, (ast.With, ast.ClassDef)):
            yield from _module_level_imports(node.body)


def _targets(name: str, is_package: bool, node: ast.Import | ast.ImportFrom, known: set[str]) -> set[str]:
    """coffea_anomaly modules one import statement loads."""
    if isinstance(node, ast.Import):
        return {a.name for a in node.names if a.name in known}
    if node.level:
        base = name.split(".") if is_package else name.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        module = ".".join(base + ([node.module] if node.module else []))
    else:
        module = node.module or ""
    out = set()
    for alias in node.names:
        sub = f"{module}.{alias.name}"
        out.add(sub if sub in known else module)
    return out & known


def import_graph() -> dict[str, set[str]]:
    """Module -> coffea_anomaly modules it imports at module level."""
    modules = _modules()
    known = set(modules)
    graph: dict[str, set[str]] = {}
    for name, (path, is_package) in modules.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        edges: set[str] = set()
        for node in _module_level_imports(tree.body):
            edges |= _targets(name, is_package, node, known)
        graph[name] = edges - {name}
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return cycles


def test_graph_sees_the_package() -> None:
    graph = import_graph()
    assert "coffea_anomaly.stats.report" in graph
    assert "coffea_anomaly.processors" in graph
    assert "coffea_anomaly.stats.combine" in graph["coffea_anomaly.stats.report"]


def test_cycle_finder_finds_a_cycle() -> None:
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles() -> None:
    cycles = find_cycles(import_graph())
    assert not cycles, "import cycles among coffea_anomaly modules: " + "; ".join(" <-> ".join(c) for c in cycles)


def test_bumphunt_result_is_plain_data() -> None:
    """``stats.report`` writes results; ``stats.result`` never reaches back, not even lazily."""
    tree = ast.parse((ROOT / "coffea_anomaly" / "stats" / "result.py").read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert "report" not in imported and "coffea_anomaly.stats.report" not in imported
