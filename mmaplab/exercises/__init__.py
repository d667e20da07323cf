"""Exercises: convert deprecated ``f_op->mmap`` hooks; checks compare behaviour.

``check("NN", *answer)`` (the check cell) runs the answer cell's source again in a fresh
namespace, with the exercise's own setup and check (:mod:`mmaplab.exercises.runner`), and
prints the verdict: one deterministic line on success, e.g.
``✔ 41 requests behave like the reference (hpet mmap_prepare)``, else the first observable
difference, what was expected and the misconception behind it (or, for a Python mistake,
where the learner's code raised).  :func:`verify` is the check itself, returning an
:class:`ExerciseFailed` (an ``AssertionError``) instead of printing.

``hint("NN", level)`` prints graded hints (1 = nudge, 2 = which helper/flag,
3 = nearly the answer).  ``EXERCISES`` is the catalogue, in learning order; each
exercise's prose, setup, stub, solution and hints are in its one source
(:mod:`mmaplab.exercises.source`).
"""

from __future__ import annotations

import sys
from typing import Any

from ._catalogue import EXERCISES, get
from ._core import BY_RULE, GENERIC, Exercise, ExerciseFailed, Misconception
from ._verdict import verify
from .runner import answer_source_of, evaluate, run_check

__all__ = ["check", "hint", "hints", "EXERCISES", "get", "ExerciseFailed", "Exercise",
           "Misconception", "misconceptions", "verify"]


def check(nn: str, *answer: Any) -> None:
    """The check cell: print exercise ``nn``'s verdict on the answer cell.

    The answer cell's *source* (found through the functions passed in) is run again in a
    fresh namespace after the exercise's own setup, and checked by the package
    (:func:`mmaplab.exercises.runner.evaluate`): what the notebook's namespace holds, or a
    ``check`` the answer defines, cannot change the verdict.  The verdict is printed, not
    raised, so what a notebook stores under its check cell is exactly what it shows.
    """
    found = answer_source_of(list(answer))
    if found is not None:
        result = evaluate(get(nn).nn, found[1])
    else:
        result = run_check(get(nn).nn, list(answer), None)
    print(result.text)


def hints(nn: str) -> tuple[str, ...]:
    return get(nn).hints


def hint(nn: str, level: int = 1) -> None:
    """Print hints 1..``level`` for exercise ``nn``."""
    ex = get(nn)
    level = max(1, min(3, level))
    for i in range(level):
        print(f"Hint {i + 1}/3: {ex.hints[i]}")


def misconceptions(nn: str) -> dict[str, Misconception]:
    """The catalogue of misconceptions the check can name for exercise ``nn``."""
    ex = get(nn)
    return {**BY_RULE, **GENERIC, **ex.misconceptions}


def _register_c_magic() -> None:
    """Inside IPython, importing the exercises (as every setup cell does) makes the
    ``%%kernel_c`` cell magic available (:mod:`mmaplab.exercises.c_magic`)."""
    ipython_mod = sys.modules.get("IPython")
    ip = ipython_mod.get_ipython() if ipython_mod is not None else None
    if ip is None:
        return
    try:  # by name, as %load_ext does: c_magic builds on this package
        ip.extension_manager.load_extension("mmaplab.exercises.c_magic")
    except ImportError:  # the optional C front end (pycparser) is not installed
        return


_register_c_magic()
