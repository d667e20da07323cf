"""Comparing two runs of a scenario: the first observable difference, rendered.

Not a kernel structure: the lab's engine.  A :class:`Case` is one device configuration
with the learner's (or a mutant's) driver and the reference; :func:`first_divergence`
finds the first request and aspect (result, driver state, VMAs, PTEs, the fork child's,
kernel warnings) at which two lists of :class:`~mmaplab.lab.scenario.Step` differ, and
:func:`render_divergence` says it in words a learner reads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..drivers.base import Driver, Op, Scenario
from .diagnose import Facts, classify
from .scenario import Step

__all__ = ["Case", "Divergence", "first_divergence", "render_divergence", "ASPECTS",
           "ASPECT_TITLES"]


ASPECTS = ("result", "state", "maps", "ptes", "child_maps", "child_ptes", "warnings")
ASPECT_TITLES = {
    "result": "result of the request",
    "state": "driver state",
    "maps": "VMAs",
    "ptes": "page table entries",
    "child_maps": "VMAs of the fork child",
    "child_ptes": "page table entries of the fork child",
    "warnings": "kernel warnings",
}


@dataclass(frozen=True)
class Case:
    """One device configuration: learner and reference drivers plus the requests."""

    name: str
    learner: Callable[[], Driver]
    reference: Callable[[], Driver]
    scenarios: tuple[Scenario, ...]


@dataclass
class Divergence:
    """The first observable difference between the learner's run and the reference."""

    case: str
    scenario: Scenario
    index: int
    aspect: str
    expected: Step
    got: Step
    expected_steps: list[Step]
    got_steps: list[Step]
    #: The case the divergence was found in (its learner factory and scenarios), so a
    #: diagnosis may replay the learner's answer on the other scenarios.
    source: Case | None = None
    #: errno -> how often the reference returns it in the exercise (set by the check).
    reference_errnos: dict[int, int] = field(default_factory=dict)

    @property
    def op(self) -> Op:
        return self.expected.op

    @property
    def rule(self) -> str | None:
        """The rule of :data:`mmaplab.lab.diagnose.RULES` the answer broke here (from the
        steps' structured facts; None when they carry none or no rule fits)."""
        e, g = self.expected.facts, self.got.facts
        if not isinstance(e, Facts) or not isinstance(g, Facts):
            return None
        before = None
        if self.index > 0:
            e0 = self.expected_steps[self.index - 1].facts
            g0 = self.got_steps[self.index - 1].facts
            before = (e0, g0) if isinstance(e0, Facts) and isinstance(g0, Facts) else None
        return classify(e, g, before=before, kind=self.op.kind,
                        reference_errnos=self.reference_errnos)

    def value(self, which: str) -> Any:
        step = self.expected if which == "expected" else self.got
        return getattr(step, self.aspect)

    def state(self, which: str, key: str, before: bool = False) -> str | None:
        steps = self.expected_steps if which == "expected" else self.got_steps
        i = self.index - 1 if before else self.index
        if i < 0:
            return None
        return dict(steps[i].state).get(key)

    def text(self) -> str:
        """Everything the expected/got values contain, for keyword rules."""
        return " ".join(str(getattr(self.got, a)) for a in ASPECTS)


def first_divergence(case: Case, scenario: Scenario, expected: list[Step],
                     got: list[Step]) -> Divergence | None:
    for i, (e, g) in enumerate(zip(expected, got, strict=True)):
        for aspect in ASPECTS:
            if getattr(e, aspect) != getattr(g, aspect):
                return Divergence(case.name, scenario, i, aspect, e, g, expected, got, case)
    return None


def _fmt_value(aspect: str, value: Any) -> list[str]:
    if aspect == "result":
        return [str(value)]
    if aspect == "state":
        return [", ".join(f"{k}={v}" for k, v in value) or "(nothing)"]
    return list(value) or ["(none)"]


def _tokens(line: str) -> list[str]:
    return [t for part in line.split() for t in part.split("|")]


def _line_diff(e: str, g: str) -> str:
    te, tg = _tokens(e), _tokens(g)
    missing = [t for t in te if t not in tg]
    extra = [t for t in tg if t not in te]
    parts = []
    if missing:
        parts.append("missing " + ", ".join(missing))
    if extra:
        parts.append("unexpected " + ", ".join(extra))
    return "; ".join(parts)


def _diff_lines(aspect: str, expected: Any, got: Any) -> list[str]:
    exp, act = _fmt_value(aspect, expected), _fmt_value(aspect, got)
    if aspect in ("result", "state"):
        return [f"  expected: {exp[0]}", f"  got:      {act[0]}"]
    lines = [f"  expected {ASPECT_TITLES[aspect]}:"] + [f"      {x}" for x in exp]
    lines += [f"  got {ASPECT_TITLES[aspect]}:"] + [f"      {x}" for x in act]
    if len(exp) == len(act):
        diffs = [(x, _line_diff(x, y)) for x, y in zip(exp, act, strict=True) if x != y]
        if diffs:
            lines.append("  difference:")
            lines += [f"    {' '.join(x.split()[:2])}: {d}" for x, d in diffs]
    else:
        lines.append(f"  difference: {len(exp)} expected, {len(act)} present")
    return lines


def render_divergence(d: Divergence) -> str:
    ops = d.scenario.ops
    lines = [f"In case '{d.case}', scenario '{d.scenario.name}'"
             + (f" (with fault injection: {d.scenario.inject[0]} fails on its "
                f"#{d.scenario.inject[1]} evaluation)" if d.scenario.inject else "") + ":"]
    if d.scenario.note:
        lines.append(f"  ({d.scenario.note})")
    for i, op in enumerate(ops[: d.index + 1]):
        mark = "->" if i == d.index else "  "
        res = d.got_steps[i].result
        lines.append(f"  {mark} {i + 1}. {op.describe()}  => {res}")
    lines.append(f"Request {d.index + 1} differs in the {ASPECT_TITLES[d.aspect]}:")
    lines += _diff_lines(d.aspect, d.value("expected"), d.value("got"))
    if d.aspect != "result" and d.expected.result == d.got.result:
        lines.append(f"  (both returned {d.expected.result})")
    elif d.aspect != "result":
        lines.append(f"  (expected result {d.expected.result}, got {d.got.result})")
    return "\n".join(lines)
