"""Observing one request: the lab's one record of what could be seen after it.

Not a kernel structure: the lab's engine.  After every request of a scenario
(:func:`mmaplab.lab.scenario.run_scenario`) :func:`observe` takes one
:class:`Observation`: the outcome (address or errno, or the exception), the driver's
state, a snapshot of every VMA and PTE of the scenario window, the same for the fork
child while it lives, the hooks called, the kernel warnings and the locks a call left held
(``mm.lock_leaks``, lockdep_sys_exit's reports).  The equivalence harness
(:mod:`mmaplab.lab.compare`), the mutant checks and the exercises all read this record.

It has two views, because it has two readers:

* the harness's **difference keys** (:data:`KEY_ORDER`, read with
  :meth:`Observation.aspect`): ``errno`` (``outcome``: the mmap address as
  ``0x7f...``), ``maps`` (``/proc/<pid>/maps`` lines with inode numbers aliased
  ``ino#1``, ``ino#2``... so two runs are comparable), ``flags``, ``page_prot``,
  ``vm_ops``, ``private_data``, ``pte``, their ``child_`` twins, ``state:<field>``,
  ``hooks``, ``warnings``, ``locks``: what a driver author compares, one VMA attribute at a
  time;
* the learner's **aspects** (:data:`ASPECTS`, read as attributes): ``result``
  (``ok``, ``ok at page N``, ``-EINVAL``, ``hook error (...)``), ``state``, ``maps`` (one
  line per VMA: pages, pgoff, flags, prot, vm_ops, private_data), ``ptes``,
  ``child_maps``, ``child_ptes``, ``warnings``, ``locks``: the whole VMA on one line, pages
  relative to the window, as the exercise diagnosis prints it.

Both are computed from the same snapshot (:class:`VmaSeen`, the PTE list), so a run is
observed once whoever reads it.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..drivers.base import WINDOW, WINDOW_PAGES, Driver, Op
from ..kernel.errors import BusError, HookError, KernelError, SegmentationFault, errname
from ..kernel.flags import PAGE_SIZE
from ..kernel.locks import LockLeak
from ..kernel.maps import show_map_vma
from ..kernel.mm import MM

__all__ = ["Observation", "VmaSeen", "observe", "outcome_of", "outcome_kind_of", "OutcomeKind",
           "result_of", "ASPECTS", "KEY_ORDER", "VMA_KEYS", "FactsHook", "held_on_return"]

#: What a run's ``facts`` hook returns after each request (structured facts for a
#: rule-based diagnosis, e.g. :func:`mmaplab.lab.diagnose.snapshot`): it is called as
#: ``facts(mm, child, driver, exception or None, warnings so far)``.
FactsHook = Callable[[MM, "MM | None", Driver, "BaseException | None", int], Any]

#: The harness's per-VMA keys (each also exists as ``child_<key>``).
VMA_KEYS = ("maps", "flags", "page_prot", "vm_ops", "private_data", "pte")
#: The harness's difference keys, in the order they are compared and rendered.
KEY_ORDER: tuple[str, ...] = (("errno",) + VMA_KEYS + tuple(f"child_{k}" for k in VMA_KEYS)
                              + ("state", "hooks", "warnings", "locks"))
#: The learner's aspects, in the order the exercises compare them.
ASPECTS = ("result", "state", "maps", "ptes", "child_maps", "child_ptes", "warnings", "locks")


@dataclass(frozen=True)
class VmaSeen:
    """One VMA as it was right after a request (addresses are absolute)."""

    start: int
    end: int
    pgoff: int
    #: ``VMFlag.names()``, e.g. ``READ|SHARED|PFNMAP``
    flags: str
    #: The same flags as a set of names, for the diagnosis to test.
    flag_set: frozenset[str]
    prot: str
    vm_ops: str
    #: ``vm_private_data`` by type name (the harness's view) ...
    private_type: str
    #: ... and as the learner's view describes it (``describe()``, a driver's public class).
    private_text: str
    #: The ``/proc/<pid>/maps`` line, inode number aliased within the run.
    maps_line: str


def _rel(addr: int) -> int:
    return (addr - WINDOW) // PAGE_SIZE


def _plus(addr: int) -> str:
    return f"+{_rel(addr)}" if addr >= WINDOW else f"{addr:#x}"


def _describe_priv(priv: Any) -> str:
    if priv is None:
        return "NULL"
    describe = getattr(priv, "describe", None)
    if callable(describe):
        return str(describe())
    return _priv_type(priv)


def _priv_type(priv: Any) -> str:
    if priv is None:
        return "NULL"
    if isinstance(priv, Driver):
        # The driver state, whichever subclass wires it (the learner's, a mutant's, a
        # hook written in C): the first public class of its hierarchy, e.g. ``TcmuDev``.
        return next(c.__name__ for c in type(priv).__mro__ if not c.__name__.startswith("_"))
    return type(priv).__name__


def _vmas(mm: MM | None, inodes: dict[int, str]) -> tuple[VmaSeen, ...]:
    if mm is None:
        return ()
    out = []
    for v in mm.vmas():
        line = show_map_vma(v)
        if v.vm_file is not None:
            alias = inodes.setdefault(v.vm_file.f_inode.i_ino, f"ino#{len(inodes) + 1}")
            parts = line.split(None, 5)
            parts[4] = alias
            line = " ".join(parts)
        priv = v.vm_private_data
        out.append(VmaSeen(v.vm_start, v.vm_end, v.vm_pgoff, v.vm_flags.names(),
                           frozenset(m.name for m in type(v.vm_flags)
                                     if m.value and m.name and m in v.vm_flags),
                           v.vm_page_prot.describe(),
                           v.vm_ops.name if v.vm_ops is not None else "NULL",
                           _priv_type(priv), _describe_priv(priv), line.rstrip()))
    return tuple(out)


def _ptes(mm: MM | None) -> tuple[tuple[int, str], ...]:
    if mm is None:
        return ()
    return tuple((a, str(pte)) for a, pte in
                 mm.pagetable.entries(WINDOW, WINDOW + WINDOW_PAGES * PAGE_SIZE).items())


class OutcomeKind(enum.Enum):
    """What a request's outcome was, for the words that depend on it (``lab.diff``);
    ``Observation.outcome_detail`` holds the part that varies."""

    MAPPED = "mapped"    # mmap returned an address (detail: the address)
    OK = "ok"            # succeeded, nothing to show (detail: "")
    FAULTED = "faulted"  # a fault succeeded (detail: the PTE it left)
    ERRNO = "errno"      # failed with a plain errno (detail: "-EINVAL", ...)
    OTHER = "other"      # a signal, a hook's report or a crash (detail: the whole outcome)


@dataclass(frozen=True)
class Observation:
    """Everything observable right after one request of a scenario.

    Two observations are equal when everything observable is: ``error`` and ``facts``
    are kept for the diagnosis, not compared.
    """

    index: int
    op: Op
    #: The learner's view of the outcome: ``ok``, ``ok at page N``, ``-EINVAL``, ...
    result: str
    #: The harness's view: the mmap address ``0x7f...``, ``ok``, ``-EINVAL``, ``HookError: ...``
    outcome: str
    state: tuple[tuple[str, str], ...]
    vmas: tuple[VmaSeen, ...]
    pte_list: tuple[tuple[int, str], ...]
    child_vmas: tuple[VmaSeen, ...]
    child_pte_list: tuple[tuple[int, str], ...]
    #: The ``vm_operations_struct`` callbacks called during the request, in order.
    hooks: tuple[str, ...]
    #: The ``f_op`` entry hook (``->mmap`` or ``->mmap_prepare``): recorded, never
    #: compared, since it is what a conversion renames.
    entry_hooks: tuple[str, ...]
    warnings: tuple[str, ...]
    #: The injection point in force, as ``"<point> (call <nth>)"``.
    injected: str | None = None
    #: The locks the request left held as it returned (:func:`held_on_return` lines).
    locks: tuple[str, ...] = ()
    #: The exception the request ended in (``result`` names it), so a crash in the
    #: learner's code can be traced to its line.
    error: BaseException | None = field(default=None, compare=False, repr=False)
    #: What the run's ``facts`` hook recorded after the request.
    facts: Any = field(default=None, compare=False, repr=False)
    #: ``outcome`` as fields (``outcome_kind_of()``): derived from it, not compared.
    outcome_kind: OutcomeKind = field(default=OutcomeKind.OTHER, compare=False, repr=False)
    outcome_detail: str = field(default="", compare=False, repr=False)

    @property
    def what(self) -> str:
        """The request in words, e.g. ``mmap(0x7f0000000000, 1 page(s), ...)``."""
        return self.op.describe()

    # -- the learner's aspects ------------------------------------------------------
    @property
    def maps(self) -> tuple[str, ...]:
        return _vma_lines(self.vmas)

    @property
    def ptes(self) -> tuple[str, ...]:
        return _pte_lines(self.pte_list, _rel)

    @property
    def child_maps(self) -> tuple[str, ...]:
        return _vma_lines(self.child_vmas)

    @property
    def child_ptes(self) -> tuple[str, ...]:
        return _pte_lines(self.child_pte_list, _rel)

    # -- the harness's keys ---------------------------------------------------------
    def aspect(self, key: str) -> Any:
        """The observed value for a harness difference key (``state:<field>`` reads one
        field of the driver state)."""
        if key == "errno":
            return self.outcome
        if key in ("state", "hooks", "warnings", "locks"):
            return getattr(self, key)
        if key.startswith("state:"):
            return dict(self.state).get(key[6:], "(absent)")
        child = key.startswith("child_")
        base = key.removeprefix("child_")
        vmas = self.child_vmas if child else self.vmas
        if base == "pte":
            return _pte_lines(self.child_pte_list if child else self.pte_list, _plus)
        if base == "maps":
            return tuple(v.maps_line for v in vmas)
        value = _VMA_ATTR[base]
        return tuple(f"pages {_plus(v.start)}..{_plus(v.end)}: {value(v)}" for v in vmas)


_VMA_ATTR: dict[str, Callable[[VmaSeen], str]] = {
    "flags": lambda v: v.flags,
    "page_prot": lambda v: v.prot,
    "vm_ops": lambda v: v.vm_ops,
    "private_data": lambda v: v.private_type,
}


def _pte_lines(ptes: tuple[tuple[int, str], ...], page: Callable[[int], object]
               ) -> tuple[str, ...]:
    return tuple(f"page {page(a)}: {p}" for a, p in ptes)


def _vma_lines(vmas: tuple[VmaSeen, ...]) -> tuple[str, ...]:
    return tuple(f"pages {_rel(v.start)}-{_rel(v.end)} pgoff={v.pgoff:#x} {v.flags} "
                 f"prot={v.prot} vm_ops={v.vm_ops} private_data={v.private_text}"
                 for v in vmas)


# -- the outcome of a request, in each view's words ------------------------------------

def result_of(op: Op, ret: Any, exc: BaseException | None) -> str:
    """The learner's words: ``ok`` (``ok at page N`` if mmap landed elsewhere), the errno
    name, the signal, ``hook error (...)`` or the crash."""
    if exc is not None:
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
    if op.kind == "mmap":
        return "ok" if ret == WINDOW + op.page * PAGE_SIZE else f"ok at page {_rel(ret)}"
    return f"ok ({ret})" if op.kind == "fault" else "ok"


def outcome_kind_of(op: Op, ret: Any, exc: BaseException | None) -> tuple[OutcomeKind, str]:
    """The harness's outcome as ``(kind, detail)``: the mapped address, the errno name,
    the signal, ``HookError: ...`` or the crash."""
    if exc is not None:
        if isinstance(exc, SegmentationFault):
            return OutcomeKind.OTHER, "SIGSEGV"
        if isinstance(exc, BusError):
            return OutcomeKind.OTHER, "SIGBUS"
        if isinstance(exc, HookError):
            return OutcomeKind.OTHER, f"HookError: {exc}"
        if isinstance(exc, KernelError) and type(exc) is KernelError:
            return OutcomeKind.ERRNO, f"-{errname(exc.errno)}"
        if isinstance(exc, OSError) and exc.errno:
            return OutcomeKind.OTHER, (f"{type(exc).__name__}: -{errname(exc.errno)}: "
                                       f"{exc.strerror or exc}")
        return OutcomeKind.OTHER, f"crash ({type(exc).__name__}: {exc})"
    if op.kind in ("mmap", "anon"):
        return OutcomeKind.MAPPED, f"{ret:#x}"
    if op.kind == "fault":
        return OutcomeKind.FAULTED, str(ret)
    return OutcomeKind.OK, ""


def outcome_of(op: Op, ret: Any, exc: BaseException | None) -> str:
    """The harness's words (``Observation.outcome``) for ``outcome_kind_of()``."""
    kind, detail = outcome_kind_of(op, ret, exc)
    if kind is OutcomeKind.OK:
        return "ok"
    return f"ok ({detail})" if kind is OutcomeKind.FAULTED else detail


def _state(driver: Driver) -> tuple[tuple[str, str], ...]:
    try:
        obs = driver.observe()
    except Exception as exc:  # noqa: BLE001 - a broken observe() is itself an observation
        return (("observe() failed", f"crash ({type(exc).__name__}: {exc})"),)
    return tuple((str(k), repr(v)) for k, v in obs.items())


_ENTRY_SUFFIXES = ("->mmap", "->mmap_prepare")


def held_on_return(leak: LockLeak) -> str:
    """One lock a call left held, as the learner reads it: which lock, who took it, and
    what the call returned (lockdep_sys_exit() checks on failing calls too)."""
    how = f"-{errname(leak.error)}" if leak.error else "0"
    return (f"{leak.lock} (taken for {'write' if leak.write else 'read'} in {leak.taken_in}) "
            f"held as {leak.syscall} returns {how}")


def observe(index: int, op: Op, ret: Any, exc: BaseException | None, mm: MM,
            child: MM | None, driver: Driver, calls: list[str], warnings: tuple[str, ...],
            inodes: dict[int, str], injected: str | None = None,
            facts: FactsHook | None = None, warned: int = 0,
            leaks: tuple[LockLeak, ...] = ()) -> Observation:
    """The :class:`Observation` after request ``index`` (``op``), which returned ``ret``
    or raised ``exc``.

    ``calls``: the hooks called during it; ``warnings``: the kernel warnings it emitted
    (``warned``: how many the run has emitted in all); ``inodes``: the run's inode
    aliases (grows as files appear); ``facts``: the diagnosis hook, if any; ``leaks``: the
    locks it left held.
    """
    entry = tuple(c for c in calls if c.endswith(_ENTRY_SUFFIXES))
    other = tuple(c for c in calls if not c.endswith(_ENTRY_SUFFIXES))
    own, kids = _vmas(mm, inodes), _vmas(child, inodes)
    kind, detail = outcome_kind_of(op, ret, exc)
    return Observation(
        index, op, result_of(op, ret, exc), outcome_of(op, ret, exc), _state(driver),
        own, _ptes(mm), kids, _ptes(child), other, entry, warnings, injected,
        tuple(held_on_return(x) for x in leaks), exc,
        facts(mm, child, driver, exc, warned) if facts is not None else None,
        outcome_kind=kind, outcome_detail=detail)
