"""Event points: where the model tells its debug aids what it is doing.

Not a kernel structure, but the kernel's own habit: lockdep, KASAN and the
tracepoints are called from fixed places in mm/ (``lockdep_sys_exit()`` on the
way back to user space, ``trace_vma_store()`` when a VMA enters the tree, and so
on); they never patch the code they watch.  The model calls these functions at
the same places, and a debug aid (the sanitizer) subscribes to an ``mm`` with
:func:`attach`, which lists it in ``mm.observers``.  With nothing attached each point
costs one attribute read: the model tests ``mm.observers`` before it builds any argument.

The points, in the order a system call meets them:

* ``syscall_enter(mm, name, args, kwargs)`` — a system call of ``MM`` starts;
* ``hook_called(hook, fn)`` — a driver or learner hook is about to run; a watcher
  returns the function to call instead (a checking wrapper).  Hooks do not know
  their mm, so hook watchers are global (:func:`watch_hooks`);
* ``vma_linked(mm, vma)`` — ``vma_link()`` put a VMA into the tree and the rmap;
* ``lockdep_sys_exit(mm, what, leaks)`` — the work under ``mmap_lock`` returned or
  failed, and left the locks ``leaks`` (:class:`~mmaplab.kernel.locks.LockLeak`) held:
  leaked to user space (only called when there is a leak);
* ``syscall_exit(mm, name, ret, failure)`` — the call returned ``ret`` or is
  failing with ``failure``; an observer may raise to replace the failure.

Only imports under ``TYPE_CHECKING``, so every model module may call it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..locks import LockLeak
    from ..mm_types import MmStruct, VmAreaStruct

__all__ = ["MmObserver", "HookWatcher", "attach", "detach", "observers", "syscall_enter",
           "syscall_exit", "lockdep_sys_exit", "vma_linked", "hook_called", "watch_hooks",
           "unwatch_hooks", "watching_hooks"]

#: ``watcher(hook, fn)`` returns the function to call in place of ``fn``.
HookWatcher = Callable[[str, Callable[..., Any]], Callable[..., Any]]


class MmObserver:
    """What a debug aid may be told about one mm; every point is a no-op by default."""

    def syscall_enter(self, mm: MmStruct, name: str, args: tuple[Any, ...],
                      kwargs: dict[str, Any]) -> None:
        """A system call starts (before any argument is checked)."""

    def syscall_exit(self, mm: MmStruct, name: str, ret: Any,
                     failure: BaseException | None) -> None:
        """A system call ends; raising replaces ``failure`` (or the return)."""

    def lockdep_sys_exit(self, mm: MmStruct, what: str, leaks: list[LockLeak]) -> None:
        """The work done under ``mmap_lock`` for ``what`` returned (or failed) with
        ``leaks`` still held; they are also in ``mm.lock_leaks``."""

    def vma_linked(self, mm: MmStruct, vma: VmAreaStruct) -> None:
        """``vma`` was linked into ``mm``'s tree (a first map, or a copy made by fork)."""


_hook_watchers: list[HookWatcher] = []


def attach(mm: MmStruct, observer: MmObserver) -> None:
    """Subscribe ``observer`` to ``mm``'s event points (once)."""
    if observer not in mm.observers:
        mm.observers = (*mm.observers, observer)


def detach(mm: MmStruct, observer: MmObserver) -> None:
    """Unsubscribe ``observer`` from ``mm`` (a no-op if it was not subscribed)."""
    mm.observers = tuple(o for o in mm.observers if o is not observer)


def observers(mm: MmStruct) -> tuple[MmObserver, ...]:
    """The observers subscribed to ``mm``, in subscription order (``mm.observers``)."""
    return mm.observers


def syscall_enter(mm: MmStruct, name: str, args: tuple[Any, ...],
                  kwargs: dict[str, Any]) -> None:
    for obs in observers(mm):
        obs.syscall_enter(mm, name, args, kwargs)


def syscall_exit(mm: MmStruct, name: str, ret: Any, failure: BaseException | None) -> None:
    # Innermost first, as the calls nest.
    for obs in reversed(observers(mm)):
        obs.syscall_exit(mm, name, ret, failure)


def lockdep_sys_exit(mm: MmStruct, what: str, leaks: list[LockLeak]) -> None:
    for obs in observers(mm):
        obs.lockdep_sys_exit(mm, what, leaks)


def vma_linked(mm: MmStruct, vma: VmAreaStruct) -> None:
    for obs in observers(mm):
        obs.vma_linked(mm, vma)


def hook_called(hook: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """The function to run for ``hook``: ``fn`` wrapped by every watcher (latest outermost)."""
    for watcher in _hook_watchers:
        fn = watcher(hook, fn)
    return fn


def watch_hooks(watcher: HookWatcher) -> None:
    """Have ``watcher`` see every hook called from now on (until :func:`unwatch_hooks`)."""
    _hook_watchers.append(watcher)


def unwatch_hooks(watcher: HookWatcher) -> None:
    """Undo the latest :func:`watch_hooks` of ``watcher``."""
    for i in range(len(_hook_watchers) - 1, -1, -1):
        if _hook_watchers[i] == watcher:
            del _hook_watchers[i]
            return


@contextmanager
def watching_hooks(watcher: HookWatcher) -> Iterator[None]:
    """Have ``watcher`` see every hook called inside the block."""
    watch_hooks(watcher)
    try:
        yield
    finally:
        unwatch_hooks(watcher)
