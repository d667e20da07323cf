"""Calling driver and learner hooks the way the kernel does, with clear diagnoses.

The kernel calls ``f_op->mmap``, ``f_op->mmap_prepare`` and the
``vm_operations_struct`` hooks through plain function pointers (see
``vfs_mmap()``/``vfs_mmap_prepare()`` in include/linux/fs.h); they return 0 or a
negative errno.  Here a hook may also raise ``OSError`` (its errno is used).
Anything else a hook does wrong — raising another exception, returning a
positive number or a non-integer — is reported as a :class:`HookError` that
names the hook and what it did, instead of a traceback through model internals.

Inside a system call (:class:`Deferred`, opened by ``mmaplab.kernel.mm``) a hook
that goes wrong — a :class:`HookError`/:class:`HookViolation`, a lockdep, KASAN or C
report raised while it ran — is handled like the error return the kernel would have
seen: the hook "returns" that report's errno (``VM_FAULT_SIGBUS`` for a fault
handler; nothing for ``open``/``close``, which cannot fail), the mapping path takes its
own error path, and the report is raised when the system call returns.  So a bad hook
is named, and the mm is left as Linux leaves it after an error, never half-updated.
Outside a system call the report is raised at once.  A ``BaseException`` that is not an
``Exception`` (KeyboardInterrupt, SystemExit, GeneratorExit, a tool's time budget) is
control flow, not a hook's bug: it goes straight through, and the mm is then as it was
at that moment.

Follows Linux 7.0 with the "mm: expand mmap_prepare functionality" v4 series applied.
"""

from __future__ import annotations

import errno as _errno
import traceback
from collections.abc import Callable
from typing import Any

from .debug import events
from .errors import HookError, KernelError, errname
from .filemap import VM_FAULT_SIGBUS
from .mm_types import (
    HookMmapAction,
    HookVmArea,
    HookVmFault,
    MmapAction,
    VmAreaDesc,
    VmAreaStruct,
    VmFault,
    hooks_running,
)

__all__ = ["call_hook", "call_void_hook", "Deferred", "HookPointer"]


def _watched(hook: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    # The hook event point: the debug aids and the lab (which records the hooks a
    # request called) watch hooks through it, never by replacing this module's names.
    return events.hook_called(hook, fn)


def _origin(exc: BaseException) -> str:
    """Where in the hook's own code the exception was raised (last frame)."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return ""
    last = frames[-1]
    return f" (at {last.filename.rsplit('/', 1)[-1]}:{last.lineno}: {last.line})"


class Deferred:
    """Hook reports held back until the system call returns (one per call, nested).

    ``with Deferred() as d: ...`` then ``d.report`` is the first report (the others are
    added to its notes), or None.
    """

    _stack: list[Deferred] = []

    def __init__(self) -> None:
        self.report: KernelError | None = None

    def __enter__(self) -> Deferred:
        Deferred._stack.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        Deferred._stack.pop()  # the innermost: they nest as the system calls do

    def add(self, report: KernelError) -> None:
        if self.report is None:
            self.report = report
        elif report is not self.report:
            self.report.add_note(f"then also: {report}")


def _failed(report: KernelError) -> int:
    """A hook went wrong: inside a system call, hold the report back and return its errno."""
    if not Deferred._stack:
        raise report
    Deferred._stack[-1].add(report)
    return -(report.errno or _errno.EINVAL)


def _raised(hook: str, exc: BaseException, rule: str) -> KernelError:
    if isinstance(exc, KernelError) and type(exc) is not KernelError:
        return exc  # a report naming the problem (violation, deadlock, KASAN, C oops): keep it
    err = HookError(hook, f"raised {type(exc).__name__}: {exc}{_origin(exc)}. {rule}",
                    kind="raised")
    err.__cause__ = exc
    return err


_INT_RULE = "A kernel hook must return 0 on success or a negative errno such as -errno.EINVAL"
_VOID_RULE = "This hook cannot fail in the kernel; it returns nothing"


#: The plain class of each object a hook gets -> the checking class it has meanwhile.
_GUARDED: dict[type, type] = {VmAreaStruct: HookVmArea, VmFault: HookVmFault,
                              MmapAction: HookMmapAction}
_PLAIN = {v: k for k, v in _GUARDED.items()}


def _guard(hook: str, args: tuple[Any, ...]) -> list[Any]:
    """Give the VMAs, vm_faults and mmap_actions a hook gets their checking class.

    The model's own writes stay unchecked (no cost); the hook's are checked at the write.
    Objects already guarded by an outer hook stay with it.
    """
    hooks_running.append(hook)
    objs = []
    for a in args:
        if type(a) is VmAreaDesc:
            a = a.action
        elif type(a) is VmFault:
            objs.append(a)
            a.__class__ = HookVmFault
            a = a.vma
        guarded = _GUARDED.get(type(a))
        if guarded is not None:
            a.__class__ = guarded
            objs.append(a)
    return objs


def _unguard(objs: list[Any]) -> None:
    hooks_running.pop()
    for o in objs:
        plain = _PLAIN.get(type(o))
        if plain is not None:  # (a VMA freed meanwhile keeps its poisoned class)
            object.__setattr__(o, "__class__", plain)


def call_hook(hook: str, fn: Callable[..., Any], *args: Any, vm_fault: bool = False) -> int:
    """Call an int-returning hook; return 0 or a negative errno.

    ``vm_fault``: the hook returns ``VM_FAULT_*`` bits (``vm_ops->fault``), which
    are positive; a broken one "returns" ``VM_FAULT_SIGBUS``.
    """
    fn = _watched(hook, fn)
    guarded = _guard(hook, args)
    try:
        ret = fn(*args)
    except OSError as exc:
        if not isinstance(exc, KernelError) or type(exc) is KernelError:
            if not vm_fault:
                return -abs(exc.errno or _errno.EINVAL)  # an errno, raised instead of returned
        err = _failed(_raised(hook, exc, _INT_RULE))
        return VM_FAULT_SIGBUS if vm_fault else err
    except Exception as exc:  # noqa: BLE001 - any other exception is the hook's bug
        err = _failed(_raised(hook, exc, _INT_RULE))
        return VM_FAULT_SIGBUS if vm_fault else err
    finally:
        _unguard(guarded)
    if ret is None:
        return 0
    if isinstance(ret, bool) or not isinstance(ret, int):
        why, kind = f"returned {ret!r}; it must return 0 or a negative errno", "not-an-int"
        if vm_fault:
            why = f"returned {ret!r}; a fault handler returns VM_FAULT_* bits (an int)"
    elif vm_fault:
        if ret >= 0:
            return ret
        why, kind = (f"returned {ret}: a fault handler returns VM_FAULT_* bits (e.g. "
                     "VM_FAULT_SIGBUS), not a negative errno"), "negative-fault"
    elif ret > 0:
        why, kind = (f"returned {ret} ({errname(ret)}?): errors are returned negated, "
                     f"e.g. return -errno.{errname(ret)}"), "positive"
    elif ret < -4095:
        why, kind = f"returned {ret}, which is not an errno", "not-an-errno"
    else:
        return ret
    err = _failed(HookError(hook, why, kind=kind))
    return VM_FAULT_SIGBUS if vm_fault else err


def call_void_hook(hook: str, fn: Callable[..., Any], *args: Any) -> None:
    """Call a hook whose return value the kernel ignores (``open``, ``close``)."""
    fn = _watched(hook, fn)
    guarded = _guard(hook, args)
    try:
        fn(*args)
    except Exception as exc:  # noqa: BLE001 - the hook's bug; the caller goes on
        _failed(_raised(hook, exc, _VOID_RULE))
    finally:
        _unguard(guarded)


class HookPointer:
    """A driver's function pointer that kernel-shaped code calls directly, still a hook.

    The uio core calls ``info->mmap_prepare(info, desc)`` and the vmbus wrapper
    ``channel->mmap_prepare_ring_buffer(channel, desc)`` themselves, as the kernel's C
    does (and as the exercises' reference answers read).  A structure that holds such a
    pointer stores it as a ``HookPointer``, so each call still goes through
    :func:`call_hook` under the pointer's name (its raise or bad return reported as that
    hook's), and a descriptor it is passed names it in a ``HookViolation``.
    """

    __slots__ = ("hook", "fn")

    def __init__(self, hook: str, fn: Callable[..., Any]) -> None:
        self.hook = hook
        self.fn = fn

    @classmethod
    def wrap(cls, hook: str, fn: Any) -> Any:
        """``fn`` as a pointer named ``hook`` (None, and a pointer already, as they are)."""
        return fn if fn is None or isinstance(fn, cls) else cls(hook, fn)

    def __call__(self, *args: Any) -> int:
        for arg in args:
            if isinstance(arg, VmAreaDesc):
                object.__setattr__(arg, "hook", self.hook)
        return call_hook(self.hook, self.fn, *args)

