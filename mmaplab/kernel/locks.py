"""The mmap lock and the file rmap lock, with a lockdep-like checker.

Models ``struct rw_semaphore`` as used for ``mm->mmap_lock``
(include/linux/mmap_lock.h) and ``mapping->i_mmap_rwsem`` (include/linux/fs.h,
``i_mmap_lock_write()``), and the two lockdep reports that matter for the
mmap_prepare series (kernel/locking/lockdep.c): *recursive locking* (taking a
lock this task already holds — the mainline deadlock, since ac0a3fc9c07d and fixed by
v4 04/21, of unmapping while the rmap lock is held) and *circular dependency*
(taking locks in the reverse of an order seen before — mmap_lock must be taken before i_mmap_rwsem).

The model runs one task at a time, so any attempt to take a held lock is a
deadlock, and it is reported instead of hanging.

A lock still held when a system call returns is lockdep's third report,
``lockdep_sys_exit()`` ("lock held when returning to user space"), which the
kernel makes on every return, successful or not: :class:`LockLeak` is one such
report, recorded per mm in ``mm.lock_leaks`` by ``mmaplab.kernel.mm``.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import DeadlockError, errname

__all__ = ["RwSemaphore", "Lockdep", "lockdep", "HeldLock", "LockLeak"]


@dataclass(slots=True)
class HeldLock:
    lock: RwSemaphore
    write: bool
    where: str


@dataclass(frozen=True, slots=True)
class LockLeak:
    """A lock still held as a system call returns: ``lockdep_sys_exit()``'s report.

    kernel/locking/lockdep.c checks on every return to user space, whether the call
    succeeded or failed, so a lock leaked on an error path is reported like any other.
    ``syscall`` is the kernel entry (``vm_mmap_pgoff``, ``__vm_munmap``, ...);
    ``lock``, ``lock_class``, ``write`` and ``taken_in`` say which lock and who took it;
    ``error`` is the errno the call failed with (0: it succeeded).
    """

    syscall: str
    lock: str
    lock_class: str
    write: bool
    taken_in: str
    error: int = 0

    @property
    def failed(self) -> bool:
        """Whether the lock leaked on an error path."""
        return self.error != 0

    def __str__(self) -> str:
        how = f"failing with -{errname(self.error)}" if self.error else "succeeding"
        return (f"lock held when returning to user space: {self.lock} (taken for "
                f"{'write' if self.write else 'read'} in {self.taken_in}) is still held as "
                f"{self.syscall} returns, {how}")


class Lockdep:
    """Per-task held-lock stack plus the global lock-class dependency graph."""

    def __init__(self) -> None:
        self.held: list[HeldLock] = []
        #: (outer class, inner class) pairs seen so far, like lockdep's chains.
        self.deps: set[tuple[str, str]] = {("mmap_lock", "i_mmap_rwsem")}

    def acquire(self, lock: RwSemaphore, write: bool, where: str) -> None:
        """``lock_acquire()`` (kernel/locking/lockdep.c): check, then record the lock."""
        if not self.held:  # the first lock a system call takes (mmap_lock): nothing to check
            self.held.append(HeldLock(lock, write, where))
            return
        for h in self.held:
            if h.lock is lock:
                raise DeadlockError(
                    f"possible recursive locking detected: {lock.name} is already held "
                    f"(taken for {'write' if h.write else 'read'} in {h.where}) and "
                    f"{where} tries to take it again; the task would wait on itself forever",
                    kind="recursive", lock_class=lock.lock_class,
                )
        for h in self.held:
            if (lock.lock_class, h.lock.lock_class) in self.deps and (
                lock.lock_class != h.lock.lock_class
            ):
                raise DeadlockError(
                    f"possible circular locking dependency: {where} takes {lock.name} while "
                    f"holding {h.lock.name}, but {lock.lock_class} is ordered before "
                    f"{h.lock.lock_class}",
                    kind="circular", lock_class=lock.lock_class,
                )
        for h in self.held:
            if h.lock.lock_class != lock.lock_class:
                self.deps.add((h.lock.lock_class, lock.lock_class))
        self.held.append(HeldLock(lock, write, where))

    def release(self, lock: RwSemaphore) -> None:
        """``lock_release()``: an unbalanced unlock is reported too."""
        for i in range(len(self.held) - 1, -1, -1):
            if self.held[i].lock is lock:
                del self.held[i]
                return
        raise DeadlockError(f"releasing {lock.name}, which is not held (unbalanced unlock)",
                            kind="unbalanced", lock_class=lock.lock_class)

    def is_held(self, lock: RwSemaphore) -> bool:
        """``lockdep_is_held()``."""
        return any(h.lock is lock for h in self.held)

    def mark(self) -> int:
        """A position in the held stack; :meth:`unwind` releases everything above it."""
        return len(self.held)

    def held_since(self, mark: int, own: RwSemaphore) -> list[HeldLock]:
        """The locks taken since ``mark`` other than ``own`` (the system call's mmap_lock)."""
        return [h for h in self.held[mark:] if h.lock is not own]

    def unwind(self, mark: int) -> list[HeldLock]:
        """Release locks taken since ``mark`` (used when an operation aborts)."""
        dropped = self.held[mark:]
        del self.held[mark:]
        for h in dropped:
            h.lock._force_release()
        return dropped

    def reset(self) -> None:
        """Forget every held lock (tests and notebooks start clean)."""
        for h in self.held:
            h.lock._force_release()
        self.held.clear()


#: The single model task's lock state.
lockdep = Lockdep()


class RwSemaphore:
    """A reader/writer semaphore checked by :data:`lockdep`."""

    __slots__ = ("name", "lock_class", "writer", "readers")

    def __init__(self, name: str, lock_class: str) -> None:
        self.name = name
        self.lock_class = lock_class
        self.writer = False
        self.readers = 0

    def down_write(self, where: str = "?") -> None:
        """``down_write()`` / ``mmap_write_lock()`` / ``i_mmap_lock_write()``."""
        lockdep.acquire(self, True, where)
        self.writer = True

    def up_write(self) -> None:
        """``up_write()``."""
        lockdep.release(self)
        self.writer = False

    def down_read(self, where: str = "?") -> None:
        """``down_read()``."""
        lockdep.acquire(self, False, where)
        self.readers += 1

    def up_read(self) -> None:
        """``up_read()``."""
        lockdep.release(self)
        self.readers -= 1

    @property
    def locked(self) -> bool:
        return self.writer or self.readers > 0

    def assert_write_locked(self, where: str) -> None:
        """``mmap_assert_write_locked()`` / ``i_mmap_assert_write_locked()``."""
        if not self.writer:
            raise DeadlockError(f"{where} requires {self.name} held for write, and it is not",
                                kind="not-held", lock_class=self.lock_class)

    def _force_release(self) -> None:
        self.writer = False
        self.readers = 0

    def __repr__(self) -> str:
        state = "write-locked" if self.writer else f"{self.readers} readers"
        return f"<{self.name} {state}>"
