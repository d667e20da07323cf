"""Calling driver and learner hooks the way the kernel does, with clear diagnoses.

The kernel calls ``f_op->mmap``, ``f_op->mmap_prepare`` and the
``vm_operations_struct`` hooks through plain function pointers (see
``vfs_mmap()``/``vfs_mmap_prepare()`` in include/linux/fs.h); they return 0 or a
negative errno.  Here a hook may also raise ``OSError`` (its errno is used).
Anything else a hook does wrong — raising another exception, returning a
positive number or a non-integer — is reported as a :class:`HookError` that
names the hook and what it did, instead of a traceback through model internals.

Follows Linux 7.0 with the "mm: expand mmap_prepare functionality" v4 series applied.
"""

from __future__ import annotations

import errno as _errno
import traceback
from collections.abc import Callable
from typing import Any

from .debug import events
from .errors import HookError, KernelError, errname

__all__ = ["call_hook", "call_void_hook"]

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


def call_hook(hook: str, fn: Callable[..., Any], *args: Any, vm_fault: bool = False) -> int:
    """Call an int-returning hook; return 0 or a negative errno.

    ``vm_fault``: the hook returns ``VM_FAULT_*`` bits (``vm_ops->fault``), which
    are positive.
    """
    fn = _watched(hook, fn)
    try:
        ret = fn(*args)
    except KernelError:
        raise  # a model-detected bug (deadlock, use-after-free, violation): keep it
    except OSError as exc:
        err = exc.errno or _errno.EINVAL
        return -abs(err)
    except Exception as exc:
        raise HookError(
            hook, f"raised {type(exc).__name__}: {exc}{_origin(exc)}. A kernel hook must "
            "return 0 on success or a negative errno such as -errno.EINVAL", kind="raised"
        ) from exc
    if ret is None:
        return 0
    if isinstance(ret, bool) or not isinstance(ret, int):
        raise HookError(hook, f"returned {ret!r}; it must return 0 or a negative errno",
                        kind="not-an-int")
    if vm_fault:
        if ret < 0:
            raise HookError(hook, f"returned {ret}: a fault handler returns VM_FAULT_* bits "
                            "(e.g. VM_FAULT_SIGBUS), not a negative errno", kind="negative-fault")
        return ret
    if ret > 0:
        raise HookError(
            hook, f"returned {ret} ({errname(ret)}?): errors are returned negated, "
            f"e.g. return -errno.{errname(ret)}", kind="positive"
        )
    if ret < -4095:
        raise HookError(hook, f"returned {ret}, which is not an errno", kind="not-an-errno")
    return ret


def call_void_hook(hook: str, fn: Callable[..., Any], *args: Any) -> None:
    """Call a hook whose return value the kernel ignores (``open``, ``close``)."""
    fn = _watched(hook, fn)
    try:
        fn(*args)
    except KernelError:
        raise
    except Exception as exc:
        raise HookError(
            hook, f"raised {type(exc).__name__}: {exc}{_origin(exc)}. This hook cannot fail "
            "in the kernel; it returns nothing", kind="raised"
        ) from exc
