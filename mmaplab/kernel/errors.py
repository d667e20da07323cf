"""Errors raised by the model, each carrying the errno the kernel would return.

Models the kernel's convention of returning ``-Exxx`` from syscalls and hooks
(``include/uapi/asm-generic/errno-base.h``): every failure surfaces as an
:class:`OSError` subclass whose ``errno`` is the kernel's and whose message says
what was wrong in words a driver writer understands.

Follows Linux 7.0 with the "mm: expand mmap_prepare functionality" v4 series applied.
"""

from __future__ import annotations

import errno as _errno
import os

__all__ = [
    "KernelError",
    "HookError",
    "HookViolation",
    "DeadlockError",
    "UseAfterFreeError",
    "SegmentationFault",
    "BusError",
    "kerr",
    "errname",
]


#: The names the kernel's own headers use where Python's table picks an alias.
_PREFERRED = {_errno.EDEADLK: "EDEADLK", _errno.EOPNOTSUPP: "EOPNOTSUPP",
              _errno.EAGAIN: "EAGAIN"}


def errname(err: int) -> str:
    """Symbolic name of a (positive or negative) errno, e.g. ``EINVAL``."""
    err = abs(err)
    return _PREFERRED.get(err) or _errno.errorcode.get(err, f"E{err}")


class KernelError(OSError):
    """A failure with the kernel's errno; ``str()`` reads ``EINVAL: <reason>``."""

    #: Always a positive errno here (``OSError.errno`` may be None in general).
    errno: int

    def __init__(self, err: int, reason: str) -> None:
        err = abs(err)
        super().__init__(err, reason)
        self.reason = reason

    def __str__(self) -> str:
        return f"{errname(self.errno)}: {self.reason}"


def kerr(err: int, reason: str) -> KernelError:
    """Build a :class:`KernelError` (``err`` may be given negative, as in C)."""
    return KernelError(err, reason)


class HookError(KernelError):
    """A driver/learner hook misbehaved (raised, returned garbage, broke a rule).

    The message names the hook and the rule it broke; ``hook`` is the hook's
    kernel name (``f_op->mmap_prepare``, ``vm_ops->mapped``, ...); ``kind`` says what it
    did, for tools that classify (``"raised"``, ``"not-an-int"``, ``"positive"``,
    ``"not-an-errno"``, ``"negative-fault"``, ``"null-deref"`` for a NULL pointer a model
    of the driver's own code dereferenced (the kernel would oops), or ``"rule"`` for a
    broken rule).
    """

    def __init__(self, hook: str, reason: str, err: int = _errno.EINVAL,
                 kind: str = "rule") -> None:
        self.hook = hook
        self.kind = kind
        super().__init__(err, f"{hook}: {reason}")


class HookViolation(HookError):
    """A hook changed something it is not allowed to change (e.g. ``desc.start``)."""


class DeadlockError(KernelError):
    """The kernel would deadlock here; reported the way lockdep reports it.

    The debug aids classify it by its fields, never by its words: ``kind`` is the lockdep
    report (``"recursive"``, ``"circular"``, ``"unbalanced"``, ``"not-held"``),
    ``lock_class`` the class of the lock being taken or released.
    """

    def __init__(self, reason: str, kind: str = "deadlock", lock_class: str = "") -> None:
        super().__init__(_errno.EDEADLK, reason)
        self.kind = kind
        self.lock_class = lock_class


class UseAfterFreeError(KernelError):
    """Access to a freed object, reported the way KASAN reports it.

    ``obj`` names what was freed (``"vma"``, ``"file"``, ``"vm_area_desc"``, or a
    driver's object): the debug aids classify by it, never by the words.
    """

    def __init__(self, reason: str, obj: str = "object") -> None:
        super().__init__(_errno.EFAULT, reason)
        self.obj = obj


class SegmentationFault(KernelError):
    """A user access the kernel answers with SIGSEGV (no VMA, or no permission)."""

    def __init__(self, reason: str) -> None:
        super().__init__(_errno.EFAULT, f"SIGSEGV: {reason}")


class BusError(KernelError):
    """A user access the kernel answers with SIGBUS (beyond EOF, no fault handler)."""

    def __init__(self, reason: str) -> None:
        super().__init__(_errno.EFAULT, f"SIGBUS: {reason}")


def strerror(err: int) -> str:
    """``strerror`` for a positive or negative errno."""
    return os.strerror(abs(err))
