"""``mlock(2)``, ``mlock2(2)``, ``munlock(2)``, ``mlockall(2)``, ``munlockall(2)``.

Models mm/mlock.c of Linux 7.0: ``do_mlock()`` rounds the range out to pages,
checks RLIMIT_MEMLOCK (unless CAP_IPC_LOCK), and ``apply_vma_lock_flags()``
walks the VMAs, calling ``mlock_fixup()`` on each; a hole stops the walk with
ENOMEM, leaving the VMAs before it changed, as Linux does.  ``mlock_fixup()``
skips VMAs that cannot be locked (``vma_supports_mlock()``: VM_SPECIAL,
VM_DROPPABLE, hugetlb) without an error, then merges or splits through
``vma_modify_flags()`` and keeps ``mm->locked_vm``.  After locking, the range
is populated (``__mm_populate()``); a page that cannot be faulted in makes
mlock fail after the flags were set (``__mlock_posix_error_return()``: EFAULT
becomes ENOMEM, ENOMEM becomes EAGAIN).  ``mlockall`` sets ``mm->def_flags``
for MCL_FUTURE and locks every VMA for MCL_CURRENT, ignoring populate errors.
"""

from __future__ import annotations

import errno

from .errors import kerr
from .flags import (
    MCL_CURRENT,
    MCL_FUTURE,
    MCL_ONFAULT,
    MLOCK_ONFAULT,
    PAGE_MASK,
    PAGE_SHIFT,
    VM_LOCKED_MASK,
    VM_SPECIAL,
    VMFlag,
    offset_in_page,
    page_align,
    user_range_end,
)
from .mm_types import MmStruct, VmAreaStruct
from .vma import vma_modify_flags

__all__ = ["do_mlock", "do_munlock", "mlock2_flags", "mlockall_check", "apply_mlockall_flags",
           "mlock_fixup", "apply_vma_lock_flags", "vma_supports_mlock", "can_do_mlock",
           "mlock_posix_error"]


def mlock_future_ok(mm: MmStruct, flags: VMFlag, nbytes: int) -> bool:
    """``mlock_future_ok()`` (mm/mmap.c, 7.0): may ``nbytes`` more of a mapping with
    ``flags`` (locked or not) be locked within RLIMIT_MEMLOCK?"""
    if VMFlag.LOCKED not in flags or mm.cap_ipc_lock:
        return True
    return (nbytes >> PAGE_SHIFT) + mm.locked_vm <= mm.rlimit_memlock >> PAGE_SHIFT


def can_do_mlock(mm: MmStruct) -> bool:
    """``can_do_mlock()``: a nonzero RLIMIT_MEMLOCK, or CAP_IPC_LOCK."""
    return mm.rlimit_memlock != 0 or mm.cap_ipc_lock


def vma_supports_mlock(vma: VmAreaStruct) -> bool:
    """``vma_supports_mlock()`` (mm/internal.h, 7.0): not VM_SPECIAL, droppable or hugetlb.

    The kernel also refuses DAX VMAs (``vma_is_dax()``) and the gate VMA
    (``get_gate_vma()``, x86-64's vsyscall page).  The model has no DAX files, and the
    gate VMA is not in the mm's tree (it is never walked by mlock or mmap there
    either), so neither case can arise here.
    """
    return not vma.vm_flags & (VM_SPECIAL | VMFlag.DROPPABLE | VMFlag.HUGETLB)


def mlock_fixup(mm: MmStruct, prev: VmAreaStruct | None, vma: VmAreaStruct, start: int, end: int,
                newflags: VMFlag) -> VmAreaStruct:
    """``mlock_fixup()``: give ``[start, end)`` of ``vma`` the lock bits of ``newflags``.

    Returns the VMA now covering the range (the caller's next ``prev``).
    """
    oldflags = vma.vm_flags
    if newflags == oldflags or not vma_supports_mlock(vma):
        return vma  # not set, not counted: mlock of a VM_PFNMAP range "succeeds"
    vma, newflags = vma_modify_flags(mm, prev, vma, start, end, newflags)
    nr_pages = (end - start) >> PAGE_SHIFT
    if VMFlag.LOCKED not in newflags:
        nr_pages = -nr_pages
    elif VMFlag.LOCKED in oldflags:
        nr_pages = 0
    mm.locked_vm += nr_pages
    vma.vm_flags = newflags
    mm.trace.step("mlock_fixup", f"{start:#x}-{end:#x} {(newflags & VM_LOCKED_MASK).names()}")
    return vma


def apply_vma_lock_flags(mm: MmStruct, start: int, length: int, flags: VMFlag) -> None:
    """``apply_vma_lock_flags()``: set or clear the lock bits on every VMA of the range."""
    end = user_range_end(start, length)
    if end == start:
        return
    vma = mm.mt.lookup(start)
    if vma is None:
        raise kerr(errno.ENOMEM, f"{start:#x} is not mapped")
    prev = vma if start > vma.vm_start else mm.mt.prev(vma.vm_start)
    nstart = start
    tmp = vma.vm_start
    cur: VmAreaStruct | None = vma
    while cur is not None and cur.vm_start < end:
        if cur.vm_start != tmp:
            raise kerr(errno.ENOMEM, f"hole at {tmp:#x} inside the range")
        newflags = (cur.vm_flags & ~VM_LOCKED_MASK) | flags
        tmp = min(cur.vm_end, end)
        prev = mlock_fixup(mm, prev, cur, nstart, tmp, newflags)
        # vma_iter_end(): merges and splits replace VMAs, so go on from the result's end.
        tmp = prev.vm_end
        nstart = tmp
        cur = mm.mt.find(tmp)
    if tmp < end:
        raise kerr(errno.ENOMEM, f"{tmp:#x}-{end:#x} is not mapped")


def mlock_posix_error(err: int) -> int:
    """``__mlock_posix_error_return()``: gup's EFAULT is ENOMEM, its ENOMEM is EAGAIN."""
    if err == -errno.EFAULT:
        return errno.ENOMEM
    if err == -errno.ENOMEM:
        return errno.EAGAIN
    return -err


def _lock_range(start: int, length: int) -> tuple[int, int]:
    """Page-align the range outwards, as ``do_mlock()``/``munlock()`` do.

    The sum wraps at 64 bits as the C does: ``len = -0x460`` from an unaligned start
    can become a one-page length.
    """
    mask = (1 << 64) - 1
    length = page_align((length + offset_in_page(start)) & mask) & mask
    return start & PAGE_MASK, length


def do_mlock(mm: MmStruct, start: int, length: int, flags: VMFlag) -> tuple[int, int]:
    """``do_mlock()`` up to the populate step (under the mmap write lock).

    Returns the page-aligned range; the caller then populates it with
    ``__mm_populate(..., ignore_errors=0)`` and reports an error through
    :func:`mlock_posix_error`.
    """
    if not can_do_mlock(mm):
        raise kerr(errno.EPERM, "RLIMIT_MEMLOCK is 0 and no CAP_IPC_LOCK")
    start, length = _lock_range(start, length)
    with mm.trace.enter("do_mlock", f"{start:#x}+{length:#x}"):
        if not mm.cap_ipc_lock:
            limit = mm.rlimit_memlock >> PAGE_SHIFT
            locked = (length >> PAGE_SHIFT) + mm.locked_vm
            if locked > limit:
                locked -= _count_mm_mlocked_page_nr(mm, start, length)
            if locked > limit:
                raise kerr(errno.ENOMEM, f"locking {length:#x} bytes exceeds RLIMIT_MEMLOCK "
                           f"({mm.rlimit_memlock:#x})")
        apply_vma_lock_flags(mm, start, length, flags)
    return start, length


def _count_mm_mlocked_page_nr(mm: MmStruct, start: int, length: int) -> int:
    """``count_mm_mlocked_page_nr()``: pages of the range already under VM_LOCKED."""
    end = start + length
    count = 0
    for vma in mm.mt.range(start, end):
        if VMFlag.LOCKED in vma.vm_flags:
            count += (min(end, vma.vm_end) - max(start, vma.vm_start)) >> PAGE_SHIFT
    return count


def mlock2_flags(flags: int) -> VMFlag:
    """``SYSCALL_DEFINE3(mlock2)``: only MLOCK_ONFAULT is a valid flag."""
    if flags & ~MLOCK_ONFAULT:
        raise kerr(errno.EINVAL, f"unknown mlock2 flags {flags & ~MLOCK_ONFAULT:#x}")
    if flags & MLOCK_ONFAULT:
        return VMFlag.LOCKED | VMFlag.LOCKONFAULT
    return VMFlag.LOCKED


def do_munlock(mm: MmStruct, start: int, length: int) -> None:
    """``SYSCALL_DEFINE2(munlock)``: clear the lock bits; nothing is populated."""
    start, length = _lock_range(start, length)
    with mm.trace.enter("munlock", f"{start:#x}+{length:#x}"):
        apply_vma_lock_flags(mm, start, length, VMFlag.NONE)


def apply_mlockall_flags(mm: MmStruct, flags: int) -> None:
    """``apply_mlockall_flags()``: ``def_flags`` for MCL_FUTURE, every VMA for MCL_CURRENT.

    ``mlock_fixup()`` errors are ignored here, as in Linux.  ``flags`` 0 is munlockall.
    """
    mm.def_flags &= ~VM_LOCKED_MASK
    if flags & MCL_FUTURE:
        mm.def_flags |= VMFlag.LOCKED
        if flags & MCL_ONFAULT:
            mm.def_flags |= VMFlag.LOCKONFAULT
        if not flags & MCL_CURRENT:
            return
    to_add = VMFlag.NONE
    if flags & MCL_CURRENT:
        to_add |= VMFlag.LOCKED
        if flags & MCL_ONFAULT:
            to_add |= VMFlag.LOCKONFAULT
    prev: VmAreaStruct | None = None
    addr = 0
    while (vma := mm.mt.find(addr)) is not None:
        newflags = (vma.vm_flags & ~VM_LOCKED_MASK) | to_add
        try:
            prev = mlock_fixup(mm, prev, vma, vma.vm_start, vma.vm_end, newflags)
        except OSError:
            prev = vma
        addr = prev.vm_end


def mlockall_check(mm: MmStruct, flags: int) -> None:
    """``SYSCALL_DEFINE1(mlockall)``'s checks: the flags, the limit for MCL_CURRENT."""
    if (not flags or flags & ~(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT)
            or flags == MCL_ONFAULT):
        raise kerr(errno.EINVAL, f"bad mlockall flags {flags:#x}")
    if not can_do_mlock(mm):
        raise kerr(errno.EPERM, "RLIMIT_MEMLOCK is 0 and no CAP_IPC_LOCK")
    if (flags & MCL_CURRENT and not mm.cap_ipc_lock
            and mm.total_vm > mm.rlimit_memlock >> PAGE_SHIFT):
        raise kerr(errno.ENOMEM, "the address space is larger than RLIMIT_MEMLOCK")
