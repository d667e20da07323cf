"""The check itself: the learner's hooks against the reference, request by request.

:func:`verify` runs every case of an exercise and returns the first observable difference
as an :class:`~mmaplab.exercises._core.ExerciseFailed` naming the misconception (or, for a
Python mistake in the learner's own code, where it was raised); then the same requests
under the sanitizer, which exercises run by default.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ..lab.diff import first_divergence, render_divergence
from ..lab.scenario import quiet_lockdep, run_case
from ._catalogue import get
from ._core import Exercise, ExerciseFailed, misconception
from ._crash import Crash, find_crash
from ._device import InvalidAnswer

__all__ = ["verify"]

_REFERENCE_CACHE: dict[tuple[str, str, str], list] = {}


def _failure(ex: Exercise, mid: str, body: str, crash: Crash | None = None) -> ExerciseFailed:
    m = misconception(ex, mid)
    # The title once, then what the explanation adds to it.
    explained = f"  {m.explanation}\n" if m.explanation else ""
    text = (f"Exercise {ex.nn} ({ex.slug}) is not solved yet.\n{body}\n"
            f"Misconception [{m.id}]: {m.title}.\n{explained}"
            f"Hint: {m.hint or ex.hints[0]}\n"
            f"  (more: `mmaplab exercises hint {ex.nn} --level 2`, or "
            f"mmaplab.exercises.hint(\"{ex.nn}\", 2))")
    return ExerciseFailed(ex.nn, m.id, text, crash)


def _crash_of(d: Any, answer_file: str | None) -> Crash | None:
    if answer_file is None or d.got.error is None:
        return None
    return find_crash(d.got.error, answer_file)


def _crashed(ex: Exercise, d: Any, crash: Crash) -> ExerciseFailed:
    """A failure that reports where the learner's own code raised (not a misconception)."""
    where = (f"In case '{d.case}', scenario '{d.scenario.name}', request {d.index + 1}: "
             f"{d.op.describe()}")
    body = crash.render() + "\n" + where
    text = (f"Exercise {ex.nn} ({ex.slug}) is not solved yet.\n{body}\n"
            f"(fix the exception first; hints: `mmaplab exercises hint {ex.nn}`)")
    return ExerciseFailed(ex.nn, None, text, crash)


def verify(nn: str, *answer: Any, answer_file: str | None = None
           ) -> tuple[int, ExerciseFailed | None]:
    """Run exercise ``nn`` on ``answer``: ``(requests run, failure or None)``.

    ``answer_file``: the pseudo file name the answer cell was compiled under, so an
    exception raised by the learner's own code is reported at its line.
    """
    ex = get(nn)
    try:
        cases = ex.cases(*answer)
    except InvalidAnswer as exc:
        return 0, _failure(ex, exc.misconception, f"The answer cell does not fit the task: {exc}")
    except TypeError as exc:
        return 0, _failure(ex, "wrong-interface",
                           f"check(\"{nn}\", ...) expects {', '.join(ex.answer_names)}: {exc}")
    n = 0
    for case in cases:
        for scenario in case.scenarios:
            key = (ex.nn, case.name, scenario.name)
            with quiet_lockdep():
                expected = _REFERENCE_CACHE.get(key)
                if expected is None:
                    expected = _REFERENCE_CACHE[key] = run_case(case.reference, scenario)
                got = run_case(case.learner, scenario)
            d = first_divergence(case, scenario, expected, got)
            if d is not None:
                d.reference_errnos = _ReferenceErrnos(ex, cases)
                crash = _crash_of(d, answer_file)
                # A Python mistake on the learner's own line (a typo, a missing import) is
                # reported as such; a NULL dereference is kernel behaviour (an oops), so
                # the catalogue may still name the idea behind it.
                if crash is not None and crash.own and not crash.null_deref:
                    return n, _crashed(ex, d, crash)
                body = render_divergence(d)
                if crash is not None:
                    body = crash.render() + "\n" + body
                found = _sanitizer_finding(case, scenario)
                if found:
                    body += f"\nThe sanitizer also reports:\n  {found}"
                return n, _failure(ex, ex.diagnose(d), body, crash)
            n += len(scenario.ops)
    # Behaviour matches everywhere: now the same requests under the sanitizer, which
    # is on by default for exercises (it catches what no request happened to show).
    for case in cases:
        for scenario in case.scenarios:
            found = _sanitizer_finding(case, scenario)
            if found:
                return n, _failure(ex, "sanitizer", f"In case {case.name!r}, scenario "
                                   f"{scenario.name!r}, the sanitizer reports:\n  {found}")
    return n, None


class _ReferenceErrnos(Mapping[int, int]):
    """errno -> how many requests of the exercise the reference refuses with it.

    Counted on first use: only a divergence in which both sides fail with different
    errnos reads it (to tell a check run in another order from a wrong errno), and
    counting replays the reference on every case, a tenth of a second of a shell check.
    """

    def __init__(self, ex: Exercise, cases: Any) -> None:
        self._args = (ex, cases)
        self._counts: dict[int, int] | None = None

    def _all(self) -> dict[int, int]:
        if self._counts is None:
            self._counts = _reference_errnos(*self._args)
        return self._counts

    def __getitem__(self, key: int) -> int:
        return self._all()[key]

    def __iter__(self) -> Iterator[int]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())


def _reference_errnos(ex: Exercise, cases: Any) -> dict[int, int]:
    out: dict[int, int] = {}
    for case in cases:
        for scenario in case.scenarios:
            key = (ex.nn, case.name, scenario.name)
            with quiet_lockdep():
                steps = _REFERENCE_CACHE.get(key)
                if steps is None:
                    steps = _REFERENCE_CACHE[key] = run_case(case.reference, scenario)
            for step in steps:
                if step.facts is not None and step.facts.errno is not None:
                    out[step.facts.errno] = out.get(step.facts.errno, 0) + 1
    return out


def _sanitizer_finding(case: Any, scenario: Any) -> str | None:
    """The first sanitizer report when the learner's hooks run sanitized (exercises run
    the sanitizer on every scenario: on by default)."""
    with quiet_lockdep():
        steps = run_case(case.learner, scenario, sanitize=True)
    for i, step in enumerate(steps, 1):
        if step.result.startswith("SanitizerReport"):
            return f"request {i} ({step.op.describe()}): {step.result}"
    return None


