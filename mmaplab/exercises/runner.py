"""Running a learner's answer: the one path behind the check cell, the CLI and the tests.

The verdict never comes from a cell a learner can edit.  :func:`evaluate` takes the
*source* of the answer cell and runs it in a fresh namespace after the exercise's own
setup (from the package's source, not from the notebook), then the exercise's own check
(:func:`mmaplab.exercises.verify`).  Whatever the answer does — raise, call
``sys.exit()``, raise ``KeyboardInterrupt``, define its own ``check`` — it is reported,
never taken for a pass.

A crash in the learner's code is reported where it happened: ``your hook raised
AttributeError at line 4 of the answer cell: desc.vm_opz = ...`` (:class:`Crash`).
"""

from __future__ import annotations

import contextlib
import io
import linecache
import os
import re
import textwrap
from dataclasses import dataclass
from typing import Any

from ..lab.budget import RequestTimeout
from ._catalogue import get
from ._crash import Crash, find_crash
from ._verdict import verify

__all__ = ["Crash", "Result", "evaluate", "answer_filename", "register_source", "find_crash",
           "answer_source_of"]

def answer_filename(nn: str) -> str:
    """The pseudo file name exercise ``nn``'s answer cell is compiled under (the same on
    every run, so what a learner is shown does not depend on how often it ran)."""
    return f"<answer cell of exercise {nn}>"


def register_source(filename: str, source: str) -> None:
    """Make ``source`` readable by ``linecache`` (tracebacks, :func:`answer_source_of`)."""
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)


#: No line of what a learner is shown is wider (the book's rule for stored outputs).
WIDTH = 100


class _Wrapper(textwrap.TextWrapper):
    """Breaks at spaces, and inside ``A|B|C`` flag lists after a ``|`` (never mid-name)."""

    wordsep_re = re.compile(r"(\s+|(?<=\|)(?=\w))")


def wrap(text: str, width: int = WIDTH) -> str:
    """``text`` with every line wider than ``width`` wrapped under its own indentation."""
    out = []
    for line in text.split("\n"):
        if len(line) <= width:
            out.append(line)
            continue
        indent = " " * (len(line) - len(line.lstrip()))
        out.extend(_Wrapper(width, initial_indent=indent, subsequent_indent=indent + "    ",
                            break_long_words=False).wrap(line.strip()))
    return "\n".join(out)


@dataclass(frozen=True)
class Result:
    """The outcome of checking one answer.

    ``passed`` is the verdict; ``text`` what the learner is shown (the same text in the
    notebook and in the shell); ``misconception`` the catalogue id of a diagnosed mistake
    (None for a pass, a crash, or an answer that could not be run); ``crash`` where the
    learner's code raised; ``requests`` how many requests behaved like the reference.
    """

    passed: bool
    text: str
    misconception: str | None = None
    crash: Crash | None = None
    requests: int = 0
    kind: str = "verdict"  # verdict | answer-error | interface | interrupted

    def __post_init__(self) -> None:
        object.__setattr__(self, "text", wrap(self.text))

    @property
    def output(self) -> str:
        return self.text + "\n"


def _not_solved(nn: str, body: str) -> str:

    ex = get(nn)
    return (f"Exercise {ex.nn} ({ex.slug}) is not solved yet.\n{body}\n"
            f"(hints: `mmaplab exercises hint {ex.nn}`, or mmaplab.exercises.hint(\"{ex.nn}\"))")


def evaluate(nn: str, answer_source: str) -> Result:
    """Run exercise ``nn``'s setup, then ``answer_source``, in a fresh namespace; check it."""

    ex = get(nn)
    ns: dict[str, Any] = {"__name__": "__mmaplab_answer__"}
    try:
        exec(compile(ex.setup_code, f"<setup cell of exercise {nn}>", "exec"), ns)  # noqa: S102
    except Exception as exc:  # noqa: BLE001 - the package's own setup: name it, no traceback
        return Result(False, _not_solved(nn, f"The exercise's setup failed: "
                                         f"{type(exc).__name__}: {exc}"), kind="answer-error")
    filename = answer_filename(nn)
    register_source(filename, answer_source)
    try:
        code = compile(answer_source, filename, "exec")
    except SyntaxError as exc:
        text = (exc.text or "").strip()
        return Result(False, _not_solved(
            nn, f"The answer cell has a syntax error at line {exc.lineno}: {exc.msg}\n  {text}"),
            kind="answer-error")
    try:
        # What the cell prints was shown when the learner ran it: the check shows the verdict.
        with contextlib.redirect_stdout(io.StringIO()):
            exec(code, ns)  # noqa: S102 - the learner's own answer cell, by design
    except BaseException as exc:  # noqa: BLE001 - SystemExit/KeyboardInterrupt are no pass
        crash = find_crash(exc, filename)
        body = (crash.render("running the answer cell") if crash is not None
                else f"running the answer cell raised {type(exc).__name__}: {exc}")
        return Result(False, _not_solved(nn, body.replace("running", "Running", 1)),
                      crash=crash, kind="answer-error")
    missing = [n for n in ex.answer_names if n not in ns]
    if missing:
        names = ", ".join(f"`{n}`" for n in missing)
        return Result(False, _not_solved(nn, f"The answer cell does not define {names} "
                                         f"(the check needs {', '.join(ex.answer_names)})."),
                      kind="interface")
    return run_check(nn, [ns[n] for n in ex.answer_names], filename)


def run_check(nn: str, answer: list[Any], filename: str | None) -> Result:
    """Exercise ``nn``'s own check on the answer's objects (``filename``: their cell)."""

    ex = get(nn)
    try:
        n, failure = verify(nn, *answer, answer_file=filename)
    except RequestTimeout as exc:
        crash = find_crash(exc, filename) if filename else None
        body = f"Your answer {exc}."
        if crash is not None:
            body += (f"\n  It was running line {crash.lineno} of the answer cell: "
                     f"{crash.line.strip()}")
        return Result(False, _not_solved(nn, body), crash=crash, kind="timeout")
    except BaseException as exc:  # noqa: BLE001 - nothing the answer raises is a pass
        crash = find_crash(exc, filename) if filename else None
        body = (crash.render() if crash is not None
                else f"The check stopped: your answer raised {type(exc).__name__}: {exc}")
        return Result(False, _not_solved(nn, body), crash=crash, kind="interrupted")
    if failure is None:
        return Result(True, ex.verdict(n), requests=n)
    return Result(False, str(failure), failure.misconception, failure.crash, n)


def _is_cell(filename: str) -> bool:
    """A notebook cell (IPython's cell files do not exist on disk; ours are ``<...>``),
    not a module: functions imported from a module are checked as they are."""
    return filename.startswith("<") or "ipykernel_" in filename or not os.path.exists(filename)


def answer_source_of(objects: list[Any]) -> tuple[str, str] | None:
    """``(filename, source)`` of the cell that defined the answer's functions, if known.

    In Jupyter each cell is registered with :mod:`linecache` under its own file name, so
    the code object of a function defined in the answer cell leads back to the whole cell.
    """
    for obj in objects:
        code = getattr(getattr(obj, "__func__", obj), "__code__", None)
        if code is None or not _is_cell(code.co_filename):
            continue
        lines = linecache.getlines(code.co_filename)
        if lines:
            return code.co_filename, "".join(lines)
    return None
