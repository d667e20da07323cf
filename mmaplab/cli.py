"""The ``mmaplab`` command line (console script ``mmaplab = mmaplab.cli:main``).

``mmaplab --version``; and for the exercises (learner notebooks ``NN_<slug>.ipynb``):

* ``mmaplab exercises init [DIR]`` — write every exercise notebook (shipped inside the
  package) into ``DIR`` (default ``mmaplab-exercises``), keeping notebooks already there;
* ``list`` — every exercise with its progress, each check under its time budget;
* ``check [NN]`` — check one exercise (or all): exit 0 when every one checked passes;
* ``watch`` — re-check an exercise whenever its notebook is saved, and point at the first
  unsolved one;
* ``next`` — the first unsolved exercise;
* ``hint [NN] [--level k]`` — graded hints (1 nudge, 2 which helper and why, 3 nearly the
  answer); without NN, for the first unsolved exercise;
* ``reset NN [--keep-answer]`` — restore the notebook (after backing yours up under
  ``.backup/``); ``--keep-answer`` restores only the locked cells.

The verdict is the package's: the CLI takes the *answer cell* from the saved notebook and
runs the exercise's own setup and check on it (:func:`mmaplab.exercises.runner.evaluate`);
a notebook whose locked setup or check cell was edited or deleted is reported, never
passed.  The exercises folder is ``--dir``, else the current directory when it holds
exercise notebooks, else ``./exercises``, else ``./mmaplab-exercises``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .progress import note, track

DEFAULT_INIT = "mmaplab-exercises"


class CliError(Exception):
    """A problem the learner can fix: printed as one line, exit status 2."""


# -- output --------------------------------------------------------------------------

class Out:
    """Marks and colours: colours only on a terminal (and never with NO_COLOR)."""

    def __init__(self) -> None:
        self.color = sys.stdout.isatty() and "NO_COLOR" not in os.environ
        try:
            "✔✘".encode(sys.stdout.encoding or "ascii")
            self.ok_mark, self.bad_mark = "✔", "✘"
        except (UnicodeEncodeError, LookupError):
            self.ok_mark, self.bad_mark = "OK", "X"

    def paint(self, text: str, code: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.color else text

    def ok(self) -> str:
        return self.paint(self.ok_mark, "32")

    def bad(self) -> str:
        return self.paint(self.bad_mark, "31")


# -- finding the exercises ---------------------------------------------------------------

def _has_notebooks(d: Path) -> bool:
    return d.is_dir() and any(d.glob("[0-9][0-9]_*.ipynb"))


def find_dir(option: str | None) -> Path:
    """The learner's exercises folder (see the module docstring)."""
    if option:
        d = Path(option)
        if not d.is_dir():
            raise CliError(f"{d} is not a directory (create it with `mmaplab exercises init "
                           f"{d}`)")
        return d
    here = Path.cwd()
    for d in (here, here / "exercises", here / DEFAULT_INIT):
        if _has_notebooks(d):
            return d
    raise CliError("no exercise notebooks here: run `mmaplab exercises init` to create "
                   f"./{DEFAULT_INIT}, then cd into it")


def _exercise(nn: str) -> Any:
    from .exercises import get

    try:
        return get(nn)
    except (KeyError, ValueError):
        from .exercises import EXERCISES

        raise CliError(f"there is no exercise {nn!r} (exercises: {', '.join(EXERCISES)})"
                       ) from None


# -- checking ------------------------------------------------------------------------------

def check_notebook(directory: Path, ex: Any) -> Any:
    """The :class:`~mmaplab.exercises.runner.Result` for ``ex``'s notebook in ``directory``."""
    from .exercises.notebook import NotebookError, answer_source, locked_problems, read
    from .exercises.runner import Result, evaluate

    path = directory / f"{ex.name}.ipynb"
    if not path.exists():
        return Result(False, f"{path.name} does not exist (mmaplab exercises reset {ex.nn})",
                      kind="missing")
    try:
        nb = read(path)
        problems = locked_problems(nb, ex)
        source = answer_source(nb, path.name)
    except NotebookError as exc:
        return Result(False, f"{exc}; restore it with `mmaplab exercises reset {ex.nn}`",
                      kind="broken")
    if problems:
        return Result(False, f"{path.name}: " + "; ".join(problems) + ". The check does not "
                      f"trust this notebook: `mmaplab exercises reset {ex.nn} --keep-answer` "
                      "restores the locked cells and keeps your answer.", kind="tampered")
    return evaluate(ex.nn, source)


def _name(ex: Any) -> str:
    return f"{ex.nn} {ex.slug}"


def _summary(result: Any) -> str:
    if result.passed:
        return "solved"
    if result.misconception:
        return f"not yet ({result.misconception})"
    return {"missing": "notebook missing", "broken": "notebook unreadable",
            "tampered": "locked cell changed", "timeout": "did not return",
            "interrupted": "the answer stopped the check",
            "answer-error": "the answer cell fails"}.get(result.kind, "not yet")


def _results(directory: Path) -> list[tuple[Any, Any]]:
    from .exercises import EXERCISES

    return [(ex, check_notebook(directory, ex)) for ex in EXERCISES.values()]


def _list(out: Out, directory: Path) -> int:
    from .exercises import EXERCISES

    solved = 0
    print(f"Exercises in {directory}:")
    first_open = None
    for ex in track(EXERCISES.values(), "checking", total=len(EXERCISES), label=_name):
        r = check_notebook(directory, ex)
        solved += r.passed
        if not r.passed and first_open is None:
            first_open = ex
        mark = out.ok() if r.passed else out.bad()
        note(f"  {mark} {ex.nn}  {ex.title:<48.48} {_summary(r)}")
    total = len(EXERCISES)
    width = 28
    done = solved * width // total
    print(f"[{'#' * done}{'.' * (width - done)}] {solved}/{total} solved")
    if first_open is not None:
        print(f"next: {first_open.nn} ({first_open.name}.ipynb)")
    return 0


def _check(out: Out, directory: Path, nn: str | None) -> int:
    from .exercises import EXERCISES

    chosen = [_exercise(nn)] if nn else list(EXERCISES.values())
    ok = True
    # Progress only when checking several: one exercise answers at once.
    for ex in track(chosen, "checking", label=_name) if len(chosen) > 1 else chosen:
        r = check_notebook(directory, ex)
        ok = ok and r.passed
        if len(chosen) == 1:
            print(r.text)
        elif r.passed:
            note(f"{out.ok()} {ex.nn}: {r.text.splitlines()[-1]}")
        else:
            note(f"{out.bad()} {ex.nn}: {_summary(r)}; details: mmaplab exercises check "
                 f"{ex.nn}")
    return 0 if ok else 1


def _check_c(nn: str | None, path: Path) -> int:
    """``check NN --file answer.c``: the exercise's own check on an answer in kernel C."""
    if nn is None:
        raise CliError("check --file needs the exercise number, e.g. "
                       "mmaplab exercises check 05 --file answer.c")
    ex = _exercise(nn)
    try:
        source = path.read_text()
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror}") from None
    from .exercises.c_answer import check_c

    return 0 if check_c(ex.nn, source, path.name) else 1


def _first_unsolved(directory: Path) -> Any:
    from .exercises import EXERCISES

    for ex in EXERCISES.values():
        if not check_notebook(directory, ex).passed:
            return ex
    return None


def _next(out: Out, directory: Path) -> int:
    ex = _first_unsolved(directory)
    if ex is None:
        print(f"{out.ok()} every exercise is solved")
        return 0
    print(f"next: exercise {ex.nn} — {ex.title}\n  open {directory / (ex.name + '.ipynb')}")
    return 0


def _watch(out: Out, directory: Path, interval: float, rounds: int | None,
           sleep: Callable[[float], None] = time.sleep) -> int:
    """Re-check on save; ``rounds`` bounds the loop (tests), None = until Ctrl-C."""
    from .exercises import EXERCISES

    def stamp(ex: Any) -> float:
        p = directory / f"{ex.name}.ipynb"
        return p.stat().st_mtime_ns if p.exists() else -1

    seen = {ex.nn: stamp(ex) for ex in EXERCISES.values()}
    current = _first_unsolved(directory)
    if current is None:
        print(f"{out.ok()} every exercise is solved")
        return 0
    print(f"watching {directory} (Ctrl-C to stop); working on {current.nn}: {current.title}")
    print(check_notebook(directory, current).text, flush=True)
    n = 0
    try:
        while rounds is None or n < rounds:
            n += 1
            sleep(interval)
            changed = [ex for ex in EXERCISES.values() if stamp(ex) != seen[ex.nn]]
            for ex in changed:
                seen[ex.nn] = stamp(ex)
                r = check_notebook(directory, ex)
                print(f"\n[{ex.nn} saved] {r.text}", flush=True)
            if changed:
                current = _first_unsolved(directory)
                if current is None:
                    print(f"{out.ok()} every exercise is solved")
                    return 0
                print(f"next unsolved: {current.nn} ({current.name}.ipynb)", flush=True)
    except KeyboardInterrupt:
        print("\nstopped watching")
    return 0


def _hint(directory: Path | None, nn: str | None, level: int) -> int:
    if nn is None:
        if directory is None:
            raise CliError("which exercise? `mmaplab exercises hint NN`")
        ex = _first_unsolved(directory)
        if ex is None:
            print("every exercise is solved: no hint needed")
            return 0
    else:
        ex = _exercise(nn)
    print(f"Exercise {ex.nn} — {ex.title}")
    for i in range(level):
        print(f"Hint {i + 1}/3: {ex.hints[i]}")
    if level < 3:
        print(f"(more: mmaplab exercises hint {ex.nn} --level {level + 1})")
    return 0


def _reset(directory: Path, nn: str, keep_answer: bool) -> int:
    from .exercises.notebook import NotebookError, answer_source, read, reset, set_answer, write

    ex = _exercise(nn)
    answer = None
    if keep_answer:
        try:
            answer = answer_source(read(directory / f"{ex.name}.ipynb"))
        except (NotebookError, OSError) as exc:
            raise CliError(f"cannot keep the answer: {exc}") from None
    path, backup = reset(directory, ex.nn)
    if backup is not None:
        print(f"Backed up your notebook to {backup}")
    if answer is not None:
        write(set_answer(read(path), answer), path)
        print(f"Restored the locked cells of {path}, kept your answer")
    else:
        print(f"Restored the stub in {path}")
    return 0


def _init(out: Out, target: str | None) -> int:
    from .exercises import EXERCISES
    from .exercises.notebook import generate, notebook_path, write

    d = Path(target or DEFAULT_INIT)
    if d.exists() and not d.is_dir():
        raise CliError(f"{d} exists and is not a directory")
    d.mkdir(parents=True, exist_ok=True)
    made = kept = 0
    for ex in EXERCISES.values():
        path = notebook_path(d, ex)
        if path.exists():
            kept += 1
            continue
        write(generate(ex), path)
        made += 1
    print(f"{out.ok()} {made} exercise notebooks written to {d}"
          + (f" ({kept} already there, kept)" if kept else ""))
    print(f"next: cd {d} && mmaplab exercises list   (open the notebooks with Jupyter)")
    return 0


# -- the parser ------------------------------------------------------------------------------

class _Version(argparse.Action):
    """``--version``, read only when asked for (the metadata lookup costs start-up time)."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS,
                 default: str = argparse.SUPPRESS, help: str = "show the version and exit"
                 ) -> None:  # noqa: A002 - argparse's name
        super().__init__(option_strings, dest, nargs=0, default=default, help=help)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        from ._version import version

        print(f"mmaplab {version()}")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mmaplab",
        description="An executable model of the Linux mmap path and its mmap_prepare hook.",
    )
    parser.add_argument("--version", action=_Version)
    sub = parser.add_subparsers(dest="command")
    ex = sub.add_parser("exercises", help="init, list, check, watch, hint or reset exercises")
    dir_help = ("the exercises folder (default: the current directory if it holds exercise "
                "notebooks, else ./exercises, else ./mmaplab-exercises)")
    ex.add_argument("--dir", help=dir_help)
    exsub = ex.add_subparsers(dest="action", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--dir", dest="subdir", help=dir_help)
    i = exsub.add_parser("init", help="copy the exercise notebooks into a working folder")
    i.add_argument("target", nargs="?", metavar="DIR",
                   help=f"where to put them (default: ./{DEFAULT_INIT})")
    exsub.add_parser("list", parents=[common], help="all exercises with your progress")
    c = exsub.add_parser("check", parents=[common], help="check one exercise (or all)")
    c.add_argument("nn", nargs="?", help="exercise number, e.g. 03 (default: all)")
    c.add_argument("--file", help="check an answer written in kernel C (e.g. answer.c) "
                   "instead of the notebook")
    w = exsub.add_parser("watch", parents=[common], help="re-check on save")
    w.add_argument("--interval", type=float, default=1.0, help=argparse.SUPPRESS)
    w.add_argument("--rounds", type=int, default=None, help=argparse.SUPPRESS)
    exsub.add_parser("next", parents=[common], help="the first unsolved exercise")
    h = exsub.add_parser("hint", parents=[common], help="show hints for an exercise")
    h.add_argument("nn", nargs="?")
    h.add_argument("--level", type=int, default=1, choices=(1, 2, 3))
    r = exsub.add_parser("reset", parents=[common], help="restore an exercise's notebook")
    r.add_argument("nn")
    r.add_argument("--keep-answer", action="store_true",
                   help="restore the locked cells only, keep your answer")
    return parser


def _run(args: argparse.Namespace) -> int:
    out = Out()
    if args.action == "init":
        return _init(out, args.target)
    option = getattr(args, "subdir", None) or args.dir
    if args.action == "check" and args.file:
        return _check_c(args.nn, Path(args.file))
    if args.action == "hint" and args.nn is not None:
        return _hint(None, args.nn, args.level)
    if args.action == "reset":
        return _reset(Path(option) if option else find_dir(None), args.nn, args.keep_answer)
    directory = find_dir(option)
    if args.action == "list":
        return _list(out, directory)
    if args.action == "check":
        return _check(out, directory, args.nn)
    if args.action == "watch":
        return _watch(out, directory, args.interval, args.rounds)
    if args.action == "next":
        return _next(out, directory)
    return _hint(directory, args.nn, args.level)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command != "exercises":
        parser.print_help()
        return 0
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="replace")
    try:
        return _run(args)
    except CliError as exc:
        print(f"mmaplab: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader went away (`| head`): no traceback, and none at exit either.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
