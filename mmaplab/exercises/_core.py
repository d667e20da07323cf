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

Nothing here reads the learner's source text: only behaviour is compared.  The engine
(running, observing and diffing scenarios) is the lab's (:mod:`mmaplab.lab.scenario`,
:mod:`mmaplab.lab.observe`, :mod:`mmaplab.lab.diff`), imported from there; this module
holds what is the exercises' own: :class:`Exercise`, :class:`Misconception`, the generic
misconceptions and :class:`ExerciseFailed`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..kernel.errors import HookError
from ..lab.diagnose import RULES
from ..lab.diff import Case, Divergence
from ..lab.observe import Observation

if TYPE_CHECKING:  # the sources are read only when a text is asked for (not by a check)
    from .source import ExerciseSource

__all__ = ["ExerciseFailed", "Misconception", "Exercise", "Rule", "GENERIC", "BY_RULE",
           "misconception"]


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
    #: The hint shown with this diagnosis (None: the exercise's first hint).
    hint: str | None = None


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
        from .source import load

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
        err = d.got.error
        # Not an errno at all: None-like garbage, a positive errno (C's `return EINVAL;`),
        # a number beyond the errno range.
        if isinstance(err, HookError) and err.kind in _BAD_RETURN_KINDS:
            return "bad-return-value"
        if d.rule == "hook-crash":
            return "hook-crash"
        for mid, pred in self.rules:
            try:
                if pred(d):
                    return mid
            except Exception:  # noqa: BLE001 - a rule that cannot judge does not match
                continue
        # No catalogued mistake behaves like this answer: explain the rule it broke.
        if d.rule is not None:
            return d.rule
        if _no_action(d):
            return "no-action"
        if d.aspect == "maps" and _no_vm_ops(d.got) and not _no_vm_ops(d.expected):
            return "vm-ops-not-set"
        return self.fallback


def _no_vm_ops(o: Observation) -> bool:
    return any(v.vm_ops == "NULL" for v in o.vmas)


_SPECIAL = frozenset({"PFNMAP", "MIXEDMAP"})
#: The ``HookError.kind`` of a return value that is not 0 or a negative errno
#: (:func:`mmaplab.kernel.hooks.call_hook`).
_BAD_RETURN_KINDS = frozenset({"not-an-int", "positive", "not-an-errno"})


def _no_action(d: Divergence) -> bool:
    """The hook succeeded but recorded no (or the wrong) action: the reference's VMA is a
    PFN/mixed map and the answer's is not, or the reference has PTEs and the answer none."""
    if d.aspect not in ("maps", "ptes") or d.got.error is not None:
        return False

    def special(o: Observation) -> bool:
        return any(not _SPECIAL.isdisjoint(v.flag_set) for v in o.vmas)

    return (special(d.expected) and not special(d.got)) or (
        d.aspect == "ptes" and bool(d.expected.pte_list) and not d.got.pte_list)


GENERIC = {
    "behaviour-differs": Misconception(
        "behaviour-differs", "the hook does something the reference does not",
        "The request above shows where your hook's behaviour first departs from the "
        "reference. Compare what the legacy hook does at that point with what yours does."),
    "bad-return-value": Misconception(
        "bad-return-value", "hooks return 0 or a negative errno",
        "A kernel hook reports failure by returning a negative errno such as "
        "-errno.EINVAL, and success by returning 0 (or None). Anything else is a bug.",
        "Return 0 on success and a negated errno on failure: -errno.ENODEV (-ENODEV in C), "
        "never errno.ENODEV."),
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


#: One misconception per rule of the contract: the diagnosis when no catalogued mistake
#: behaves like the answer, but the run shows which rule it broke.
BY_RULE = {r.id: Misconception(r.id, r.title, r.explanation, r.hint) for r in RULES.values()}


def misconception(ex: Exercise, mid: str) -> Misconception:
    return ex.misconceptions.get(mid) or GENERIC.get(mid) or BY_RULE[mid]
