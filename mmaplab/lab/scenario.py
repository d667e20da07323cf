"""Running a scenario: one request after another on a fresh address space.

Not a kernel structure: the lab's engine, shared by the equivalence harness
(:mod:`mmaplab.lab.compare`), the mutant checks and the exercises.  :func:`apply_op`
carries out one :class:`~mmaplab.drivers.base.Op` the way a process would (``mmap``,
``munmap``, ``mprotect``, a fault, ``fork``, exit); :func:`run_case` runs a whole
scenario for the exercises, each request within its time budget
(:mod:`mmaplab.lab.budget`), and records a :class:`Step` of what could be observed
after it: the result (address or errno), the driver's state, the VMAs, the PTEs, the
fork child's VMAs/PTEs and kernel warnings — plus, through ``observe=``, structured
facts for a rule-based diagnosis.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ..drivers.base import WINDOW, Driver, Op, Scenario
from ..kernel.errors import BusError, HookError, KernelError, SegmentationFault, errname
from ..kernel.flags import MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PAGE_SIZE
from ..kernel.fs import File
from ..kernel.mm import MM
from ..kernel.page_alloc import reset_allocator
from .budget import DEFAULT_SECONDS, time_budget
from .diagnose import snapshot

__all__ = ["apply_op", "Step", "run_case", "request_budget", "Observer", "quiet_lockdep",
           "WINDOW_PAGES"]

#: Requests address pages ``[0, WINDOW_PAGES)`` relative to ``WINDOW``.
WINDOW_PAGES = 64


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
             sanitize: bool = False, observe: Observer | None = snapshot) -> list[Step]:
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


@contextlib.contextmanager
def quiet_lockdep() -> Iterator[None]:
    """Leave the global lock checker clean even if a learner hook blew up mid-way."""
    from ..kernel.locks import lockdep

    mark = lockdep.mark()
    try:
        yield
    finally:
        lockdep.unwind(mark)
