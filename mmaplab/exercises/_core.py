"""The exercise machinery: run a learner's hooks and the reference on the same requests.

An exercise builds, for every *case*, two drivers on identical device state — one
wired with the learner's hooks, one with the reference hooks — and runs the same
scenarios (lists of ``mmap``/``munmap``/``mprotect``/fault/``fork``/exit requests,
some with fault injection) on a fresh :class:`~mmaplab.MM` for each.  After every
request it records what a user or the driver could observe: the result (address
or errno), the driver's private state, the VMAs, the PTEs, the child's VMAs/PTEs
after ``fork`` and kernel warnings.  The first difference is reported as an
:class:`ExerciseFailed` naming the request, what was expected, what happened and
the misconception behind it.

Nothing here reads the learner's source text: only behaviour is compared.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..drivers.base import WINDOW, Driver, Op, Scenario
from ..kernel.errors import (
    BusError,
    HookError,
    KernelError,
    SegmentationFault,
    errname,
)
from ..kernel.flags import PAGE_SIZE
from ..kernel.mm import MM
from ..kernel.page_alloc import reset_allocator
from ..lab.budget import DEFAULT_SECONDS, time_budget
from ..lab.compare import apply_op
from .source import ExerciseSource, load

__all__ = ["ExerciseFailed", "Misconception", "Case", "Divergence", "Exercise", "Step",
           "run_case", "first_divergence", "WINDOW_PAGES"]

#: Requests address pages ``[0, WINDOW_PAGES)`` relative to ``WINDOW``.
WINDOW_PAGES = 64


class ExerciseFailed(AssertionError):
    """The learner's answer does not behave like the reference.

    ``str()`` is the whole, self-contained diagnosis; ``misconception`` is the
    catalogue id (e.g. ``"count-in-prepare"``), ``exercise`` the exercise number.
    """

    def __init__(self, exercise: str, misconception: str | None, message: str,
                 crash: Any = None) -> None:
        super().__init__(message)
        self.exercise = exercise
        self.misconception = misconception
        #: A :class:`~mmaplab.exercises.runner.Crash` when the learner's code raised.
        self.crash = crash


@dataclass(frozen=True)
class Misconception:
    """A catalogued wrong idea: short id, one-line title and the explanation shown."""

    id: str
    title: str
    explanation: str


# -- observing one run -------------------------------------------------------------

@dataclass(frozen=True)
class Step:
    """What could be observed right after one request."""

    op: Op
    result: str
    state: tuple[tuple[str, str], ...]
    maps: tuple[str, ...]
    ptes: tuple[str, ...]
    child_maps: tuple[str, ...]
    child_ptes: tuple[str, ...]
    warnings: tuple[str, ...]
    #: The exception the request ended in, if any (not compared: ``result`` names it);
    #: kept so a crash in the learner's code can be traced to its line.
    error: BaseException | None = field(default=None, compare=False, repr=False)
    #: What ``run_case(..., observe=)`` recorded after the request (structured facts for a
    #: rule-based diagnosis, e.g. :func:`mmaplab.lab.diagnose.snapshot`); not compared.
    facts: Any = field(default=None, compare=False, repr=False)


def _page(addr: int) -> int:
    return (addr - WINDOW) // PAGE_SIZE


def _describe_priv(priv: Any) -> str:
    if priv is None:
        return "NULL"
    describe = getattr(priv, "describe", None)
    if callable(describe):
        return str(describe())
    if isinstance(priv, Driver):
        # The driver state, whichever subclass wires it (the learner's, a mutant's):
        # the first public class of its hierarchy, e.g. ``TcmuDev``.
        return next(c.__name__ for c in type(priv).__mro__ if not c.__name__.startswith("_"))
    return type(priv).__name__


def _maps(mm: MM | None) -> tuple[str, ...]:
    if mm is None:
        return ()
    out = []
    for v in mm.vmas():
        ops = v.vm_ops.name if v.vm_ops is not None else "NULL"
        out.append(f"pages {_page(v.vm_start)}-{_page(v.vm_end)} pgoff={v.vm_pgoff:#x} "
                   f"{v.vm_flags.names()} prot={v.vm_page_prot.describe()} vm_ops={ops} "
                   f"private_data={_describe_priv(v.vm_private_data)}")
    return tuple(out)


def _ptes(mm: MM | None) -> tuple[str, ...]:
    if mm is None:
        return ()
    return tuple(f"page {_page(a)}: {pte}" for a, pte in
                 mm.pagetable.entries(WINDOW, WINDOW + WINDOW_PAGES * PAGE_SIZE).items())


def _state(driver: Driver) -> tuple[tuple[str, str], ...]:
    return tuple((str(k), repr(v)) for k, v in driver.observe().items())


def _result(exc: BaseException) -> str:
    if isinstance(exc, SegmentationFault):
        return "SIGSEGV"
    if isinstance(exc, BusError):
        return "SIGBUS"
    if isinstance(exc, HookError):
        return f"hook error ({exc})"
    if isinstance(exc, KernelError):
        if type(exc) is KernelError:
            return f"-{errname(exc.errno)}"
        return f"{type(exc).__name__} ({exc})"
    return f"crash ({type(exc).__name__}: {exc})"


def _apply(op: Op, mm: MM, driver: Driver, files: list, child: list) -> str:
    """One request, through the harness's :func:`~mmaplab.lab.compare.apply_op`,
    described for a learner (mmap: where it landed relative to the request)."""
    ret = apply_op(op, mm, driver, files, child)
    if op.kind == "mmap":
        want = WINDOW + op.page * PAGE_SIZE
        return "ok" if ret == want else f"ok at page {_page(ret)}"
    return f"ok ({ret})" if op.kind == "fault" else "ok"


def request_budget() -> float:
    """Seconds one request may take (``MMAPLAB_REQUEST_BUDGET`` overrides the default)."""
    value = os.environ.get("MMAPLAB_REQUEST_BUDGET")
    try:
        return float(value) if value else DEFAULT_SECONDS
    except ValueError:
        return DEFAULT_SECONDS


#: ``observe(mm, child, driver, exception or None, warnings so far) -> facts``.
Observer = Callable[[MM, "MM | None", Driver, "BaseException | None", int], Any]


def run_case(make: Callable[[], Driver], scenario: Scenario,
             sanitize: bool = False, observe: Observer | None = None) -> list[Step]:
    """Run ``scenario`` on a fresh address space and a fresh driver from ``make``.

    ``sanitize``: run under :mod:`mmaplab.kernel.debug.sanitizer`; its findings become results.
    ``observe``: called after every request; what it returns is the step's ``facts``.
    Every request runs within :func:`request_budget` seconds, else
    :class:`~mmaplab.lab.budget.RequestTimeout` is raised (the run is abandoned).
    """
    budget = request_budget()
    reset_allocator()
    driver = make()
    mm = MM(sanitize=sanitize)
    files: list = []
    child: list[MM] = []
    steps: list[Step] = []
    seen = 0
    inject = (mm.injecting(*scenario.inject) if scenario.inject is not None
              else contextlib.nullcontext())
    with inject:
        for i, op in enumerate(scenario.ops, 1):
            error: BaseException | None = None
            what = f"request {i} of scenario {scenario.name!r} ({op.describe()})"
            try:
                with time_budget(budget, what):
                    result = _apply(op, mm, driver, files, child)
            except Exception as exc:  # noqa: BLE001 - every outcome is an observation
                result, error = _result(exc), exc
            kid = child[0] if child else None
            warnings = list(mm.warnings) + (list(kid.warnings) if kid is not None else [])
            new, seen = tuple(warnings[seen:]), len(warnings)
            try:
                state = _state(driver)
            except Exception as exc:  # noqa: BLE001
                state = (("observe() failed", _result(exc)),)
            facts = observe(mm, kid, driver, error, len(warnings)) if observe else None
            steps.append(Step(op, result, state, _maps(mm), _ptes(mm), _maps(kid), _ptes(kid),
                              new, error, facts))
    return steps


# -- comparing two runs -------------------------------------------------------------

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

    @property
    def op(self) -> Op:
        return self.expected.op

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


# -- exercises ------------------------------------------------------------------------

Rule = tuple[str, Callable[[Divergence], bool]]


@dataclass
class Exercise:
    """One exercise's machinery: learner interface, cases, diagnosis.

    Everything a learner reads (prose, setup, stub, solution, hints, check cell) lives in
    the exercise's one source, ``mmaplab/exercises/sources/<nn>_<slug>.py``
    (:attr:`source`).
    """

    nn: str
    slug: str
    kind: str  # "concept" or "driver"
    label: str  # what the verdict names, e.g. "hpet mmap_prepare"
    #: Names the answer cell defines, in the order ``check()`` takes them.
    answer_names: tuple[str, ...]
    #: Builds the cases from the learner's objects (after validating them).
    cases: Callable[..., Sequence[Case]]
    misconceptions: dict[str, Misconception]
    #: Ordered ``(misconception id, predicate)``; the first match names the mistake.
    rules: list[Rule]
    #: The driver model the reference comes from (driver exercises), for the report.
    driver: str | None = None
    fallback: str = "behaviour-differs"
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.nn}_{self.slug}"

    @property
    def source(self) -> ExerciseSource:
        """The exercise's one source (prose, setup, stub, solution, hints, check)."""
        return load(self.name)

    @property
    def title(self) -> str:
        return self.source.title

    @property
    def hints(self) -> tuple[str, ...]:
        return self.source.hints

    @property
    def setup_code(self) -> str:
        return self.source.setup

    @property
    def stub(self) -> str:
        return self.source.stub

    @property
    def check_code(self) -> str:
        return self.source.check

    def reference_cases(self) -> Sequence[Case]:
        return self.cases(*self.extra["reference_args"]())

    def n_requests(self, cases: Sequence[Case]) -> int:
        return sum(len(s.ops) for c in cases for s in c.scenarios)

    def verdict(self, n: int) -> str:
        return f"✔ {n} requests behave like the reference ({self.label})"

    def diagnose(self, d: Divergence) -> str:
        got = d.got.result
        if got.startswith("hook error") and "must return 0 or a negative errno" in got and (
                "returned" in got):
            return "bad-return-value"
        for mid, pred in self.rules:
            try:
                if pred(d):
                    return mid
            except Exception:  # noqa: BLE001 - a rule that cannot judge does not match
                continue
        if _no_action(d):
            return "no-action"
        if d.aspect == "maps" and "vm_ops=NULL" in " ".join(d.got.maps) and (
                "vm_ops=NULL" not in " ".join(d.expected.maps)):
            return "vm-ops-not-set"
        return self.fallback


def _no_action(d: Divergence) -> bool:
    special = ("PFNMAP", "MIXEDMAP")
    if d.aspect not in ("maps", "ptes") or not d.got.result.startswith("ok"):
        return False
    e, g = " ".join(d.expected.maps), " ".join(d.got.maps)
    return (any(f in e for f in special) and not any(f in g for f in special)) or (
        d.aspect == "ptes" and bool(d.expected.ptes) and not d.got.ptes)


GENERIC = {
    "behaviour-differs": Misconception(
        "behaviour-differs", "the hook does something the reference does not",
        "The request above shows where your hook's behaviour first departs from the "
        "reference. Compare what the legacy hook does at that point with what yours does."),
    "bad-return-value": Misconception(
        "bad-return-value", "hooks return 0 or a negative errno",
        "A kernel hook reports failure by returning a negative errno such as "
        "-errno.EINVAL, and success by returning 0 (or None). Anything else is a bug."),
    "no-action": Misconception(
        "no-action", "nothing asks the kernel to map anything",
        "The hook returned 0 but recorded no action (or the wrong one), so the new VMA has "
        "no page-table entries and lacks the flags the mapping helper would have set. Call "
        "the mmap_action_*() helper that matches the legacy helper."),
    "vm-ops-not-set": Misconception(
        "vm-ops-not-set", "the descriptor's vm_ops is an output",
        "Install the operations with desc.vm_ops = ...; the kernel copies them into the new "
        "VMA. Without them none of mapped, open, close or fault ever runs."),
    "sanitizer": Misconception(
        "sanitizer", "the hook breaks a rule the kernel's debug checks enforce",
        "On these requests your hook behaves like the reference, but the sanitizer (the "
        "model's lockdep/KASAN/refcount checks) caught it doing something that breaks in "
        "other circumstances. Its report above names the rule and the step."),
    "wrong-interface": Misconception(
        "wrong-interface", "the answer does not define what the exercise asks for",
        "The check needs the objects named in the task, with the types described there."),
}


def misconception(ex: Exercise, mid: str) -> Misconception:
    return ex.misconceptions.get(mid) or GENERIC[mid]


@contextlib.contextmanager
def quiet_lockdep() -> Iterator[None]:
    """Leave the global lock checker clean even if a learner hook blew up mid-way."""
    from ..kernel.locks import lockdep

    mark = lockdep.mark()
    try:
        yield
    finally:
        lockdep.unwind(mark)
