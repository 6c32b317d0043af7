"""The house rules of ``vis4d/``, checked on the source: layers, no import circle, sizes (see docs/architecture.md).

* Imports run one way, from the command line down to the shared types:
  ``engine`` -> ``eval`` / ``vis`` -> ``data`` / ``model`` -> ``config`` ->
  ``common``. ``model`` and ``data`` do not know each other, ``eval`` and
  ``vis`` know no model and no engine, ``config`` knows only ``common``'s
  errors, ``common`` nothing.
* No import circle between modules (function-level imports included).
* No file over 400 lines and no function over 80 lines, unless its docstring
  says why (a line starting with ``Long because``).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "vis4d"
MAX_FILE_LINES = 400
MAX_FUNCTION_LINES = 80
REASON = "Long because"

# Which top-level parts of vis4d a part may import (besides itself).
ALLOWED = {
    "common": set(),
    "config": {"common"},
    "model": {"common", "config"},
    "data": {"common", "config"},
    "eval": {"common", "config", "data"},
    "vis": {"common", "config", "data", "eval"},
    "engine": {"common", "config", "data", "model", "eval", "vis"},
    "cli": {"engine", "eval", "data", "vis", "model", "common"},
    "__main__": {"cli"},
    "__init__": {"engine"},  # ``from vis4d import Tracker``, imported lazily
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _sources() -> dict[str, ast.Module]:
    return {_module_name(p): ast.parse(p.read_text(), str(p)) for p in sorted(PACKAGE.rglob("*.py"))}


def _imports(tree: ast.Module, modules: set[str]) -> set[str]:
    """vis4d modules a module imports anywhere in it (``from pkg import name`` counts ``pkg.name`` if a module)."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("vis4d")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("vis4d"):
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in modules}
    return found & modules


def _part(module: str) -> str:
    return module.split(".")[1] if "." in module else "__init__"


def test_layers_import_downward_only() -> None:
    sources = _sources()
    modules = set(sources)
    wrong = []
    for module, tree in sources.items():
        part = _part(module)
        for imported in _imports(tree, modules):
            target = _part(imported)
            if target != part and target != "__init__" and target not in ALLOWED.get(part, set()):
                wrong.append(f"{module} -> {imported}")
    assert not wrong, "imports against the layers:\n" + "\n".join(wrong)


def test_no_import_circle() -> None:
    sources = _sources()
    modules = set(sources)
    graph = {m: _imports(tree, modules) - {m} for m, tree in sources.items()}
    # A package's __init__ that re-exports its children is not a circle with them.
    graph = {m: {t for t in targets if not m.startswith(t + ".")} for m, targets in graph.items()}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for module in sorted(graph):
        if module not in state:
            cycle = visit(module)
            assert cycle is None, "import circle: " + " -> ".join(cycle)


def test_files_and_functions_stay_small_or_say_why() -> None:
    too_long = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text())
        lines = path.read_text().count("\n")
        if lines > MAX_FILE_LINES and REASON not in (ast.get_docstring(tree) or ""):
            too_long.append(f"{path.relative_to(ROOT)}: {lines} lines")
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES and REASON not in (ast.get_docstring(node) or ""):
                    too_long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}: {length} lines")
    assert not too_long, "over the size limits without a stated reason:\n" + "\n".join(too_long)
