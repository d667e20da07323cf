"""Running a scenario: one request after another on a fresh address space.

Not a kernel structure: the lab's engine, the one every reader uses: the equivalence
harness (:mod:`mmaplab.lab.compare`), the mutant checks and the exercises.
:func:`apply_op` carries out one :class:`~mmaplab.drivers.base.Op` the way a process
would (``mmap``, ``munmap``, ``mprotect``, a fault, ``fork``, exit); :func:`run_scenario`
runs a whole scenario on a fresh :class:`~mmaplab.MM` and takes one
:class:`~mmaplab.lab.observe.Observation` after every request (optionally under the
sanitizer, within a time budget, with structured facts for a rule-based diagnosis);
:func:`run_case` is the same run as the exercises' checks make it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from ..drivers.base import WINDOW, Driver, Op, Scenario
from ..kernel.debug import events
from ..kernel.flags import MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PAGE_SIZE
from ..kernel.fs import File
from ..kernel.mm import MM
from ..kernel.page_alloc import reset_allocator
from .budget import request_budget, time_budget
from .diagnose import snapshot
from .observe import FactsHook, Observation, observe

__all__ = ["apply_op", "run_scenario", "run_case", "quiet_lockdep", "LEGACY_INJECTION"]


def apply_op(op: Op, mm: MM, driver: Driver, files: list[File], child: list[MM]) -> Any:
    """Carry out one scenario operation on ``mm``.

    ``files`` holds the driver files opened so far (an ``mmap`` op with
    ``same_file`` reuses the first); ``child`` holds the live fork child.
    Returns the address for ``mmap``/``anon``, the PTE for ``fault``, else None;
    failures raise as the model raises them.
    """
    addr = WINDOW + op.page * PAGE_SIZE
    length = op.pages * PAGE_SIZE
    if op.kind == "mmap":
        if op.same_file and files:
            file = files[0]
        else:
            file = driver.open(op.mode)
            files.append(file)
        return mm.mmap(addr, length, op.prot, op.flags, file, op.offset_pages * PAGE_SIZE)
    if op.kind == "anon":
        return mm.mmap(addr, length, op.prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED)
    if op.kind == "munmap":
        mm.munmap(addr, length)
    elif op.kind == "mprotect":
        mm.mprotect(addr, length, op.prot)
    elif op.kind == "fault":
        return mm.fault(addr, op.write)
    elif op.kind == "fork":
        if child:
            child.pop().exit()
        child.append(mm.fork())
    elif op.kind == "child_exit":
        if child:
            child.pop().exit()
    elif op.kind == "exit":
        mm.exit()
    else:
        raise ValueError(f"unknown op kind {op.kind!r}")
    return None


# -- running one scenario ------------------------------------------------------------

#: Injection points that only the mmap_prepare path consults -> the legacy equivalent.
#: The work they stand for happened *inside* the legacy ``->mmap`` hook, so a driver whose
#: ``variant`` is ``"legacy"`` gets the same errno at the ``mmap`` point instead (the
#: legacy hook fails; mmap fails and leaves nothing behind).
LEGACY_INJECTION: dict[str, str] = {
    "mmap_action_complete": "mmap",
    "mapped": "mmap",
    "success_hook": "mmap",
}


def run_scenario(driver: Driver | Callable[[], Driver], scenario: Scenario, *,
                 sanitize: bool = False, facts: FactsHook | None = None,
                 budget: float | None = None) -> list[Observation]:
    """Run ``scenario`` on a fresh address space with ``driver`` (an instance, or a
    factory) and observe every request (:func:`mmaplab.lab.observe.observe`).

    Pass a *fresh* driver: the scenario starts from the device state it has.  An
    exception of a request becomes its outcome and the run goes on with the next one.
    ``sanitize``: run under :mod:`mmaplab.kernel.debug.sanitizer` (its findings become
    outcomes).  ``facts``: called after every request; what it returns is the
    observation's ``facts``.  ``budget``: seconds each request may take, else
    :class:`~mmaplab.lab.budget.RequestTimeout` is raised (the run is abandoned).
    """
    # pfn numbering restarts for every run so two runs line up.  Given a factory,
    # restart *before* building the driver, so its own pages (ring buffers, kernel
    # pages) never share pfns with pages the run allocates.
    reset_allocator()
    if not isinstance(driver, Driver):
        driver = driver()
    mm = MM(sanitize=sanitize)
    files: list[File] = []
    child: list[MM] = []
    inodes: dict[int, str] = {}
    injected: str | None = None
    inject: contextlib.AbstractContextManager[Any] = contextlib.nullcontext()
    if scenario.inject is not None:
        point, nth = scenario.inject
        if getattr(driver, "variant", "prepare") == "legacy":
            point = LEGACY_INJECTION.get(point, point)
        injected = f"{point} (call {nth})"
        inject = mm.injecting(point, nth)
    out: list[Observation] = []
    seen = leaked = 0
    with inject:
        for i, op in enumerate(scenario.ops):
            calls: list[str] = []
            ret: Any = None
            error: BaseException | None = None
            what = f"request {i + 1} of scenario {scenario.name!r} ({op.describe()})"
            with _recording_hooks(calls):
                try:
                    with time_budget(budget, what) if budget is not None else _no_budget():
                        ret = apply_op(op, mm, driver, files, child)
                except Exception as exc:  # noqa: BLE001 - every outcome is an observation
                    error = exc
            kid = child[0] if child else None
            warnings = list(mm.warnings) + (list(kid.warnings) if kid is not None else [])
            new, seen = tuple(warnings[seen:]), len(warnings)
            leaks = list(mm.lock_leaks) + (list(kid.lock_leaks) if kid is not None else [])
            held, leaked = tuple(leaks[leaked:]), len(leaks)
            out.append(observe(i, op, ret, error, mm, kid, driver, calls, new, inodes,
                               injected, facts, seen, held))
    return out


def run_case(make: Callable[[], Driver], scenario: Scenario, sanitize: bool = False,
             observe: FactsHook | None = snapshot) -> list[Observation]:
    """:func:`run_scenario` as the exercises run it: each request within
    :func:`~mmaplab.lab.budget.request_budget` seconds, with the diagnosis's facts."""
    return run_scenario(make, scenario, sanitize=sanitize, facts=observe,
                        budget=request_budget())


_no_budget = contextlib.nullcontext


@contextlib.contextmanager
def _recording_hooks(calls: list[str]) -> Iterator[None]:
    """Record every hook the model calls, through the hook event point."""

    def record(hook: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        calls.append(hook)
        return fn

    with events.watching_hooks(record):
        yield


@contextlib.contextmanager
def quiet_lockdep() -> Iterator[None]:
    """Leave the global lock checker clean even if a learner hook blew up mid-way."""
    from ..kernel.locks import lockdep

    mark = lockdep.mark()
    try:
        yield
    finally:
        lockdep.unwind(mark)
