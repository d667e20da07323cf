"""A sanitizer for driver and learner hooks: lockdep, KASAN and refcount checks in one.

Not a kernel structure.  It plays the role the kernel's debugging options play
for a driver author — lockdep (kernel/locking/lockdep.c), KASAN (mm/kasan/) and
the refcount/kmemleak checks — for hooks run through the model, and explains
each finding in terms of the rule of the mmap_prepare API that was broken
(Documentation/filesystems/mmap_prepare.rst and the ``vm_operations_struct``
comments as of Linux 7.0 + the "mm: expand mmap_prepare functionality" v4 series).

Use ``MM(sanitize=True)``, ``Sanitizer().attach(mm)``, or ``with sanitizing():``
(every ``MM()`` created inside is sanitized).  Each finding is a
:class:`SanitizerReport` (an ``OSError``) naming what happened, the system call
and step, the rule, and the kernel bug class.  ``Sanitizer(mode="collect")``
records findings in ``.reports`` instead of raising those that do not stop the
call.

Checks:

(a) lock order inversions, recursive locking, and the rmap lock held across an
    unmap (the mainline deadlock since ac0a3fc9c07d, fixed by v4 04/21), or a lock
    still held on return to user space;
(b) use of a freed VMA or file (the ``vma->vm_file`` use-after-free of the same
    mainline error path), and
    use of a ``vm_area_desc`` kept by a hook after ``mmap()`` returned;
(c) hooks touching what they must not: ``mmap_prepare`` changing anything
    reachable through ``desc.mm``; ``mapped`` reaching the new VMA or the mm; a
    legacy ``->mmap`` moving ``vm_start``/``vm_end``/``vm_mm``; any hook
    re-entering mmap/munmap/mprotect (e.g. from ``close``);
(d) ``mmap_prepare`` that is not stateless: file references, page references,
    new pages or driver state (``Driver.observe()``) changed by the call — the
    afs bug, which leaks when the new range merges or the mapping fails later;
(e) per ``vm_operations_struct``: first maps + ``open`` calls must match
    ``close`` calls plus live VMAs, checked after munmap and exit.
"""

from __future__ import annotations

import errno
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ..errors import DeadlockError, KernelError, UseAfterFreeError, errname
from ..fs import File, FreedFile
from ..locks import LockLeak
from ..mm_types import FreedVmArea, MmStruct, VmAreaDesc, VmAreaStruct, VmOperationsStruct
from ..page_alloc import ZERO_PAGE, _allocator
from . import events
from .report_text import wrap

__all__ = ["Sanitizer", "SanitizerReport", "RULES", "sanitizing", "default_enabled",
           "FreedVmAreaDesc"]

#: The kernel functions of the unmap path (trace step names): a recursive i_mmap_rwsem
#: inside one of them is the rmap lock held across an unmap.
_UNMAP_STEPS = frozenset({"do_munmap", "do_vmi_munmap", "__vm_munmap",
                          "vms_gather_munmap_vmas", "vms_complete_munmap_vmas"})

#: rule id -> (kernel bug class, what the rule says and where the kernel learned it)
RULES: dict[str, tuple[str, str]] = {
    "rmap-lock-held-across-unmap": (
        "lockdep: possible recursive locking (self-deadlock)",
        "the file's rmap lock (i_mmap_rwsem) must be dropped before a failed mapping is "
        "unmapped: do_munmap() takes it again. A mainline bug since ac0a3fc9c07d, fixed by "
        "v4 04/21 'mm: avoid deadlock when holding rmap on mmap_prepare error' (Fixes: "
        "ac0a3fc9c07d, Cc: stable): mmap_action_finish() calls maybe_rmap_unlock_action() "
        "before do_munmap()"),
    "lock-order": (
        "lockdep: circular locking dependency / recursive locking",
        "locks are taken in one global order (mmap_lock before i_mmap_rwsem) and never twice"),
    "lock-held-on-return": (
        "lockdep: lock held when returning to user space",
        "every lock a system call takes is released before it returns; a hidden-from-rmap "
        "mapping's i_mmap_rwsem is dropped by mmap_action_finish()"),
    "use-after-free": (
        "KASAN: slab-use-after-free",
        "a VMA or file must not be touched after it was freed — e.g. reading vma->vm_file "
        "after do_munmap() freed the VMA: a mainline bug since ac0a3fc9c07d, fixed by v4 "
        "04/21 (Fixes: ac0a3fc9c07d, Cc: stable)"),
    "desc-use-after-return": (
        "KASAN: stack-use-after-return",
        "the vm_area_desc lives on __mmap_region()'s stack only for the duration of "
        "mmap_prepare; a hook must not keep a pointer to it"),
    "prepare-mutated-mm": (
        "mmap_prepare API violation (state corruption)",
        "mmap_prepare describes the mapping through the descriptor only; it must not change "
        "the mm (desc->mm is there to read)"),
    "mapped-touched-vma": (
        "vm_ops->mapped API violation (state corruption)",
        "vm_ops->mapped is told start, end, pgoff and file — it gets no VMA and must not "
        "reach for one; it may only set *vm_private_data"),
    "legacy-moved-vma": (
        "f_op->mmap API violation (VMA tree corruption)",
        "a ->mmap hook may not change vm_start, vm_end or vm_mm: the VMA's place in the tree "
        "is fixed by the caller"),
    "hook-reentry": (
        "lockdep: recursive locking of mmap_lock (self-deadlock)",
        "hooks run with mmap_lock held for write; calling mmap/munmap/mprotect from them "
        "takes it again"),
    "prepare-not-stateless": (
        "refcount leak (kmemleak / refcount imbalance)",
        "mmap_prepare runs before the merge decision and before steps that can still fail, so "
        "it must be stateless: no references, allocations or counters. Take them in "
        "vm_ops->mapped (new VMA) and vm_ops->open (copies), drop them in vm_ops->close. "
        "The afs conversion got this wrong (fixed in v4: 'fs: afs: revert mmap_prepare() "
        "change' + 'fs: afs: restore mmap_prepare implementation')"),
    "vm_ops-imbalance": (
        "refcount imbalance (underflow -> use-after-free, or leak)",
        "every VMA carrying these vm_ops is created once (first map or a copy that gets "
        "->open) and closed once (->close); a driver that counts references needs both "
        "open and close"),
}

_DEFAULT = [False]


def default_enabled() -> bool:
    """Whether ``MM()`` (without ``sanitize=``) is sanitized right now."""
    return _DEFAULT[-1]


@contextmanager
def sanitizing(enabled: bool = True) -> Iterator[None]:
    """Sanitize (or not) every ``MM()`` created inside the block."""
    _DEFAULT.append(enabled)
    try:
        yield
    finally:
        _DEFAULT.pop()


class SanitizerReport(KernelError):
    """One finding: ``rule``, ``bug_class``, ``what``, ``call``, ``step``, ``explanation``."""

    def __init__(self, rule: str, what: str, call: str, step: str,
                 err: int = errno.EINVAL, detail: str = "") -> None:
        self.rule = rule
        self.bug_class, self.explanation = RULES[rule]
        self.what = what
        self.call = call
        self.step = step
        self.detail = detail
        super().__init__(err, what)

    def __str__(self) -> str:
        lines = [f"sanitizer: {self.what}",
                 f"  during: {self.call}",
                 f"  at step: {self.step or '(system call entry)'}",
                 f"  rule [{self.rule}]: {self.explanation}",
                 f"  kernel bug class: {self.bug_class}"]
        if self.detail:
            lines.append(f"  {self.detail}")
        return wrap("\n".join(lines))


class FreedVmAreaDesc(VmAreaDesc):
    """A ``vm_area_desc`` after ``mmap()`` returned: any access is a use-after-return."""

    __slots__ = ()

    def __getattribute__(self, attr: str) -> Any:
        if attr in ("__class__", "__repr__"):
            return object.__getattribute__(self, attr)
        hook = object.__getattribute__(self, "hook")
        raise UseAfterFreeError(
            f"stack-use-after-return: a vm_area_desc passed to {hook} was used after the "
            f"mmap() call that created it returned (field '{attr}')", obj="vm_area_desc"
        )

    def __setattr__(self, attr: str, value: Any) -> None:
        self.__getattribute__(attr)

    def __repr__(self) -> str:
        return "<dead vm_area_desc>"


# -- snapshots ---------------------------------------------------------------------

def _mm_state(mm: MmStruct, skip_private: bool = False) -> dict[str, Any]:
    """What a hook could change in an mm, keyed by a readable name."""
    st: dict[str, Any] = {}
    for v in mm.mt.vmas:
        st[f"VMA #{v.nr} {v.vm_start:#x}-{v.vm_end:#x}"] = (
            v.vm_start, v.vm_end, v.vm_pgoff, v.vm_flags, id(v.vm_file), id(v.vm_ops),
            v.vm_page_prot, None if skip_private else id(v.vm_private_data), id(v.vm_mm))
    for addr, pte in mm.pagetable.entries().items():
        st[f"PTE {addr:#x}"] = (pte.pfn, pte.prot, pte.special)
    for name in ("total_vm", "locked_vm", "committed_pages", "def_flags", "mmap_min_addr",
                 "max_map_count", "task_size", "mmap_base", "cap_sys_rawio", "config"):
        st[f"mm.{name}"] = getattr(mm, name)
    return st


def _diff(before: dict[str, Any], after: dict[str, Any], limit: int = 3) -> list[str]:
    out = []
    for key in list(before) + [k for k in after if k not in before]:
        if before.get(key, "<absent>") != after.get(key, "<absent>"):
            if key not in after:
                out.append(f"{key} disappeared")
            elif key not in before:
                out.append(f"{key} appeared")
            else:
                out.append(f"{key} changed")
    if len(out) > limit:
        out = out[:limit] + [f"... ({len(out) - limit} more)"]
    return out


def _live(obj: Any) -> bool:
    return type(obj) is not FreedFile and type(obj) is not FreedVmArea


@dataclass
class _Call:
    """One sanitized system call in progress."""

    mm: MmStruct
    name: str
    desc: str
    trace_start: int
    #: whether the trace recorded before the call (the sanitizer records during it)
    was_tracing: bool = False
    #: (serial, start) of each VMA ``vma_link()`` linked during the call
    linked: list[tuple[int, int]] = field(default_factory=list)
    descs: list[VmAreaDesc] = field(default_factory=list)
    pending: list[SanitizerReport] = field(default_factory=list)
    prepare_leaks: list[tuple[str, list[str], int]] = field(default_factory=list)
    closed: dict[int, VmOperationsStruct] = field(default_factory=dict)
    escaped: str = ""


class Sanitizer(events.MmObserver):
    """Checks the hooks run by the system calls of the MMs it is attached to.

    It learns what happens through the model's event points
    (:mod:`mmaplab.kernel.debug.events`): system call entry and exit, each hook
    called, each VMA linked, and the locks held on the way back to user space.
    """

    def __init__(self, mode: str = "raise") -> None:
        if mode not in ("raise", "collect"):
            raise ValueError("mode is 'raise' or 'collect'")
        self.mode = mode
        self.reports: list[SanitizerReport] = []
        self.mms: weakref.WeakSet[MmStruct] = weakref.WeakSet()
        self._drivers: list[Any] = []
        self._files: list[File] = []
        self._calls: list[_Call] = []
        self._hooks: list[str] = []
        #: per vm_ops (by id): [ops, births (first maps + opens), deaths (closes)]
        self.balance: dict[int, list[Any]] = {}

    # -- set-up -------------------------------------------------------------------
    def register(self, obj: Any) -> Any:
        """Watch a :class:`~mmaplab.drivers.base.Driver` (its ``observe()``) or a File."""
        (self._files if isinstance(obj, File) else self._drivers).append(obj)
        return obj

    def attach(self, mm: MmStruct, count_existing: bool = True) -> MmStruct:
        """Sanitize ``mm``'s system calls (existing VMAs count as first maps)."""
        events.attach(mm, self)
        self.mms.add(mm)
        if count_existing:
            for vma in mm.mt.vmas:
                self._born(vma.vm_ops)
        return mm

    # -- reports ------------------------------------------------------------------
    @staticmethod
    def _path(call: _Call | None) -> list[str]:
        """The names of the innermost recorded step path of ``call``, outermost first."""
        if call is None:
            return []
        steps = call.mm.trace.steps[call.trace_start:]
        if not steps:
            return []
        path = [steps[-1]]
        for s in reversed(steps[:-1]):
            if s.depth < path[-1].depth:
                path.append(s)
        return [s.name for s in reversed(path)]

    def _step(self, call: _Call | None) -> str:
        """The innermost recorded step path of ``call`` (``a > b > c``)."""
        return " > ".join(self._path(call))

    def _report(self, rule: str, what: str, err: int = errno.EINVAL, detail: str = "",
                step: str | None = None) -> SanitizerReport:
        call = self._calls[-1] if self._calls else None
        rep = SanitizerReport(rule, what, call.desc if call else "(outside a system call)",
                              self._step(call) if step is None else step, err, detail)
        self.reports.append(rep)
        return rep

    # -- system calls (event points) ----------------------------------------------
    def syscall_enter(self, mm: MmStruct, name: str, args: tuple[Any, ...],
                      kwargs: dict[str, Any]) -> None:
        desc = f"{name}({', '.join(_fmt(a) for a in args)}" + "".join(
            f", {k}={_fmt(v)}" for k, v in kwargs.items()) + ")"
        if self._hooks:
            hook = self._hooks[-1]
            raise self._report(
                "hook-reentry", f"{hook} called {desc}: a hook re-entered the mm while "
                "mmap_lock is held for write", err=errno.EDEADLK)
        trace = mm.trace
        call = _Call(mm, name, desc, len(trace.steps), was_tracing=trace.enabled)
        trace.enabled = True  # the report names the step a finding happened at
        self._calls.append(call)
        events.watch_hooks(self._observe)

    def syscall_exit(self, mm: MmStruct, name: str, ret: Any,
                     failure: BaseException | None) -> None:
        call = self._calls[-1]
        events.unwatch_hooks(self._observe)
        try:
            if failure is None and name == "fork":
                self.attach(ret, count_existing=False)  # its VMAs were born by ->open
            if isinstance(failure, (DeadlockError, UseAfterFreeError)):
                exc = failure
                failure = self._core_report(call, exc)
                raise failure from exc
        finally:
            try:
                self._after(call, failure)
            finally:
                self._calls.pop()
                if not call.was_tracing:
                    del mm.trace.steps[call.trace_start:]
                    mm.trace.enabled = False

    def lockdep_sys_exit(self, mm: MmStruct, what: str, leaks: list[LockLeak]) -> None:
        if leaks and self._calls:
            h = leaks[-1]
            how = f" (failing with -{errname(h.error)})" if h.error else ""
            self._calls[-1].pending.append(self._report(
                "lock-held-on-return", f"{h.lock} (taken for "
                f"{'write' if h.write else 'read'} in {h.taken_in}) is still held when "
                f"{what} returns to user space{how}", err=errno.EDEADLK))

    def vma_linked(self, mm: MmStruct, vma: VmAreaStruct) -> None:
        if self._calls and self._calls[-1].mm is mm:
            self._calls[-1].linked.append((vma.serial, vma.vm_start))

    def _core_report(self, call: _Call, exc: KernelError) -> SanitizerReport:
        """The report for a lockdep/KASAN-style error the model raised, classified by the
        error's fields (what was freed; which lockdep report, on which lock class) and
        the kernel functions the call was in, never by the message's words."""
        path = self._path(call)
        msg = exc.reason
        if call.escaped:
            msg += f" (raised inside {call.escaped})"
        if isinstance(exc, UseAfterFreeError):
            rule = "desc-use-after-return" if exc.obj == "vm_area_desc" else "use-after-free"
        elif (isinstance(exc, DeadlockError) and exc.kind == "recursive"
              and exc.lock_class == "i_mmap_rwsem"
              and (call.name == "munmap" or not _UNMAP_STEPS.isdisjoint(path))):
            rule = "rmap-lock-held-across-unmap"
        else:
            rule = "lock-order"
        return self._report(rule, msg, err=exc.errno or errno.EDEADLK, step=" > ".join(path))

    def _after(self, call: _Call, failure: BaseException | None) -> None:
        mm = call.mm
        for d in call.descs:
            object.__setattr__(d, "__class__", FreedVmAreaDesc)
        # (e) births: VMAs newly linked by mmap (first maps).
        for serial, start in call.linked:
            vma = mm.mt.lookup(start)
            if vma is not None and vma.serial == serial:
                self._born(vma.vm_ops)
            elif serial in call.closed:
                self._born(call.closed[serial])
        # (d) mmap_prepare that was not stateless.
        for hook, changes, at in call.prepare_leaks:
            later = [s.name for s in mm.trace.steps[at:]]
            if failure is not None:
                err = getattr(failure, "errno", None)
                fate = (f"The mmap then failed ({errname(err) if err else type(failure).__name__}"
                        "), so nothing will ever release it: a leak.")
            elif "merged" in later:
                fate = ("The new range was then MERGED into an existing VMA: no vm_ops->mapped, "
                        "open or close call will ever correspond to it, so it leaks "
                        "(exactly the afs bug).")
            else:
                fate = ("This time the range became a new VMA, but had it merged with a "
                        "neighbour or failed later, it would leak.")
            call.pending.append(self._report(
                "prepare-not-stateless",
                f"{hook} changed state it does not own: {'; '.join(changes)}",
                detail=fate))
        # (e) open/close balance, after munmap and exit.
        if failure is None and call.name in ("munmap", "exit"):
            self._check_balance(call)
        if call.pending and self.mode == "raise" and not isinstance(failure, SanitizerReport):
            rep = call.pending[0]
            if failure is not None:
                raise rep from failure
            raise rep

    # -- (e) ------------------------------------------------------------------------
    def _born(self, ops: VmOperationsStruct | None) -> None:
        # Without close there is nothing to balance: an open that only forwards (as
        # kernfs_vm_ops does, which deliberately has no close) is legitimate.
        if ops is None or ops.close is None:
            return
        self.balance.setdefault(id(ops), [ops, 0, 0])[1] += 1

    def _check_balance(self, call: _Call) -> None:
        live: dict[int, int] = {}
        for mm in list(self.mms):
            for v in mm.mt.vmas:
                if v.vm_ops is not None:
                    live[id(v.vm_ops)] = live.get(id(v.vm_ops), 0) + 1
        for key, (ops, born, dead) in self.balance.items():
            alive = live.get(key, 0)
            if born - dead == alive:
                continue
            if born - dead < alive or dead > born:
                why = (f"{ops.name} has close but no open: a VMA copied by split or fork was "
                       "never opened, so close runs more often than references were taken"
                       if ops.open is None else "close ran more often than open + first maps")
            else:
                why = "VMAs went away without close"
            call.pending.append(self._report(
                "vm_ops-imbalance",
                f"{ops.name}: {born} VMA(s) created (first maps + open) but {dead} close "
                f"call(s) with {alive} still mapped — {why}"))
            # report once per imbalance: resynchronise
            self.balance[key] = [ops, dead + alive, dead]

    # -- hooks ----------------------------------------------------------------------
    def _observe(self, hook: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        kind = hook.rsplit("->", 1)[-1] if "->" in hook else hook
        sanitizer = self

        def wrapper(*args: Any) -> Any:
            call = sanitizer._calls[-1] if sanitizer._calls else None
            pre = sanitizer._pre(kind, args, call)
            sanitizer._hooks.append(hook)
            ok = False
            try:
                ret = fn(*args)
                ok = True
            except KernelError:
                if call is not None and not call.escaped:
                    call.escaped = hook
                raise
            finally:
                sanitizer._hooks.pop()
                if call is not None:
                    sanitizer._post(kind, hook, args, call, pre, ok)
            return ret

        return wrapper

    def _resources(self, desc: VmAreaDesc) -> dict[str, Any]:
        files: dict[int, File] = {}
        for f in [desc.file, desc.vm_file, *self._files]:
            if f is not None and _live(f):
                files[id(f)] = f
        for mm in list(self.mms):
            for v in mm.mt.vmas:
                if v.vm_file is not None and _live(v.vm_file):
                    files[id(v.vm_file)] = v.vm_file
        st: dict[str, Any] = {}
        drivers = list(self._drivers)
        for f in files.values():
            st[f"f_count of {f.name}"] = f.f_count
            priv = f.private_data
            if hasattr(priv, "observe") and priv not in drivers:
                drivers.append(priv)
        for p in [ZERO_PAGE, *_allocator.pages.values()]:
            st[f"page pfn {p.pfn:#x} refcount"] = p.refcount
        for d in drivers:
            try:
                obs = d.observe()
            except Exception:  # noqa: BLE001 - a broken observe() is not this hook's fault
                continue
            for k, v in obs.items():
                st[f"{getattr(d, 'name', type(d).__name__)}.{k}"] = repr(v)
        return st

    def _pre(self, kind: str, args: tuple, call: _Call | None) -> Any:
        if call is None:
            return None
        if kind == "mmap_prepare" and args and isinstance(args[0], VmAreaDesc):
            desc = args[0]
            mm = desc.mm if desc.mm is not None else call.mm
            return _mm_state(mm), self._resources(desc), desc.vm_file
        if kind == "mapped":
            return _mm_state(call.mm, skip_private=True)
        if kind == "mmap" and len(args) == 2 and isinstance(args[1], VmAreaStruct):
            v = args[1]
            return v.vm_start, v.vm_end, v.vm_mm
        if kind == "open" and args and isinstance(args[0], VmAreaStruct):
            self._born(args[0].vm_ops)
        if kind == "close" and args and isinstance(args[0], VmAreaStruct):
            v = args[0]
            if v.vm_ops is not None:
                call.closed[v.serial] = v.vm_ops
                if v.vm_ops.open is not None or v.vm_ops.close is not None:
                    self.balance.setdefault(id(v.vm_ops), [v.vm_ops, 0, 0])[2] += 1
        return None

    def _post(self, kind: str, hook: str, args: tuple, call: _Call, pre: Any,
              ok: bool) -> None:
        if pre is None:
            return
        if kind == "mmap_prepare":
            desc = args[0]
            mm = desc.mm if desc.mm is not None else call.mm
            state, res, vm_file = pre
            call.descs.append(desc)
            changed = _diff(state, _mm_state(mm))
            if changed:
                call.pending.append(self._report(
                    "prepare-mutated-mm", f"{hook} changed the mm: {'; '.join(changed)}"))
            after = self._resources(desc)
            new_file = desc.vm_file if desc.vm_file is not vm_file else None
            if new_file is not None and _live(new_file):
                # A replaced vm_file carries the reference the hook took for the VMA.
                key = f"f_count of {new_file.name}"
                if key in after:
                    after[key] -= 1
            leaks = []
            for key in list(res) + [k for k in after if k not in res]:
                if key not in res and key.startswith("page"):
                    leaks.append(f"allocated {key.split(' refcount')[0]}")
                elif key in res and key in after and res[key] != after[key]:
                    leaks.append(f"{key} {res[key]} -> {after[key]}")
            if leaks:
                call.prepare_leaks.append((hook, leaks[:4], len(mm.trace.steps)))
        elif kind == "mapped":
            changed = _diff(pre, _mm_state(call.mm, skip_private=True))
            if changed:
                call.pending.append(self._report(
                    "mapped-touched-vma", f"{hook} changed the mm/VMA it was not given: "
                    f"{'; '.join(changed)}"))
        elif kind == "mmap":
            v = args[1]
            if type(v) is FreedVmArea:
                return
            now = (v.vm_start, v.vm_end, v.vm_mm)
            if now != pre:
                names = [n for n, a, b in zip(("vm_start", "vm_end", "vm_mm"), pre, now,
                                              strict=True) if a is not b and a != b]
                call.pending.append(self._report(
                    "legacy-moved-vma", f"{hook} changed {', '.join(names)} of the VMA it "
                    "was asked to set up"))


def _fmt(v: Any) -> str:
    if isinstance(v, bool) or v is None:
        return repr(v)
    if isinstance(v, int):
        return hex(v)
    if isinstance(v, File) and _live(v):
        return v.name
    return type(v).__name__
