"""The layers hold (DESIGN.md; issue 17): Qt only in ui/ (and the entry points that start it), and no
import circle between modules. Read from every module's source with `ast`. Imports inside functions
count too: a lazy import hides a circle from Python, not from a reader."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "perfectcare_desktop"
NO_QT = ("core", "crypto", "store", "sync", "export")  # what runs without a display: CLI, workers, tests
# Known, to be undone by issue 17 part 1 (a thin session): core/session.py and core/store.py import each
# other (store lazily). Listed so that a new circle fails the build while this one is taken apart.
KNOWN_CIRCLES: set[frozenset[str]] = {frozenset({"core.session", "core.store"})}


def modules() -> dict[str, Path]:
    return {".".join(p.relative_to(PACKAGE).with_suffix("").parts).removesuffix(".__init__"): p
            for p in PACKAGE.rglob("*.py")}  # fmt: skip


def imports(name: str, path: Path) -> set[str]:
    """Modules `name` imports anywhere in it: absolute names ("PySide6.QtCore") and package modules
    ("core.store")."""
    nodes = list(ast.walk(ast.parse(path.read_text(encoding="utf-8"))))
    package = name.split(".")[:-1] if path.name != "__init__.py" else name.split(".")
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found |= {a.name.removeprefix("perfectcare_desktop.") for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1] if node.level > 1 else package
                stem = ".".join([*base, *([node.module] if node.module else [])])
                found.add(stem)
                found |= {f"{stem}.{a.name}" if stem else a.name for a in node.names}
            elif node.module:
                found.add(node.module.removeprefix("perfectcare_desktop."))
    return found


def test_no_qt_outside_the_user_interface() -> None:
    offenders = sorted(
        f"{name} imports {imp}"
        for name, path in modules().items()
        if name.split(".")[0] in NO_QT
        for imp in imports(name, path)
        if imp.split(".")[0] in ("PySide6", "shiboken6")
    )
    assert offenders == []


def circles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """Strongly connected groups of two or more modules (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.add(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(frozenset(group))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_no_import_circle_between_modules() -> None:
    mods = modules()
    graph = {name: {i for i in imports(name, path) if i in mods and i != name}
             for name, path in mods.items()}  # fmt: skip
    # A package's __init__ importing its own modules is how a package is put together, not a circle.
    graph = {n: {i for i in deps if not n.startswith(i + ".")} for n, deps in graph.items()}
    new = [sorted(c) for c in circles(graph) if c not in KNOWN_CIRCLES]
    assert new == []


def test_the_checks_find_what_they_look_for() -> None:
    """Each check run on a made-up graph and source: a test that cannot fail is no test."""
    assert circles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [frozenset({"a", "b"})]
    assert circles({"a": {"b"}, "b": set()}) == []
    assert "PySide6.QtCore" in imports("core.x", PACKAGE / "ui" / "operation.py")
