"""The ``mmaplab`` command line (console script ``mmaplab = mmaplab.cli:main``).

``mmaplab --version``; and for the exercises (``exercises/NN_<slug>.ipynb``):

* ``mmaplab exercises list`` — every exercise with its progress (✔ solved / ✘ not yet),
  computed by running each notebook's cells (setup, your answer, the check) in-process;
* ``mmaplab exercises check [NN]`` — the same check code the notebook runs; exit 0 when
  every checked exercise passes, 1 otherwise;
* ``mmaplab exercises hint NN [--level k]`` — graded hints (1 = nudge, 2 = which
  helper/flag, 3 = nearly the answer);
* ``mmaplab exercises reset NN`` — restore the stub, after backing up your notebook to
  ``exercises/.backup/NN_<slug>-<timestamp>.ipynb``.

The exercises directory is ``--dir``, else ``./exercises`` when it holds exercise
notebooks, else the one in the mmaplab source tree.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import __version__
from .progress import note, track


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mmaplab",
        description="An executable model of the Linux mmap path and its mmap_prepare hook.",
    )
    parser.add_argument("--version", action="version", version=f"mmaplab {__version__}")
    sub = parser.add_subparsers(dest="command")
    ex = sub.add_parser("exercises", help="list, check, get hints for, or reset the exercises")
    ex.add_argument("--dir", help="the exercises directory (default: ./exercises if present, "
                    "else the one shipped with mmaplab)")
    exsub = ex.add_subparsers(dest="action", required=True)
    exsub.add_parser("list", help="all exercises with your progress")
    c = exsub.add_parser("check", help="run the check of one exercise (or all)")
    c.add_argument("nn", nargs="?", help="exercise number, e.g. 03 (default: all)")
    h = exsub.add_parser("hint", help="show hints for an exercise")
    h.add_argument("nn")
    h.add_argument("--level", type=int, default=1, choices=(1, 2, 3))
    r = exsub.add_parser("reset", help="restore an exercise's stub (backs up your notebook)")
    r.add_argument("nn")
    return parser


def _exercise(nn: str):
    from .exercises import get

    try:
        return get(nn)
    except (KeyError, ValueError) as exc:
        raise SystemExit(f"mmaplab: {exc.args[0] if exc.args else exc}") from None


def _name(ex: Any) -> str:
    return f"{ex.nn} {ex.slug}"


def _list(directory: Path) -> int:
    from .exercises import EXERCISES
    from .exercises._notebook import notebook_path, run_notebook

    solved = 0
    print(f"Exercises in {directory}:")
    for ex in track(EXERCISES.values(), "checking", total=len(EXERCISES), label=_name):
        path = notebook_path(directory, ex)
        if not path.exists():
            mark, status = "?", "notebook missing (mmaplab exercises reset " + ex.nn + ")"
        else:
            outcome = run_notebook(path)
            if outcome.passed:
                solved += 1
                mark, status = "✔", "solved"
            else:
                mark = "✘"
                status = f"not yet ({outcome.misconception})" if outcome.misconception else \
                    "not yet (the notebook raised an error)"
        note(f"  {mark} {ex.nn}  {ex.slug:<20} {ex.title:<46} {status}")
    print(f"{solved}/{len(EXERCISES)} solved")
    return 0


def _check(directory: Path, nn: str | None) -> int:
    from .exercises import EXERCISES
    from .exercises._notebook import notebook_path, run_notebook

    chosen = [_exercise(nn)] if nn else list(EXERCISES.values())
    ok = True
    # Progress only when checking several: one exercise answers at once.
    for ex in track(chosen, "checking", label=_name) if len(chosen) > 1 else chosen:
        path = notebook_path(directory, ex)
        if not path.exists():
            note(f"✘ {ex.nn}: {path} does not exist (mmaplab exercises reset {ex.nn})")
            ok = False
            continue
        outcome = run_notebook(path)
        if len(chosen) > 1 and outcome.passed:
            note(f"{ex.nn}: {outcome.output.strip().splitlines()[-1]}")
        elif len(chosen) > 1:
            note(f"✘ {ex.nn}: not solved yet ({outcome.misconception or 'error'}); "
                 f"details: mmaplab exercises check {ex.nn}")
        else:
            sys.stdout.write(outcome.output)
        ok = ok and outcome.passed
    return 0 if ok else 1


def _hint(nn: str, level: int) -> int:
    ex = _exercise(nn)
    print(f"Exercise {ex.nn} — {ex.title}")
    for i in range(level):
        print(f"Hint {i + 1}/3: {ex.hints[i]}")
    if level < 3:
        print(f"(more: mmaplab exercises hint {ex.nn} --level {level + 1})")
    return 0


def _reset(directory: Path, nn: str) -> int:
    from .exercises._notebook import reset

    ex = _exercise(nn)
    path, backup = reset(directory, ex.nn)
    if backup is not None:
        print(f"Backed up your notebook to {backup}")
    print(f"Restored the stub in {path}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command != "exercises":
        parser.print_help()
        return 0
    from .exercises._notebook import find_exercises_dir

    directory = find_exercises_dir(args.dir)
    if args.action == "list":
        return _list(directory)
    if args.action == "check":
        return _check(directory, args.nn)
    if args.action == "hint":
        return _hint(args.nn, args.level)
    return _reset(directory, args.nn)


if __name__ == "__main__":
    raise SystemExit(main())
