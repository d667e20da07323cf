"""Learner notebooks: generated from the exercise sources, read back by the CLI.

``exercises/NN_<slug>.ipynb`` is generated from ``mmaplab/exercises/sources/NN_<slug>.py``
(:mod:`mmaplab.exercises.source`) by :func:`generate` — ``make exercises`` writes them, a
test fails when a committed one differs.  Cells, in order:

1. the source's prose (markdown), with a link to the chapter that teaches it;
2. the setup cell, locked (``editable``/``deletable`` false, and its checksum in
   ``metadata.mmaplab``, as nbgrader locks its cells);
3. the answer cell: the stub;
4. the check cell, locked, storing **the output the stub really produces**;
5. for an exercise with a C reference (``c/NN_slug/reference.c``): the same answer in
   kernel C, a ``%%kernel_c NN`` cell (tagged ``answer_c``) holding the C stub
   (:func:`~mmaplab.exercises.c_answer.c_stub`) and the output the magic really prints
   for it;
6. the solution, in a ``<details>`` block (closed by default in JupyterLab and on the
   published page), and how to get hints.

The stored output is computed by running the setup, stub and check cells the way a kernel
does (:func:`run_cells`); a test executes every committed notebook in a real Jupyter kernel
and compares (they must match, byte for byte).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import json
import re
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from ._catalogue import EXERCISES, get
from ._core import Exercise
from .runner import register_source
from .source import checksum

__all__ = ["generate", "render", "write", "read", "notebook_path", "answer_cells",
           "answer_source", "locked_problems", "set_answer", "reset", "build", "stale",
           "run_cells", "NotebookError"]

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


class NotebookError(ValueError):
    """A learner notebook cannot be read (broken JSON, no answer cell, ...)."""


def _md(text: str) -> dict[str, Any]:
    return {"cell_type": "markdown", "metadata": {}, "source": text.rstrip("\n")}


def _code(source: str, role: str, count: int | None, outputs: list[Any]) -> dict[str, Any]:
    meta: dict[str, Any] = {"tags": [role]}
    if role not in ("answer", "answer_c"):
        meta.update(editable=False, deletable=False)
        meta["mmaplab"] = {"locked": True, "checksum": checksum(source)}
    return {"cell_type": "code", "execution_count": count, "metadata": meta,
            "outputs": outputs, "source": source.rstrip("\n")}


def _chapter_link(chapter: str) -> str:
    stem = chapter.rsplit("/", 1)[-1]
    if "/case_studies/" in chapter:
        what = f"the {stem} case study"
    else:
        num = stem.split("_", 1)[0]
        what = f"chapter {int(num)}" if num.isdigit() else stem
    # The chapters are jupytext text notebooks (book/**/*.py): JupyterLab opens the link
    # as a notebook, and the book resolves it to the chapter's page.
    return f"*Taught in {what}: [{chapter}](../{chapter}.py).*"


def _solution(ex: Exercise) -> str:
    return ("<details>\n<summary>Solution (try it yourself first)</summary>\n\n"
            "```python\n" + ex.source.solution + "\n```\n\n</details>")


def _footer(ex: Exercise) -> str:
    return (f"Stuck? `mmaplab exercises hint {ex.nn}` shows a hint, one level at a time "
            f"(`mmaplab.exercises.hint(\"{ex.nn}\", 2)` in a cell). "
            f"`mmaplab exercises check {ex.nn}` checks your saved notebook from a shell; "
            f"`mmaplab exercises reset {ex.nn}` restores the stub (your version is backed up "
            "under `.backup/`).")


def _c_cell(ex: Exercise) -> str | None:
    """The source of ``ex``'s ``%%kernel_c`` cell (``None``: no C reference yet, or the
    optional C front end, ``mmaplab[c]``, is not installed: no magic, so no C cell)."""
    import importlib.util

    from .c_answer import c_stub

    if importlib.util.find_spec("pycparser") is None:
        return None

    stub = c_stub(ex.nn)
    return None if stub is None else f"%%kernel_c {ex.nn}\n{stub}"


def _c_output(ex: Exercise) -> str:
    """What the ``%%kernel_c`` cell prints for the C stub (the magic, run as Jupyter runs it)."""
    from .c_magic import kernel_c

    cell = _c_cell(ex)
    assert cell is not None
    line, body = cell.split("\n", 1)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        kernel_c(line.removeprefix("%%kernel_c "), body, {})
    return out.getvalue()


_C_INTRO = ("## Or answer in kernel C\n\nThe same exercise, written as the kernel writes it. "
            "`%%kernel_c {nn}` compiles the cell against our kernel header "
            "(`mmaplab/kernel_c/mmaplab.h`: `<linux/mm.h>` and friends, cut down), "
            "reports a mistake at its C line, and runs the check above on the C. "
            "From a shell: `mmaplab exercises check {nn} --file answer.c`.")


def render(ex: Exercise, check_output: str, c_output: str = "") -> dict[str, Any]:
    """The notebook of ``ex``: the stub in the answer cell, ``check_output`` stored (and
    ``c_output`` for the C stub's cell)."""
    src = ex.source
    cells: list[dict[str, Any]] = []
    prose = [c for c in src.cells if c.role == "prose"]
    count = 0
    for cell in src.cells:
        if cell.role == "prose":
            cells.append(_md(cell.text))
            if cell is prose[0] and src.chapter:
                cells.append(_md(_chapter_link(src.chapter)))
        elif cell.role == "setup":
            count += 1
            cells.append(_code(src.setup, "setup", count, []))
        elif cell.role == "answer":
            cells.append(_md("## Your answer\n\nEdit the cell below, run it, then run the "
                             "check. The check runs your hooks and the reference through the "
                             "model on the same requests and stops at the first difference."))
            count += 1
            cells.append(_code(src.stub, "answer", count, []))
        elif cell.role == "check":
            count += 1
            out = [{"name": "stdout", "output_type": "stream", "text": check_output}]
            cells.append(_code(cell.text, "check", count, out if check_output else []))
            c_cell = _c_cell(ex)
            if c_cell is not None:
                cells.append(_md(_C_INTRO.format(nn=ex.nn)))
                count += 1
                c_out = [{"name": "stdout", "output_type": "stream", "text": c_output}]
                cells.append(_code(c_cell, "answer_c", count, c_out if c_output else []))
    cells += [_md(_solution(ex)), _md(_footer(ex))]
    for i, c in enumerate(cells):
        c["id"] = f"ex{ex.nn}-{i:02d}"
    kernelspec = dict(src.kernelspec) or KERNELSPEC
    return {"cells": cells, "metadata": {"kernelspec": kernelspec,
                                         "language_info": {"name": "python"},
                                         "mmaplab": {"exercise": ex.nn}},
            "nbformat": 4, "nbformat_minor": 5}


def run_cells(cells: list[str]) -> str:
    """Run code cells in order in one namespace, as a kernel does; return their stdout.

    Each cell is registered with :mod:`linecache` under its own name, as IPython does,
    so the check cell finds the answer cell's source the same way in both.
    """
    ns: dict[str, Any] = {"__name__": "__main__"}
    out = io.StringIO()
    for i, source in enumerate(cells, 1):
        filename = f"<notebook cell {i}>"
        register_source(filename, source)
        with contextlib.redirect_stdout(out):
            exec(compile(source, filename, "exec"), ns)  # noqa: S102 - our own cells
    return out.getvalue()


def generate(ex: Exercise) -> dict[str, Any]:
    """The committed form of ``ex``'s notebook, with the stub's real check output."""
    src = ex.source
    check_output = run_cells([src.setup, src.stub, src.check])
    return render(ex, check_output, _c_output(ex) if _c_cell(ex) is not None else "")


def write(nb: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def dumps(nb: dict[str, Any]) -> str:
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


def read(path: Path) -> dict[str, Any]:
    """A learner notebook, or :class:`NotebookError` naming what is wrong with it."""
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise NotebookError(f"{path.name} is not valid notebook JSON (line {exc.lineno}: "
                            f"{exc.msg})") from None
    except UnicodeDecodeError:
        raise NotebookError(f"{path.name} is not UTF-8 text") from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise NotebookError(f"{path.name} has no list of cells")
    return nb


def notebook_path(directory: Path, ex: Exercise) -> Path:
    return directory / f"{ex.name}.ipynb"


def _text(cell: dict[str, Any]) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def _role_cells(nb: dict[str, Any], role: str) -> list[dict[str, Any]]:
    return [c for c in nb["cells"] if isinstance(c, dict) and c.get("cell_type") == "code"
            and role in (c.get("metadata", {}).get("tags") or [])]


def answer_cells(nb: dict[str, Any]) -> list[dict[str, Any]]:
    return _role_cells(nb, "answer")


_MAGIC = re.compile(r"^(\s*)[!%].*$", re.MULTILINE)


def answer_source(nb: dict[str, Any], name: str = "the notebook") -> str:
    """The answer cell's source (IPython magics become ``pass``)."""
    cells = answer_cells(nb)
    if len(cells) != 1:
        raise NotebookError(f"{name} should have one cell tagged 'answer', it has "
                            f"{len(cells)} (mmaplab exercises reset restores it)")
    return _MAGIC.sub(r"\1pass", _text(cells[0]))


def locked_problems(nb: dict[str, Any], ex: Exercise) -> list[str]:
    """What was changed in the locked cells (compared with the package's source)."""
    problems = []
    for role, want in ex.source.locked.items():
        cells = _role_cells(nb, role)
        if not cells:
            problems.append(f"the {role} cell is missing")
        elif len(cells) > 1:
            problems.append(f"there are {len(cells)} {role} cells")
        elif checksum(_text(cells[0])) != want:
            problems.append(f"the {role} cell was edited (its checksum is "
                            f"{checksum(_text(cells[0]))}, the exercise's is {want})")
    return problems


def set_answer(nb: dict[str, Any], source: str) -> dict[str, Any]:
    """A copy of ``nb`` whose single ``answer`` cell holds ``source`` (no outputs)."""
    nb = copy.deepcopy(nb)
    cells = answer_cells(nb)
    if len(cells) != 1:
        raise NotebookError(f"expected exactly one cell tagged 'answer', found {len(cells)}")
    cells[0]["source"] = source.rstrip("\n")
    cells[0]["outputs"] = []
    return nb


def reset(directory: Path, nn: str) -> tuple[Path, Path | None]:
    """Restore exercise ``nn``'s notebook; back up the learner's copy first.

    Returns ``(notebook, backup or None)``.  The backup goes to
    ``<directory>/.backup/<name>-<YYYYmmdd-HHMMSS>.ipynb`` (never overwritten).
    """
    ex = get(nn)
    path = notebook_path(directory, ex)
    backup = None
    if path.exists():
        bdir = directory / ".backup"
        bdir.mkdir(exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        backup = bdir / f"{ex.name}-{stamp}.ipynb"
        n = 1
        while backup.exists():
            backup = bdir / f"{ex.name}-{stamp}-{n}.ipynb"
            n += 1
        shutil.copy2(path, backup)
    directory.mkdir(parents=True, exist_ok=True)
    write(generate(ex), path)
    return path, backup


# -- maintainers: make exercises -------------------------------------------------------

def stale(directory: Path) -> list[str]:
    """Names of the committed notebooks in ``directory`` that differ from their source."""
    out = []
    for ex in EXERCISES.values():
        path = notebook_path(directory, ex)
        if not path.exists() or path.read_text(encoding="utf-8") != dumps(generate(ex)):
            out.append(ex.name)
    return out


def build(directory: Path, only: list[str] | None = None) -> list[Path]:
    """(Re)generate the learner notebooks in ``directory`` from their sources."""
    written = []
    for ex in EXERCISES.values():
        if only and ex.nn not in only:
            continue
        path = notebook_path(directory, ex)
        write(generate(ex), path)
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m mmaplab.exercises.notebook",
                                description="generate the learner notebooks from the sources")
    p.add_argument("command", choices=["build", "check"],
                   help="build: write exercises/*.ipynb; check: exit 1 if any is stale")
    p.add_argument("numbers", nargs="*")
    p.add_argument("--dir", default="exercises")
    args = p.parse_args(argv)
    directory = Path(args.dir)
    if args.command == "check":
        bad = stale(directory)
        for name in bad:
            print(f"stale: {directory / name}.ipynb (run `make exercises`)")
        return 1 if bad else 0
    for path in build(directory, args.numbers or None):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
