"""Comparing two runs of a scenario: one diff, two renderings.

Not a kernel structure: the lab's engine.  ``_differing()`` walks two runs
(lists of :class:`~mmaplab.lab.observe.Observation`) request by request and yields
every key at which they differ.  The harness (:mod:`mmaplab.lab.compare`) keeps them
all, as :class:`Difference` s over its difference keys (:func:`diff_runs`); the
exercises keep the first, as a :class:`Divergence` over the learner's aspects
(:func:`first_divergence`) for one :class:`Case` (a device configuration with the
learner's, or a mutant's, driver and the reference), and :func:`render_divergence`
says it in words a learner reads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..drivers.base import Driver, Op, Scenario
from .diagnose import Facts, classify
from .observe import ASPECTS, KEY_ORDER, Observation, OutcomeKind

__all__ = ["Case", "Divergence", "first_divergence", "render_divergence", "ASPECT_TITLES",
           "Difference", "diff_runs", "LABELS"]

#: Default labels of the two sides, as used in explanations.
LABELS = ("the legacy driver", "the converted driver")


def _differing(a: Sequence[Observation], b: Sequence[Observation],
               keys: Callable[[Observation, Observation], Sequence[str]],
               value: Callable[[Observation, str], Any]
               ) -> Iterator[tuple[Observation, str, Any, Any]]:
    """The one diff: ``(observation of a, key, value in a, value in b)`` for every
    request and key at which two runs differ, in request then key order.  The harness
    reads its keys through :meth:`Observation.aspect`, the exercises their aspects."""
    for oa, ob in zip(a, b, strict=True):
        for key in keys(oa, ob):
            va, vb = value(oa, key), value(ob, key)
            if va != vb:
                yield oa, key, va, vb


ASPECT_TITLES = {
    "result": "result of the request",
    "state": "driver state",
    "maps": "VMAs",
    "ptes": "page table entries",
    "child_maps": "VMAs of the fork child",
    "child_ptes": "page table entries of the fork child",
    "warnings": "kernel warnings",
    "locks": "locks held on return",
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
    expected: Observation
    got: Observation
    expected_steps: list[Observation]
    got_steps: list[Observation]
    #: The case the divergence was found in (its learner factory and scenarios), so a
    #: diagnosis may replay the learner's answer on the other scenarios.
    source: Case | None = None
    #: errno -> how often the reference returns it in the exercise (set by the check).
    reference_errnos: Mapping[int, int] = field(default_factory=dict)
    #: What a diagnosis worked out about this divergence, kept so that each renderer
    #: that re-diagnoses it does not replay the mutants again.
    memo: dict[str, Any] = field(default_factory=dict)

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


def first_divergence(case: Case, scenario: Scenario, expected: list[Observation],
                     got: list[Observation]) -> Divergence | None:
    """The first request and learner aspect at which ``got`` departs from ``expected``."""
    for e, aspect, _, _ in _differing(expected, got, lambda _a, _b: ASPECTS, getattr):
        i = e.index
        return Divergence(case.name, scenario, i, aspect, e, got[i], expected, got, case)
    return None


def _fmt_value(aspect: str, value: Any) -> list[str]:
    if aspect == "result":
        return [str(value)]
    if aspect == "state":
        return [", ".join(f"{k}={v}" for k, v in value) or "(nothing)"]
    return list(value) or ["(none)"]


def _tokens(line: str) -> list[str]:
    return [t for part in line.split() for t in part.split("|")]


def _line_key(line: str) -> str:
    """What a line is about: its first two words ("page 3", "pages 0..2"), without the
    colon the line puts after them."""
    return " ".join(line.split()[:2]).rstrip(":")


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
    if not list(expected) or not list(got):
        pass  # one side has none: the two lists above say it all
    elif len(exp) == len(act):
        diffs = [(x, _line_diff(x, y)) for x, y in zip(exp, act, strict=True) if x != y]
        if diffs:
            lines.append("  difference:")
            lines += [f"    {_line_key(x)}: {d}" for x, d in diffs]
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


# -- the harness: every difference, by key ---------------------------------------------

def _fmt(value: Any) -> str:
    if isinstance(value, tuple):
        return "[" + "; ".join(str(v) for v in value) + "]" if value else "nothing"
    return str(value)


@dataclass(frozen=True)
class Difference:
    """One observable difference between the two runs of a scenario.

    ``key`` is a short stable id (see the module docstring); ``legacy`` and
    ``prepare`` are the two sides' observed values as text (the first and the
    second driver given to :func:`compare`); ``what`` names the operation.
    """

    key: str
    scenario: str
    op_index: int
    what: str
    legacy: str
    prepare: str
    labels: tuple[str, str] = LABELS
    #: For the ``errno`` key: each side's outcome as ``(OutcomeKind, detail)``, which
    #: ``explain()`` words from (not compared: derived from ``legacy``/``prepare``).
    outcomes: tuple[tuple[OutcomeKind, str], ...] | None = field(default=None, compare=False)

    @property
    def family(self) -> str:
        """``state`` for ``state:<field>``, else the key."""
        return self.key.split(":", 1)[0]

    def explain(self) -> str:
        """The difference in words a learner understands."""
        a, b = self.labels
        where = f"after op {self.op_index} ({self.what})"
        if self.family == "state":
            return (f"{where} {a} left {self.key[6:]} = {self.legacy} but {b} left "
                    f"{self.prepare}")
        if self.key == "errno":
            (ka, da), (kb, db) = self.outcomes or ((OutcomeKind.OTHER, self.legacy),
                                                  (OutcomeKind.OTHER, self.prepare))
            return (f"op {self.op_index} ({self.what}) {_outcome(ka, da)} with {a} but "
                    f"{_outcome(kb, db)} with {b}")
        if self.key == "hooks":
            return (f"during op {self.op_index} ({self.what}) the vm_ops callbacks called were "
                    f"{self.legacy} with {a} but {self.prepare} with {b}")
        if self.key == "warnings":
            return (f"during op {self.op_index} ({self.what}) the kernel warned "
                    f"{self.legacy} with {a} but {self.prepare} with {b}")
        if self.key == "locks":
            return (f"op {self.op_index} ({self.what}) left {self.legacy} held with {a} but "
                    f"{self.prepare} with {b}")
        child = self.key.startswith("child_")
        aspect = _ASPECT_WORDS.get(self.key.removeprefix("child_"), self.key)
        space = "the fork child's " if child else ""
        return (f"{where} {space}{aspect} differ: with {a} {self.legacy}; with {b} "
                f"{self.prepare}")

    def render(self) -> str:
        return f"[{self.key}] {self.scenario} #{self.op_index}: {self.explain()}"


_ASPECT_WORDS = {
    "maps": "/proc/self/maps lines",
    "flags": "VMA flags",
    "page_prot": "VMA page protections",
    "vm_ops": "VMA vm_ops",
    "private_data": "VMA vm_private_data",
    "pte": "page table entries",
}


def _outcome(kind: OutcomeKind, detail: str) -> str:
    """A request's outcome in words, from its fields (``Observation.outcome_kind``)."""
    if kind is OutcomeKind.ERRNO:
        return f"failed with {detail}"
    if kind is OutcomeKind.MAPPED:
        return f"succeeded at {detail}"
    if kind is OutcomeKind.OK:
        return "succeeded"
    if kind is OutcomeKind.FAULTED:
        return f"succeeded, {detail}"
    return f"ended in {detail}"


def _keys(a: Observation, b: Observation) -> list[str]:
    fields = [k for k, _ in a.state] + [k for k, _ in b.state if k not in dict(a.state)]
    keys: list[str] = []
    for k in KEY_ORDER:
        if k == "state":
            keys.extend(f"state:{f}" for f in fields)
        else:
            keys.append(k)
    return keys


def diff_runs(a: Sequence[Observation], b: Sequence[Observation], scenario: Scenario | str,
              labels: tuple[str, str] = LABELS) -> list[Difference]:
    """Every (op, key) at which run ``a`` and run ``b`` differ, in op then key order."""
    name = scenario if isinstance(scenario, str) else scenario.name
    by_index = {o.index: o for o in b}
    return [Difference(key, name, oa.index, oa.what, _fmt(va), _fmt(vb), labels,
                       _outcomes(oa, by_index[oa.index]) if key == "errno" else None)
            for oa, key, va, vb in _differing(a, b, _keys, Observation.aspect)]


def _outcomes(a: Observation, b: Observation) -> tuple[tuple[OutcomeKind, str], ...]:
    return ((a.outcome_kind, a.outcome_detail), (b.outcome_kind, b.outcome_detail))
