"""The one source of an exercise: ``mmaplab/exercises/sources/NN_<slug>.py``.

Each source is a jupytext ``py:percent`` file (open it in JupyterLab with jupytext, or
edit it as text) holding everything a learner sees and everything the check needs, once:

* a header block ``# ---`` ... ``# ---`` whose ``mmaplab:`` mapping names the exercise
  (``exercise: "05"``), its ``title``, the driver ``kit`` it is built on (empty for the
  concept exercises), the ``catalogue`` module holding its cases and mutants, and the
  ``chapter`` that teaches it (a path of the book without suffix);
* markdown cells (``# %% [markdown]``): the prose, in order;
* a code cell tagged ``setup`` (imports; locked in the learner notebook; the generator
  ends it with :data:`SETUP_C_MAGIC`, which loads ``%%kernel_c``);
* a code cell tagged ``answer``: the stub between ``### BEGIN STUB`` and
  ``### END STUB``, and one ``### SOLUTION: <module>:<qualname>`` line for each object of
  the reference answer (e.g. ``### SOLUTION: mmaplab.drivers.hpet.model:HpetDriver.
  hpet_mmap_prepare``).  The reference answer is written once, in the kit, and is what
  the check compares against; :attr:`ExerciseSource.solution` is its source text
  (:func:`kit_source`), in the order of the lines.  Every other line of the cell belongs to
  the stub;
* a code cell tagged ``check`` (locked);
* three markdown cells tagged ``hint``: nudge, which helper and why, nearly the answer.
  They are never put into the notebook (``mmaplab exercises hint NN`` shows them).

The learner notebook ``exercises/NN_<slug>.ipynb`` is generated from this file
(:mod:`mmaplab.exercises.notebook`, ``make exercises``).  Stdlib only: the package reads its
sources at run time through :mod:`importlib.resources`, so a wheel install works too.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import json
import re
import textwrap
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable

__all__ = ["Cell", "ExerciseSource", "load", "names", "parse", "checksum", "SourceError",
           "kit_source"]

_CELL = re.compile(r"^# %%(?P<md> \[markdown\])?(?: tags=(?P<tags>\[.*\]))?\s*$")
_MARKERS = {"### BEGIN STUB": ("stub", True), "### END STUB": ("stub", False)}
#: A line naming one object of the reference answer in the kit.
_SOLUTION = re.compile(r"^### SOLUTION: (?P<module>[\w.]+):(?P<qualname>[\w.]+)\s*$")
#: A type checker's note is not part of the answer a learner reads.
_TYPE_IGNORE = re.compile(r"\s*# type: ignore\[[^\]]*\].*$", re.MULTILINE)
#: The last line of every setup cell: in Jupyter, importing the exercises registers the
#: ``%%kernel_c`` cell magic (:mod:`mmaplab.exercises.c_magic`) for the C answer cell.
SETUP_C_MAGIC = "import mmaplab.exercises  # in Jupyter: loads %%kernel_c, for the C answer"
#: Roles of code cells, by tag; every code cell has exactly one.
CODE_ROLES = ("setup", "answer", "check")


class SourceError(ValueError):
    """An exercise source does not follow the format above (names the file and line)."""


def checksum(text: str) -> str:
    """The checksum of a locked cell's source (like nbgrader's: of the text as stored)."""
    return hashlib.sha256(text.strip().encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class Cell:
    """One cell of a source: ``kind`` is ``markdown`` or ``code``; ``text`` as written
    (for the answer cell: with both the solution and the stub, and their markers)."""

    kind: str
    tags: tuple[str, ...]
    text: str

    @property
    def role(self) -> str:
        """``setup``/``answer``/``check`` for code, ``hint`` or ``prose`` for markdown."""
        if self.kind == "markdown":
            return "hint" if "hint" in self.tags else "prose"
        return next(t for t in self.tags if t in CODE_ROLES)


def kit_source(module: str, qualname: str) -> str:
    """The source text of ``module:qualname`` as a learner's answer cell holds it.

    A function or class is its own source (:func:`inspect.getsource`), dedented, so a
    method reads as the plain function taking ``self`` that the learner writes; any other
    object is the module-level assignment that defines it (e.g. a ``vm_operations_struct``).
    ``# type: ignore[...]`` notes are dropped.
    """
    import inspect

    mod = importlib.import_module(module)
    obj: object = mod
    for part in qualname.split("."):
        obj = getattr(obj, part)
    if inspect.isfunction(obj) or inspect.isclass(obj):
        text = textwrap.dedent(inspect.getsource(obj))
    else:
        text = _assignment(inspect.getsource(mod), qualname, module)
    return _untyped(_TYPE_IGNORE.sub("", text)).strip("\n")


def _untyped(text: str) -> str:
    """``text`` without type annotations, as the stubs are written (the kit's code is
    type-checked; the learner's answer cell runs without the kit's type names).  Each
    ``def`` line is rewritten from its parameters; ``x: T = v`` becomes ``x = v``."""
    import ast

    lines = text.split("\n")
    edits: list[tuple[int, int, list[str]]] = []  # (first line, last line, replacement)
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.FunctionDef):
            first = node.lineno - 1
            last = _signature_end(lines, first)
            if last is None or last >= node.body[0].lineno - 1:
                continue  # a body on the ``def`` line: left as written
            indent = lines[first][: len(lines[first]) - len(lines[first].lstrip())]
            edits.append((first, last, _signature(node, indent)))
        elif (isinstance(node, ast.AnnAssign) and node.value is not None
              and isinstance(node.target, ast.Name) and node.lineno == node.end_lineno):
            i = node.lineno - 1
            line = lines[i]
            start = node.target.end_col_offset
            end = node.annotation.end_col_offset
            assert start is not None and end is not None
            edits.append((i, i, [line[:start] + line[end:]]))
    for first, last, new in sorted(edits, reverse=True):
        lines[first:last + 1] = new
    return "\n".join(lines)


def _signature_end(lines: list[str], first: int) -> int | None:
    """The index of the line that ends the ``def`` starting at ``first`` (its colon)."""
    depth = 0
    for i in range(first, len(lines)):
        code = lines[i].split("#", 1)[0].rstrip()
        depth += code.count("(") + code.count("[") - code.count(")") - code.count("]")
        if depth == 0 and code.endswith(":"):
            return i
    return None


def _signature(node: object, indent: str) -> list[str]:
    """``def name(params):`` wrapped at 100 columns, continuation under the parenthesis."""
    import ast

    assert isinstance(node, ast.FunctionDef)
    a = node.args
    names = [p.arg for p in a.posonlyargs + a.args]
    defaults = [ast.unparse(d) for d in a.defaults]
    params = names[: len(names) - len(defaults)] + [
        f"{n}={d}" for n, d in zip(names[len(names) - len(defaults):], defaults, strict=True)]
    if a.vararg is not None:
        params.append(f"*{a.vararg.arg}")
    elif a.kwonlyargs:
        params.append("*")
    params += [p.arg if d is None else f"{p.arg}={ast.unparse(d)}"
               for p, d in zip(a.kwonlyargs, a.kw_defaults, strict=True)]
    if a.kwarg is not None:
        params.append(f"**{a.kwarg.arg}")
    head = f"{indent}def {node.name}("
    out, line = [], head
    for i, param in enumerate(params):
        piece = param + (", " if i < len(params) - 1 else "):")
        if len(line) + len(piece.rstrip()) > 100 and line.strip() != head.strip():
            out.append(line.rstrip())
            line = " " * len(head)
        line += piece
    if not params:
        line += "):"
    out.append(line)
    return out


def _assignment(module_text: str, name: str, module: str) -> str:
    import ast

    for node in ast.parse(module_text).body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == name for t in node.targets):
            lines = module_text.split("\n")
            assert node.end_lineno is not None
            return "\n".join(lines[node.lineno - 1:node.end_lineno])
    raise SourceError(f"{module} defines no {name!r} at module level")


def _solution_refs(text: str) -> list[tuple[str, str]]:
    return [(m["module"], m["qualname"]) for m in map(_SOLUTION.match, text.split("\n"))
            if m is not None]


def _stub(text: str, where: str) -> str:
    """The answer cell's stub: its lines without the ``### SOLUTION:`` lines and the
    ``### BEGIN/END STUB`` markers (which must balance)."""
    out: list[str] = []
    inside: str | None = None
    for n, line in enumerate(text.split("\n"), 1):
        if "SOLUTION" in line and line.startswith("###"):
            if _SOLUTION.match(line) is None:
                raise SourceError(f"{where}: answer cell line {n}: {line.strip()!r}: the "
                                  "reference answer is written once, in the kit: name it "
                                  "with '### SOLUTION: <module>:<qualname>'")
            continue
        marker = _MARKERS.get(line.strip())
        if marker is not None:
            block, begins = marker
            if begins == (inside is not None) or (not begins and inside != block):
                raise SourceError(f"{where}: answer cell line {n}: unbalanced {line.strip()!r}")
            inside = block if begins else None
            continue
        out.append(line)
    if inside is not None:
        raise SourceError(f"{where}: answer cell: ### BEGIN {inside.upper()} is never ended")
    return "\n".join(out).strip("\n")


@dataclass(frozen=True)
class ExerciseSource:
    """A parsed exercise source (see the module docstring)."""

    name: str
    meta: dict[str, str]
    kernelspec: dict[str, str]
    cells: tuple[Cell, ...]

    @property
    def nn(self) -> str:
        return self.meta["exercise"]

    @property
    def title(self) -> str:
        return self.meta["title"]

    @property
    def kit(self) -> str | None:
        return self.meta.get("kit") or None

    @property
    def chapter(self) -> str | None:
        return self.meta.get("chapter") or None

    def _code(self, role: str) -> Cell:
        return next(c for c in self.cells if c.kind == "code" and c.role == role)

    @property
    def setup(self) -> str:
        """The setup cell, ending with the import that loads ``%%kernel_c`` in Jupyter
        (added here, once for every exercise, so a C cell can follow the Python one)."""
        return self._code("setup").text + "\n\n" + SETUP_C_MAGIC

    @property
    def check(self) -> str:
        return self._code("check").text

    @property
    def stub(self) -> str:
        return _stub(self._code("answer").text, self.name)

    @property
    def solution_refs(self) -> list[tuple[str, str]]:
        """``(module, qualname)`` of each object of the reference answer, in order."""
        return _solution_refs(self._code("answer").text)

    @property
    def solution(self) -> str:
        """The reference answer: the kit's own source of each object it names
        (:func:`kit_source`), in order, two blank lines apart."""
        return "\n\n\n".join(kit_source(m, q) for m, q in self.solution_refs)

    @property
    def hints(self) -> tuple[str, ...]:
        return tuple(c.text for c in self.cells if c.role == "hint")

    @property
    def locked(self) -> dict[str, str]:
        """``{role: checksum}`` of the cells a learner must not change."""
        return {"setup": checksum(self.setup), "check": checksum(self.check)}


def _header(lines: list[str], where: str) -> tuple[dict[str, str], dict[str, str], int]:
    if not lines or lines[0] != "# ---":
        raise SourceError(f"{where}: line 1 must open the header with '# ---'")
    end = next((i for i, line in enumerate(lines[1:], 1) if line == "# ---"), None)
    if end is None:
        raise SourceError(f"{where}: the header opened on line 1 is never closed")
    blocks: dict[str, dict[str, str]] = {"mmaplab": {}, "kernelspec": {}}
    current: str | None = None
    for line in lines[1:end]:
        body = line[2:]
        key, _, value = body.strip().partition(":")
        indent = len(body) - len(body.lstrip())
        if indent == 2:
            current = key if key in blocks else None
        elif indent == 4 and current is not None:
            value = value.strip()
            blocks[current][key] = json.loads(value) if value.startswith('"') else value
    for key in ("exercise", "title", "catalogue"):
        if key not in blocks["mmaplab"]:
            raise SourceError(f"{where}: the header's mmaplab block has no {key!r}")
    return blocks["mmaplab"], blocks["kernelspec"], end + 1


def parse(text: str, name: str) -> ExerciseSource:
    """Parse the text of source ``name`` (``NN_slug``)."""
    lines = text.split("\n")
    meta, kernelspec, start = _header(lines, name)
    cells: list[Cell] = []
    head: re.Match[str] | None = None
    body: list[str] = []

    def flush() -> None:
        if head is None:
            if any(line.strip() for line in body):
                raise SourceError(f"{name}: text between the header and the first '# %%'")
            return
        tags = tuple(json.loads(head["tags"])) if head["tags"] else ()
        if head["md"]:
            text = "\n".join(line[2:] if line.startswith("# ") else line.lstrip("#")
                             for line in body)
            cells.append(Cell("markdown", tags, text.strip("\n")))
        else:
            roles = [t for t in tags if t in CODE_ROLES]
            if len(roles) != 1:
                raise SourceError(f"{name}: a code cell needs exactly one tag of "
                                  f"{CODE_ROLES}, it has {list(tags)}")
            cells.append(Cell("code", tags, "\n".join(body).strip("\n")))

    for n, line in enumerate(lines[start:], start + 1):
        m = _CELL.match(line)
        if m is None and line.startswith("# %%"):
            raise SourceError(f"{name}: line {n}: unreadable cell marker {line!r}")
        if m is None:
            body.append(line)
            continue
        flush()
        head, body = m, []
    flush()
    src = ExerciseSource(name, meta, kernelspec, tuple(cells))
    for role in CODE_ROLES:
        if sum(c.kind == "code" and c.role == role for c in cells) != 1:
            raise SourceError(f"{name}: needs exactly one code cell tagged {role!r}")
    if len(src.hints) != 3:
        raise SourceError(f"{name}: needs three hint cells, has {len(src.hints)}")
    if not name.startswith(src.nn + "_"):
        raise SourceError(f"{name}: the header says exercise {src.nn!r}")
    src.stub  # noqa: B018 - validates the markers now, not at first use
    if not src.solution_refs:
        raise SourceError(f"{name}: the answer cell names no '### SOLUTION: <module>:"
                          "<qualname>' of the kit")
    return src


def _folder() -> Traversable:
    return resources.files("mmaplab.exercises") / "sources"


def names() -> list[str]:
    """``NN_slug`` of every exercise source, in order."""
    return sorted(p.name[:-3] for p in _folder().iterdir()
                  if p.name.endswith(".py") and p.name[:2].isdigit())


@functools.cache
def load(name: str) -> ExerciseSource:
    """The source ``NN_slug`` shipped with the package."""
    return parse((_folder() / f"{name}.py").read_text(encoding="utf-8"), name)
