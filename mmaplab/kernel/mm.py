"""``struct mm_struct`` and the system calls that act on it.

``MM`` is the public surface of the model: ``mmap``/``munmap``/``mprotect``
mirror the system calls (``ksys_mmap_pgoff()``/``vm_mmap_pgoff()`` in mm/util.c
and mm/mmap.c, ``__vm_munmap()`` in mm/vma.c, ``do_mprotect_pkey()``), taking
``mmap_lock`` for write around the work exactly as Linux does; ``fault`` is a
user access; ``fork`` is ``dup_mmap()``; ``maps`` is ``/proc/<pid>/maps``.

Follows Linux 7.0 with the "mm: expand mmap_prepare functionality" v4 series applied.
"""

from __future__ import annotations

import errno
import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar, cast

from .brk import sys_brk
from .config import DEFAULT, KernelConfig, install_config, restore_config
from .debug import events
from .debug.fault_inject import FaultInjector
from .debug.sanitizer import Sanitizer, default_enabled
from .errors import DeadlockError, KernelError, UseAfterFreeError, kerr
from .flags import (
    DEFAULT_MAX_MAP_COUNT,
    DEFAULT_MMAP_MIN_ADDR,
    DEFAULT_RLIMIT_MEMLOCK,
    DEFAULT_START_BRK,
    MAP_ANONYMOUS,
    MAP_HUGETLB,
    MCL_CURRENT,
    PAGE_MASK,
    PAGE_SHIFT,
    RLIM_INFINITY,
    VMFlag,
    map_flags_names,
    page_align,
    prot_names,
)
from .fork import dup_mmap
from .fs import File, fput
from .hooks import Deferred
from .hugetlb import huge_page_size_for, hugetlb_file_setup
from .locks import LockLeak, lockdep
from .madvise import do_madvise
from .maps import show_map_vma, show_smap
from .memory import handle_mm_fault, mm_populate
from .mlock import (
    apply_mlockall_flags,
    do_mlock,
    do_munlock,
    mlock2_flags,
    mlock_posix_error,
    mlockall_check,
)
from .mm_types import MmStruct, VmAreaStruct
from .mmap import do_mmap
from .mprotect import do_mprotect_pkey
from .mremap import do_mremap
from .mseal import do_mseal
from .pgtable import Pte
from .vma import do_vmi_munmap

__all__ = ["MM"]

R = TypeVar("R")
_ULONG = (1 << 64) - 1


F = TypeVar("F", bound=Callable[..., Any])


def _syscall(fn: F) -> F:
    """Mark a method as a system call: its entry and exit are event points.

    Without observers (the common case) the call runs as it is.
    """
    name = fn.__name__

    @functools.wraps(fn)
    def syscall(self: MM, *args: Any, **kwargs: Any) -> Any:
        if not self.observers:  # nobody listens: the call runs as it is
            return fn(self, *args, **kwargs)
        events.syscall_enter(self, name, args, kwargs)
        try:
            ret = fn(self, *args, **kwargs)
        except BaseException as exc:
            events.syscall_exit(self, name, None, exc)
            raise
        events.syscall_exit(self, name, ret, None)
        return ret

    return cast(F, syscall)  # functools.wraps keeps the name, doc and signature


def _ulong(name: str, value: object) -> int:
    """A system-call argument as the kernel sees it: an unsigned 64-bit integer.

    A negative number wraps around as it would crossing the syscall boundary
    (so ``length=-1`` is a huge length, answered with the kernel's errno).
    """
    if type(value) is int:  # the common case first: one check
        return value & _ULONG
    if isinstance(value, bool) or not isinstance(value, int):
        raise kerr(errno.EINVAL, f"{name} must be an integer, not {type(value).__name__}")
    return value & _ULONG


class MM(MmStruct):
    """An address space (``struct mm_struct``) of one x86-64 process, and its system calls.

    ``MM()`` starts empty.  Options: ``mmap_min_addr`` (vm.mmap_min_addr),
    ``cap_sys_rawio`` (may map below it), ``max_map_count`` (vm.max_map_count),
    ``config`` (which kernel: :data:`mmaplab.kernel.config.V4` or the default with fixes),
    ``trace`` (record the steps), ``sanitize`` (check learner hooks with
    ``mmaplab.kernel.debug.sanitizer``; None = the global default),
    ``rlimit_memlock`` (RLIMIT_MEMLOCK in bytes), ``cap_ipc_lock`` (mlock beyond it) and
    ``start_brk`` (where the heap starts: ``mm.start_brk`` and the initial ``mm.cur_brk``),
    ``rlimit_data``/``rlimit_as`` (RLIMIT_DATA for brk, RLIMIT_AS for every mapping, in
    bytes; unlimited by default), ``mdwe`` (memory-deny-write-execute, as after
    ``prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN)``: W+X or newly-X mappings are EACCES) and
    ``pku`` (x86 protection keys are enabled: a PROT_EXEC-only mapping gets the
    execute-only pkey, ``__arch_override_mprotect_pkey()`` in arch/x86/mm/pkeys.c, so
    neither the user nor get_user_pages() can read it).
    """

    def __init__(self, *, mmap_min_addr: int = DEFAULT_MMAP_MIN_ADDR, cap_sys_rawio: bool = False,
                 max_map_count: int = DEFAULT_MAX_MAP_COUNT, config: KernelConfig = DEFAULT,
                 trace: bool = False, sanitize: bool | None = None,
                 rlimit_memlock: int = DEFAULT_RLIMIT_MEMLOCK, cap_ipc_lock: bool = False,
                 pku: bool = False, start_brk: int = DEFAULT_START_BRK,
                 rlimit_data: int = RLIM_INFINITY, rlimit_as: int = RLIM_INFINITY,
                 mdwe: bool = False) -> None:
        super().__init__(mmap_min_addr=mmap_min_addr, cap_sys_rawio=cap_sys_rawio,
                         max_map_count=max_map_count, config=config, trace=trace,
                         rlimit_memlock=rlimit_memlock, cap_ipc_lock=cap_ipc_lock, pku=pku,
                         start_brk=start_brk, rlimit_data=rlimit_data, rlimit_as=rlimit_as,
                         mdwe=mdwe)
        if sanitize or (sanitize is None and default_enabled()):
            Sanitizer().attach(self)

    @property
    def sanitizer(self) -> Sanitizer | None:
        """The sanitizer checking this mm's system calls, if any."""
        for obs in events.observers(self):
            if isinstance(obs, Sanitizer):
                return obs
        return None

    def _locked(self, what: str, fn: Callable[..., R], *args: Any) -> R:
        """Run ``fn(*args)`` under ``mmap_write_lock``; on any error release what it took.

        A hook that went wrong inside made the path take its error path
        (:class:`~mmaplab.kernel.hooks.Deferred`); its report is raised here, on the way
        out, in place of the plain errno the path raised (or after the path succeeded,
        for ``open``/``close``, which cannot fail).
        """
        return self._run(what, self.mmap_lock.down_write, fn, args)

    def _run(self, what: str, lock: Callable[[str], None], fn: Callable[..., R],
             args: tuple[Any, ...]) -> R:
        # Every system call passes here: one frame, no closures, and the config is only
        # installed when it is not already the running one.
        mark = len(lockdep.held)
        lock(what)
        with Deferred() as deferred:
            try:
                token = install_config(self.config)
                try:
                    ret = fn(*args)
                finally:
                    restore_config(token)
            except BaseException as exc:
                self._sys_exit(what, mark, exc)
                if deferred.report is None or deferred.report is exc or isinstance(
                        exc, (KeyboardInterrupt, SystemExit)):
                    raise
                # else: the path failed because a hook did; name the hook's problem below
            else:
                self._sys_exit(what, mark, None)
            finally:
                lockdep.unwind(mark)
        if deferred.report is not None:
            raise deferred.report
        return ret

    def _sys_exit(self, what: str, mark: int, failure: BaseException | None) -> None:
        """``lockdep_sys_exit()``: report every lock the call leaves held, on either path.

        The model then releases them (``lockdep.unwind``), so that the next call does not
        deadlock on a lock no task will ever drop; the report in :attr:`lock_leaks` (and the
        trace step ``lockdep_sys_exit``) is what says it happened.  A lockdep or KASAN
        report raised mid-call is a crash of the model's own path, not a return to user
        space: the locks the model held at that point are not a hook's leak.
        """
        if len(lockdep.held) <= mark + 1 or isinstance(
                failure, (DeadlockError, UseAfterFreeError, KeyboardInterrupt, SystemExit)):
            return  # only the mmap_lock (or nothing) above the mark: the common case
        left = lockdep.held_since(mark, self.mmap_lock)
        if not left:
            return
        err = 0
        if failure is not None:
            err = getattr(failure, "errno", None) or errno.EINVAL
        leaks = [LockLeak(what, h.lock.name, h.lock.lock_class, h.write, h.where, err)
                 for h in left]
        self.lock_leaks.extend(leaks)
        for leak in leaks:
            self.trace.step("lockdep_sys_exit", str(leak))
        events.lockdep_sys_exit(self, what, leaks)

    @contextmanager
    def injecting(self, point: str, nth: int = 1, err: int = errno.ENOMEM
                  ) -> Iterator[FaultInjector]:
        """Make fault-injection ``point`` fail on its ``nth`` evaluation inside the block."""
        inj = FaultInjector(point, nth, err)
        old, self.inject = self.inject, inj
        try:
            yield inj
        finally:
            self.inject = old

    # -- system calls ------------------------------------------------------------
    @_syscall
    def mmap(self, addr: int | None, length: int, prot: int, flags: int,
             file: File | None = None, offset: int = 0) -> int:
        """``mmap(2)``: returns the address; raises ``OSError`` with the kernel's errno."""
        addr = 0 if addr is None else _ulong("addr", addr)
        length, offset = _ulong("length", length), _ulong("offset", offset)
        prot, flags = _ulong("prot", prot), _ulong("flags", flags)
        if offset & ~PAGE_MASK:
            raise kerr(errno.EINVAL, f"offset {offset:#x} is not a multiple of the page size")
        hugetlb_file = None
        if flags & MAP_ANONYMOUS:
            file = None
            if flags & MAP_HUGETLB:
                # ksys_mmap_pgoff(): anonymous huge pages come from an unlinked hugetlbfs file.
                hsize = huge_page_size_for(flags)
                length = (length + hsize - 1) & ~(hsize - 1) & _ULONG
                file = hugetlb_file = hugetlb_file_setup(hsize)
        elif file is None:
            raise kerr(errno.EBADF, "no file given for a mapping without MAP_ANONYMOUS")
        elif not isinstance(file, File):
            raise kerr(errno.EBADF, f"{file!r} is not an open file")
        elif flags & MAP_HUGETLB:
            raise kerr(errno.EINVAL, "MAP_HUGETLB on a file that is not on hugetlbfs")

        def work() -> tuple[int, bool]:
            # The detail names every flag: only worth building when it is recorded.
            detail = (f"len={length:#x} {prot_names(prot)} {map_flags_names(flags)}"
                      if self.trace.enabled else "")
            with self.trace.enter("do_mmap", detail):
                return do_mmap(self, file, addr, length, prot, flags, offset >> PAGE_SHIFT)

        try:
            ret, populate = self._locked("vm_mmap_pgoff", work)
        finally:
            if hugetlb_file is not None:
                fput(hugetlb_file)  # the mapping holds its own reference
        if populate:
            self._populate(ret, page_align(length))
        return ret

    @_syscall
    def munmap(self, addr: int, length: int) -> None:
        """``munmap(2)``."""
        addr, length = _ulong("addr", addr), _ulong("length", length)
        if addr & ~PAGE_MASK or addr > self.task_size or length > self.task_size - addr:
            raise kerr(errno.EINVAL, f"bad range {addr:#x}+{length:#x}")
        length = page_align(length)
        if not length:
            raise kerr(errno.EINVAL, "length is zero")
        self._locked("__vm_munmap", do_vmi_munmap, self, addr, addr + length)

    @_syscall
    def mprotect(self, addr: int, length: int, prot: int) -> None:
        """``mprotect(2)``."""
        addr, length, prot = _ulong("addr", addr), _ulong("length", length), _ulong("prot", prot)
        self._locked("do_mprotect_pkey", do_mprotect_pkey, self, addr, length, prot)

    @_syscall
    def mremap(self, old_addr: int, old_size: int, new_size: int, flags: int = 0,
               new_addr: int | None = None) -> int:
        """``mremap(2)`` (mm/mremap.c): resize and/or move a mapping; returns its address.

        ``flags``: MREMAP_MAYMOVE, MREMAP_FIXED (to ``new_addr``), MREMAP_DONTUNMAP.
        """
        old_addr, old_size = _ulong("old_addr", old_addr), _ulong("old_size", old_size)
        new_size, flags = _ulong("new_size", new_size), _ulong("flags", flags)
        target = 0 if new_addr is None else _ulong("new_addr", new_addr)
        ret, vrm = self._locked("do_mremap", lambda: do_mremap(
            self, old_addr, old_size, new_size, flags, target))
        if vrm.populate_expand:
            # A locked mapping grew: fault in the new part, after the write lock is dropped.
            self._populate(vrm.new_addr + vrm.old_len, vrm.delta)
        return ret

    @_syscall
    def brk(self, addr: int) -> int:
        """``brk(2)`` (``SYSCALL_DEFINE1(brk)`` in mm/mmap.c, Linux 7.0): move the break.

        Returns the new break, or the old one when the move is refused (below
        ``start_brk``, RLIMIT_DATA, a mapping in the way, out of memory): the system
        call itself reports no errno, and ``brk(0)`` is the usual way to read the
        break.  Growing adds anonymous ``[heap]`` memory after the old break (merged
        into the VMA ending there when it can be); shrinking unmaps the freed pages.
        """
        addr = _ulong("addr", addr)
        oldbrk = page_align(self.cur_brk)
        ret, populate = self._locked("brk", lambda: sys_brk(self, addr))
        if populate:
            self._populate(oldbrk, page_align(ret) - oldbrk)
        return ret

    @_syscall
    def mseal(self, addr: int, length: int, flags: int = 0) -> None:
        """``mseal(2)`` (mm/mseal.c): seal the mappings of the range for good."""
        addr, length, flags = _ulong("addr", addr), _ulong("length", length), \
            _ulong("flags", flags)
        self._locked("do_mseal", lambda: do_mseal(self, addr, length, flags))

    @_syscall
    def madvise(self, addr: int, length: int, advice: int) -> None:
        """``madvise(2)`` (mm/madvise.c): MADV_* advice for ``[addr, addr+length)``."""
        addr, length, advice = _ulong("addr", addr), _ulong("length", length), \
            _ulong("advice", advice)
        self._locked("do_madvise", lambda: do_madvise(self, addr, length, advice))

    def _mlock(self, addr: int, length: int, flags: VMFlag) -> None:
        """``do_mlock()``: lock under the write lock, then populate (errors reported)."""
        start, length = self._locked("do_mlock", lambda: do_mlock(self, addr, length, flags))
        ret = self._populate(start, length, ignore_errors=False)
        if ret:
            raise kerr(mlock_posix_error(ret), f"could not fault in all of {start:#x}+"
                       f"{length:#x} (the pages stay VM_LOCKED)")

    @_syscall
    def mlock(self, addr: int, length: int) -> None:
        """``mlock(2)`` (mm/mlock.c): lock the pages of the range and fault them in."""
        self._mlock(_ulong("addr", addr), _ulong("length", length), VMFlag.LOCKED)

    @_syscall
    def mlock2(self, addr: int, length: int, flags: int = 0) -> None:
        """``mlock2(2)``: with MLOCK_ONFAULT, pages are locked as they are faulted in."""
        vm_flags = mlock2_flags(_ulong("flags", flags))
        self._mlock(_ulong("addr", addr), _ulong("length", length), vm_flags)

    @_syscall
    def munlock(self, addr: int, length: int) -> None:
        """``munlock(2)``."""
        addr, length = _ulong("addr", addr), _ulong("length", length)
        self._locked("munlock", lambda: do_munlock(self, addr, length))

    @_syscall
    def mlockall(self, flags: int) -> None:
        """``mlockall(2)``: MCL_CURRENT, MCL_FUTURE, MCL_ONFAULT."""
        flags = _ulong("flags", flags)
        mlockall_check(self, flags)
        self._locked("mlockall", lambda: apply_mlockall_flags(self, flags))
        if flags & MCL_CURRENT:
            self._populate(0, self.task_size)

    @_syscall
    def munlockall(self) -> None:
        """``munlockall(2)``."""
        self._locked("munlockall", lambda: apply_mlockall_flags(self, 0))

    @_syscall
    def fault(self, addr: int, write: bool = False) -> Pte:
        """A user read or write of ``addr``: returns the PTE after the fault.

        Raises :class:`~mmaplab.kernel.errors.SegmentationFault` or
        :class:`~mmaplab.kernel.errors.BusError` (both ``OSError(EFAULT)``).
        """
        addr = _ulong("addr", addr)
        return self._read_locked("lock_mm_and_find_vma", handle_mm_fault, self, addr, write)

    @_syscall
    def fork(self) -> MM:
        """``fork(2)``: a child address space (``dup_mmap``)."""
        child = MM(mmap_min_addr=self.mmap_min_addr, cap_sys_rawio=self.cap_sys_rawio,
                   max_map_count=self.max_map_count, config=self.config, sanitize=False,
                   rlimit_memlock=self.rlimit_memlock, cap_ipc_lock=self.cap_ipc_lock,
                   pku=self.pku, start_brk=self.start_brk, rlimit_data=self.rlimit_data,
                   rlimit_as=self.rlimit_as, mdwe=self.mdwe)
        child.cur_brk = self.cur_brk  # dup_mm() copies the whole mm_struct, the break with it
        child.trace = self.trace

        def work() -> None:
            child.mmap_lock.down_write("dup_mmap")
            try:
                dup_mmap(self, child)
            except BaseException:
                # dup_mmap() failed: the half-built child is torn down (mmput -> exit_mmap).
                child.mmap_lock.up_write()
                child.exit()
                raise
            child.mmap_lock.up_write()  # dup_mmap() ends with mmap_write_unlock(mm)

        try:
            self._locked("dup_mmap", work)
        except Exception:
            # The fork is reported failed (e.g. a copy's ->open raised: open cannot fail, so
            # dup_mmap() completed): nobody gets the child, so it must not keep references.
            if child.map_count:
                try:
                    child.exit()
                except KernelError:
                    pass  # its close hooks misbehave too; the failure above says why
            raise
        return child

    @_syscall
    def exit(self) -> None:
        """``exit_mmap()``: unmap everything (closes every VMA)."""
        def work() -> None:
            # exit_mmap() tears everything down without munmap's checks: seals do not apply.
            for vma in self.mt:
                vma.vm_flags &= ~VMFlag.SEALED
            do_vmi_munmap(self, 0, self.task_size)

        self._locked("exit_mmap", work)

    def _populate(self, start: int, length: int, ignore_errors: bool = True) -> int:
        """``mm_populate()``/``__mm_populate()``: pre-fault under the mmap read lock.

        Returns 0 or the first negative errno (only without ``ignore_errors``).
        """
        return self._read_locked("__mm_populate", mm_populate, self, start, length,
                                 ignore_errors)

    def _read_locked(self, what: str, fn: Callable[..., R], *args: Any) -> R:
        """Run ``fn(*args)`` under ``mmap_read_lock``, as :meth:`_locked` does under the
        write lock."""
        return self._run(what, self.mmap_lock.down_read, fn, args)

    # -- inspection --------------------------------------------------------------
    def vmas(self) -> list[VmAreaStruct]:
        """The VMAs in address order."""
        return list(self.mt)

    def find_vma(self, addr: int) -> VmAreaStruct | None:
        """``find_vma()``: the first VMA ending above ``addr``."""
        return self.mt.find(addr)

    def vma_lookup(self, addr: int) -> VmAreaStruct | None:
        """``vma_lookup()``: the VMA containing ``addr``."""
        return self.mt.lookup(addr)

    def maps(self) -> str:
        """``/proc/<pid>/maps``: one line per VMA, newline-terminated."""
        return "".join(show_map_vma(v) + "\n" for v in self.mt)

    def smaps(self) -> str:
        """``/proc/<pid>/smaps``: per VMA its maps line, sizes, ``Locked:`` and ``VmFlags:``."""
        return "".join(show_smap(self, v) for v in self.mt)

    def __repr__(self) -> str:
        return f"<MM {self.map_count} VMAs>"
