"""No module of ``shared/`` (or of ``dev/``) imports a module that imports it back, directly or
through others.

Every import counts, at module level or inside a function (a lazy import is still a dependency);
only ``if TYPE_CHECKING:`` blocks, which never run, are left out. And no module of ``shared/``
imports the dev-only package (``dev/ticket_enhancer_dev``), but ``python -m ticket_enhancer`` when run.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO / "shared"
DEV = REPO / "dev"  # the dev-only package: the CLI, the local stack, the vendor sandbox


def _modules(root: Path = SHARED) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in root.rglob("*.py"):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    class Visitor(ast.NodeVisitor):
        def visit_If(self, node: ast.If) -> None:
            if _is_type_checking(node.test):
                for child in node.orelse:
                    self.visit(child)
                return
            self.generic_visit(node)

        def visit_Import(self, node: ast.Import) -> None:
            found.update(alias.name for alias in node.names)

        def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            submodules = {f"{module}.{alias.name}" for alias in node.names} & set(known)
            # `from package import submodule` depends on the submodule, not the package's __init__.
            if len(submodules) < len(node.names):
                found.add(module)
            found.update(submodules)

    Visitor().visit(ast.parse(path.read_text(encoding="utf-8")))
    return {module for module in found if module in known and module != name}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative enough here)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def test_no_import_cycles_in_shared() -> None:
    known = _modules()
    graph = {name: _imports(name, path, known) for name, path in known.items()}
    assert _cycles(graph) == []


def test_no_import_cycles_in_dev() -> None:
    """The dev package was checked with shared/ while it lived there; it still is, on its own."""
    known = _modules(DEV)
    assert "ticket_enhancer_dev.local.stack" in known
    graph = {name: _imports(name, path, known) for name, path in known.items()}
    assert _cycles(graph) == []


def test_the_checker_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


# -- the dev-only package ----------------------------------------------------------------------------
DEV_PACKAGE = "ticket_enhancer_dev"  # dev/: the CLI, the local stack, the vendor sandbox
LAZY_ENTRY = "ticket_enhancer.__main__"  # `python -m ticket_enhancer`: imports the CLI inside main()


@dataclass(frozen=True)
class DevUse:
    line: int
    kind: str  # "import", or "string": the package named in code (an import_module argument, say)
    at_import: bool  # runs when the module is imported (not inside a function)


def _names_dev(value: str) -> bool:
    return value == DEV_PACKAGE or value.startswith(f"{DEV_PACKAGE}.")


def _dev_uses(source: str) -> list[DevUse]:
    """Each import of the dev package, and each string naming it outside docstrings, in ``source``
    (``if TYPE_CHECKING:`` blocks count too: the layer's package does not name it at all)."""
    uses: list[DevUse] = []
    docstrings: set[int] = set()

    class Visitor(ast.NodeVisitor):
        depth = 0  # functions around the node

        def visit_scope(
            self, node: ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef
        ) -> None:
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.add(id(first.value))
            inner = isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            self.depth += inner
            self.generic_visit(node)
            self.depth -= inner

        visit_Module = visit_ClassDef = visit_FunctionDef = visit_AsyncFunctionDef = visit_scope

        def add(self, node: ast.stmt | ast.expr, kind: str) -> None:
            uses.append(DevUse(node.lineno, kind, at_import=self.depth == 0))

        def visit_Import(self, node: ast.Import) -> None:
            if any(_names_dev(alias.name) for alias in node.names):
                self.add(node, "import")

        def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
            if not node.level and _names_dev(node.module or ""):
                self.add(node, "import")

        def visit_Constant(self, node: ast.Constant) -> None:
            if isinstance(node.value, str) and _names_dev(node.value) and id(node) not in docstrings:
                self.add(node, "string")

    Visitor().visit(ast.parse(source))
    return uses


def _allowed(module: str, use: DevUse) -> bool:
    """Only ``python -m ticket_enhancer`` may name the dev package, and import it only when run."""
    return module == LAZY_ENTRY and (use.kind == "string" or not use.at_import)


def test_the_layer_package_never_imports_the_dev_package() -> None:
    """Dev-only code lives in its own package (dev/ticket_enhancer_dev), so the layer is shared/
    copied whole (shared/Makefile, no folder deleted). Nothing in shared/ imports it, but
    ``python -m ticket_enhancer``, which imports the CLI inside its main(), never when imported."""
    known = _modules()
    found = {
        module: [use for use in _dev_uses(path.read_text(encoding="utf-8")) if not _allowed(module, use)]
        for module, path in known.items()
    }
    assert {module: uses for module, uses in found.items() if uses} == {}
    entry = _dev_uses(known[LAZY_ENTRY].read_text(encoding="utf-8"))
    assert DevUse(line=entry[-1].line, kind="import", at_import=False) in entry  # the checker sees it


def test_the_dev_checker_finds_each_kind_of_use() -> None:
    source = '''\
"""Docstrings may name ticket_enhancer_dev."""
import ticket_enhancer_dev.cli
from ticket_enhancer_dev.local import stack
if TYPE_CHECKING:
    from ticket_enhancer_dev import sandbox
def main():
    """ticket_enhancer_dev, again."""
    from ticket_enhancer_dev.cli.main import main
    return importlib.import_module("ticket_enhancer_dev.sandbox")
from . import ticket_enhancer_dev_like
'''
    assert _dev_uses(source) == [
        DevUse(2, "import", at_import=True),
        DevUse(3, "import", at_import=True),
        DevUse(5, "import", at_import=True),
        DevUse(8, "import", at_import=False),
        DevUse(9, "string", at_import=False),
    ]
    assert _allowed(LAZY_ENTRY, DevUse(8, "import", at_import=False))
    assert not _allowed(LAZY_ENTRY, DevUse(2, "import", at_import=True))
    assert not _allowed("ticket_enhancer.tenants", DevUse(8, "import", at_import=False))
