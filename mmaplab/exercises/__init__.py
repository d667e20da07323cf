"""Exercises: convert deprecated ``f_op->mmap`` hooks; checks compare behaviour.

``check("NN", *answer)`` runs the learner's hooks and the reference through the
model on the same requests and raises :class:`ExerciseFailed` (an
``AssertionError``) at the first observable difference, naming the request, the
expected and actual outcome and the misconception behind it.  On success it
prints one deterministic line, e.g.
``✔ 41 requests behave like the reference (hpet mmap_prepare)``.

``hint("NN", level)`` prints graded hints (1 = nudge, 2 = which helper/flag,
3 = nearly the answer).  ``EXERCISES`` is the catalogue, in learning order.
"""

from __future__ import annotations

from typing import Any

from ._catalogue import EXERCISES, get
from ._core import (
    GENERIC,
    Exercise,
    ExerciseFailed,
    Misconception,
    first_divergence,
    misconception,
    quiet_lockdep,
    render_divergence,
    run_case,
)
from ._device import InvalidAnswer

__all__ = ["check", "hint", "hints", "EXERCISES", "get", "ExerciseFailed", "Exercise",
           "Misconception", "misconceptions", "verify"]

_REFERENCE_CACHE: dict[tuple[str, str, str], list] = {}


def _failure(ex: Exercise, mid: str, body: str) -> ExerciseFailed:
    m = misconception(ex, mid)
    text = (f"Exercise {ex.nn} ({ex.slug}) is not solved yet.\n{body}\n"
            f"Misconception [{m.id}]: {m.title}.\n  {m.explanation}\n"
            f"Hint: {ex.hints[0]}\n"
            f"  (more: `mmaplab exercises hint {ex.nn} --level 2`, or "
            f"mmaplab.exercises.hint(\"{ex.nn}\", 2))")
    return ExerciseFailed(ex.nn, m.id, text)


def verify(nn: str, *answer: Any) -> tuple[int, ExerciseFailed | None]:
    """Run exercise ``nn`` on ``answer``: ``(requests run, failure or None)``."""
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
                body = render_divergence(d)
                found = _sanitizer_finding(case, scenario)
                if found:
                    body += f"\nThe sanitizer also reports:\n  {found}"
                return n, _failure(ex, ex.diagnose(d), body)
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


def _sanitizer_finding(case: Any, scenario: Any) -> str | None:
    """The first sanitizer report when the learner's hooks run sanitized (exercises run
    the sanitizer on every scenario: on by default)."""
    with quiet_lockdep():
        steps = run_case(case.learner, scenario, sanitize=True)
    for i, step in enumerate(steps, 1):
        if step.result.startswith("SanitizerReport"):
            return f"request {i} ({step.op.describe()}): {step.result}"
    return None


def check(nn: str, *answer: Any) -> None:
    """Check exercise ``nn``: print the verdict, or raise :class:`ExerciseFailed`."""
    n, failure = verify(nn, *answer)
    if failure is not None:
        raise failure
    print(get(nn).verdict(n))


def hints(nn: str) -> tuple[str, str, str]:
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
    return {**GENERIC, **ex.misconceptions}


_ = (first_divergence, render_divergence, run_case)
