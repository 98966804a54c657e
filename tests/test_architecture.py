"""The layers hold (DESIGN.md; issue 17): Qt only in ui/ (and the entry points that start it), and no
import circle between modules, and no private member of one module's class used from another module.
Read from every module's source with `ast`. Imports inside functions count too: a lazy import hides a
circle from Python, not from a reader. Imports under `if TYPE_CHECKING:` do not: they name a type for
an annotation (a manager's `session: Session`), and nothing runs them."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "perfectcare_desktop"
NO_QT = ("core", "crypto", "store", "sync", "export")  # what runs without a display: CLI, workers, tests


def modules() -> dict[str, Path]:
    return {".".join(p.relative_to(PACKAGE).with_suffix("").parts).removesuffix(".__init__"): p
            for p in PACKAGE.rglob("*.py")}  # fmt: skip


def runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node except those under `if TYPE_CHECKING:`."""
    found: list[ast.AST] = []
    todo = [tree]
    while todo:
        node = todo.pop()
        found.append(node)
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and ast.unparse(child.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING"):
                todo.extend(child.orelse)
                continue
            todo.append(child)
    return found


def imports(name: str, path: Path) -> set[str]:
    """Modules `name` imports anywhere in it: absolute names ("PySide6.QtCore") and package modules
    ("core.store")."""
    nodes = runtime_nodes(ast.parse(path.read_text(encoding="utf-8")))
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
    assert [sorted(c) for c in circles(graph)] == []


def private_uses(sources: dict[str, str]) -> list[str]:
    """`x._name` in one module where `_name` is a method or attribute defined only in another module's
    classes (and `x` is not self/cls): one module reaching into another's internals."""
    defined: dict[str, set[str]] = {}
    trees = {name: ast.parse(text) for name, text in sources.items()}
    for name, tree in trees.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                for item in ast.walk(node):
                    if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and item.name.startswith("_"):
                        defined.setdefault(item.name, set()).add(name)
                    elif (isinstance(item, ast.Attribute) and isinstance(item.ctx, ast.Store)
                          and isinstance(item.value, ast.Name) and item.value.id == "self"):  # fmt: skip
                        defined.setdefault(item.attr, set()).add(name)
    found = []
    for name, tree in trees.items():
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
                    and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
                    and node.attr in defined and name not in defined[node.attr]):  # fmt: skip
                found.append(f"{name} uses {ast.unparse(node)} (defined in {', '.join(sorted(defined[node.attr]))})")
    return sorted(found)


def test_no_private_member_used_from_another_module() -> None:
    sources = {name: path.read_text(encoding="utf-8") for name, path in modules().items()}
    assert private_uses(sources) == []


def test_the_checks_find_what_they_look_for() -> None:
    """Each check run on a made-up graph and source: a test that cannot fail is no test."""
    assert circles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [frozenset({"a", "b"})]
    assert circles({"a": {"b"}, "b": set()}) == []
    assert "PySide6.QtCore" in imports("core.x", PACKAGE / "ui" / "operation.py")
    assert runtime_nodes(ast.parse("if TYPE_CHECKING:\n    import a\nimport b")) != []
    assert [n.names[0].name for n in runtime_nodes(ast.parse("if TYPE_CHECKING:\n    import a\nimport b"))
            if isinstance(n, ast.Import)] == ["b"]  # fmt: skip
    inside = {"a": "class A:\n    def _f(self): self._g = 1\n", "b": "def h(x): return x._f() + x._g\n",
              "c": "def k(self): return self._f()\n"}  # fmt: skip
    assert private_uses(inside) == ["b uses x._f (defined in a)", "b uses x._g (defined in a)"]
