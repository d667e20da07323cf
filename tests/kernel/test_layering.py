"""The house: lower layers never import higher ones, and no module imports itself round.

An ast walk over ``mmaplab/`` (no import is executed).  Layers, low to high:

  0 ``mmaplab.kernel`` (incl. ``kernel.debug``) — the model; the standard library only
  1 ``mmaplab.drivers.base``
  2 the driver kits ``mmaplab.drivers.<name>`` and ``mmaplab.drivers`` (kits may import
    each other)
  3 ``mmaplab.kernel_c``
  4 ``mmaplab.lab``
  5 ``mmaplab.exercises``
  6 ``mmaplab.widgets``, ``mmaplab.cli`` and ``mmaplab`` itself (the public surface)

Every import statement counts, including those inside functions (a deferred import
is still a dependency).  Imports under ``if TYPE_CHECKING:`` count for the layer
rule too, but are excepted from the cycle rule, where they are only allowed to
close the cycles listed in ``TYPING_CYCLES``: those the kernel's own headers have.
"""

from __future__ import annotations

import ast
import functools
import sys
from dataclasses import dataclass
from pathlib import Path

PKG = Path(__file__).resolve().parents[2] / "mmaplab"

#: Cycles that exist only through ``if TYPE_CHECKING:`` imports, and why they are allowed.
TYPING_CYCLES: dict[frozenset[str], str] = {
    frozenset({"mmaplab.kernel.fs", "mmaplab.kernel.mm_types"}):
        "a file's mmap hooks take a VMA or a vm_area_desc, and a VMA points to its file: "
        "include/linux/fs.h and mm_types.h forward-declare each other the same way",
}


@dataclass(frozen=True)
class Edge:
    src: str
    dst: str
    where: str  # path:line
    typing_only: bool

    def __str__(self) -> str:
        tag = " (TYPE_CHECKING)" if self.typing_only else ""
        return f"{self.where}: {self.src} -> {self.dst}{tag}"


def _module_name(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PKG.rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST) -> list[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Every import node, with whether it sits under ``if TYPE_CHECKING:``."""
    found: list[tuple[ast.Import | ast.ImportFrom, bool]] = []

    def walk(node: ast.AST, typing_only: bool) -> None:
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append((node, typing_only))
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                walk(child, True)
            for child in node.orelse:
                walk(child, typing_only)
            return
        for child in ast.iter_child_nodes(node):
            walk(child, typing_only)

    walk(tree, False)
    return found


def _resolve(src: str, is_pkg: bool, node: ast.Import | ast.ImportFrom,
             modules: dict[str, Path]) -> list[str]:
    """The modules (inside or outside mmaplab) an import statement names."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if node.level:
        base = src.split(".") if is_pkg else src.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    out = []
    for alias in node.names:
        sub = f"{target}.{alias.name}"
        out.append(sub if sub in modules else target)
    return out


@functools.cache  # one walk per test process: the rules below only read its result
def _edges() -> tuple[list[Edge], list[Edge]]:
    """(edges between mmaplab modules, imports of third-party modules by the kernel)."""
    modules = _modules()
    inner: list[Edge] = []
    seen: set[Edge] = set()  # a list scan per edge made the walk quadratic (1 s)
    foreign: list[Edge] = []
    for src, path in modules.items():
        tree = ast.parse(path.read_text(), str(path))
        for node, typing_only in _imports(tree):
            for dst in _resolve(src, path.name == "__init__.py", node, modules):
                where = f"{path.relative_to(PKG.parent)}:{node.lineno}"
                edge = Edge(src, dst, where, typing_only)
                if dst == "mmaplab" or dst.startswith("mmaplab."):
                    if dst != src and edge not in seen:
                        seen.add(edge)
                        inner.append(edge)
                elif dst.split(".")[0] not in sys.stdlib_module_names and dst != "__future__":
                    foreign.append(edge)
    return inner, foreign


def layer(module: str) -> int:
    """The layer of a module (see the module docstring)."""
    parts = module.split(".")
    top = parts[1] if len(parts) > 1 else ""
    if top == "kernel":
        return 0
    if top == "drivers":
        return 1 if parts[2:3] == ["base"] else 2
    ranks = {"kernel_c": 3, "lab": 4, "exercises": 5, "widgets": 6, "cli": 6, "": 6}
    return ranks.get(top, 6)


def upward_edges(edges: list[Edge]) -> list[Edge]:
    return [e for e in edges if layer(e.dst) > layer(e.src)]


def cycles(edges: list[Edge]) -> list[set[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    graph: dict[str, set[str]] = {}
    for e in edges:
        graph.setdefault(e.src, set()).add(e.dst)
        graph.setdefault(e.dst, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(comp)

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10_000))
    try:
        for v in sorted(graph):
            if v not in index:
                connect(v)
    finally:
        sys.setrecursionlimit(limit)
    return found


def _cycle_report(comp: set[str], edges: list[Edge]) -> str:
    inside = [str(e) for e in edges if e.src in comp and e.dst in comp]
    return f"cycle of {len(comp)} modules {sorted(comp)}:\n    " + "\n    ".join(sorted(inside))


# -- the rules --------------------------------------------------------------------

def test_the_walk_sees_the_whole_package() -> None:
    inner, _ = _edges()
    srcs = {e.src for e in inner}
    assert {"mmaplab.kernel.mm", "mmaplab.kernel.vma", "mmaplab.kernel.debug.sanitizer",
            "mmaplab.lab.compare", "mmaplab.drivers.base", "mmaplab"} <= srcs
    assert any(e.typing_only for e in inner), "TYPE_CHECKING imports must be seen"


def test_no_layer_imports_a_higher_one() -> None:
    inner, _ = _edges()
    bad = upward_edges(inner)
    assert not bad, "upward imports (layer of the target above the importer's):\n  " + \
        "\n  ".join(f"{e}  [layer {layer(e.src)} -> {layer(e.dst)}]" for e in bad)


def test_the_kernel_model_imports_the_standard_library_only() -> None:
    _, foreign = _edges()
    bad = [e for e in foreign if layer(e.src) == 0]
    assert not bad, "the model imports outside the standard library:\n  " + \
        "\n  ".join(map(str, bad))


def test_no_import_cycle() -> None:
    inner, _ = _edges()
    runtime = [e for e in inner if not e.typing_only]
    bad = [_cycle_report(c, runtime) for c in cycles(runtime)]
    assert not bad, "import cycles:\n  " + "\n  ".join(bad)


def test_type_checking_imports_close_only_the_declared_cycles() -> None:
    inner, _ = _edges()
    bad = [_cycle_report(c, inner) for c in cycles(inner) if frozenset(c) not in TYPING_CYCLES]
    assert not bad, ("cycles through TYPE_CHECKING imports that are not declared in "
                     "TYPING_CYCLES:\n  " + "\n  ".join(bad))


def test_the_checker_catches_an_upward_import_and_a_cycle() -> None:
    # The rules themselves can fail: a made-up kernel -> lab edge and a two-module loop.
    up = Edge("mmaplab.kernel.vma", "mmaplab.lab.compare", "x.py:1", False)
    assert upward_edges([up]) == [up]
    loop = [Edge("mmaplab.kernel.a", "mmaplab.kernel.b", "a.py:1", False),
            Edge("mmaplab.kernel.b", "mmaplab.kernel.a", "b.py:1", False)]
    assert cycles(loop) == [{"mmaplab.kernel.a", "mmaplab.kernel.b"}]
    assert layer("mmaplab.drivers.base") < layer("mmaplab.drivers.hpet.model")
    assert layer("mmaplab.drivers.hpet.spec") == layer("mmaplab.drivers.afs.model")
