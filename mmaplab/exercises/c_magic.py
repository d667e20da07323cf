"""``%%kernel_c``: write an exercise's answer in kernel C, in the notebook.

::

    %%kernel_c 05
    static int hpet_mmap_prepare(struct vm_area_desc *desc)
    {
            ...
    }

compiles the cell (diagnostics name its lines, as ``answer.c``), defines the names
exercise 05 asks for in the notebook's namespace (so ``check("05", hpet_mmap_prepare)``
works too) and prints the verdict of the exercise's own check.  Without a number the cell
is only compiled and its functions defined.  Importing :mod:`mmaplab.exercises` inside
IPython (every exercise's setup cell does) registers the magic; ``%load_ext
mmaplab.exercises.c_magic`` does it explicitly.
"""

from __future__ import annotations

from typing import Any

from ..kernel_c import CError, compile_c
from .c_answer import (
    CAnswer,
    answer_from_c,
    c_callable,
    check_c,
    compile_misconception,
    render_c_result,
)

__all__ = ["kernel_c", "load_ipython_extension"]

#: The file name C cells are compiled under: what diagnostics call them.
CELL_FILE = "answer.c"


def kernel_c(line: str, cell: str, namespace: dict[str, Any] | None = None) -> bool | None:
    """The cell magic: compile ``cell``; with an exercise number in ``line``, check it."""
    nn = line.strip()
    try:
        if nn:
            names = answer_from_c(nn, CAnswer(nn, cell, CELL_FILE))
            from ._catalogue import get

            defined = dict(zip(get(nn).answer_names, names, strict=True))
        else:
            answer = CAnswer.of(compile_c(cell, CELL_FILE))
            defined = {name: c_callable(answer, name) for name in answer.prog.functions}
    except CError as exc:
        if nn:
            named = compile_misconception(nn, exc)
            print(render_c_result(nn, 0, named, None if named is not None else str(exc)))
            return False
        print(f"The C does not compile.\n{exc}")
        return None
    if namespace is not None:
        namespace.update(defined)
    if not nn:
        print(f"compiled: {', '.join(defined) or 'no functions'}")
        return None
    return check_c(nn, cell, CELL_FILE)


def load_ipython_extension(ipython: Any) -> None:
    """Register ``%%kernel_c`` in ``ipython``."""

    def magic(line: str, cell: str) -> None:
        kernel_c(line, cell, ipython.user_ns)

    magic.__doc__ = __doc__
    ipython.register_magic_function(magic, magic_kind="cell", magic_name="kernel_c")
