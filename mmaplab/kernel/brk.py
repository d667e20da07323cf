"""``brk(2)``: the program break and its heap VMA.

Models ``SYSCALL_DEFINE1(brk)`` and ``check_brk_limits()`` (mm/mmap.c) and
``do_brk_flags()`` (mm/vma.c) of Linux 7.0 (torvalds/linux @334fbe73; the v4
mmap_prepare series does not touch them).

The break lives in ``mm.start_brk`` (where the heap starts, fixed at exec) and
``mm.cur_brk`` (the kernel's ``mm->brk``: the current end, any byte address; renamed
because ``MM.brk()`` is the system call).  What a call does:

* below ``start_brk``, or over RLIMIT_DATA (``check_data_rlimit()``): nothing;
* within the same page as the old break: only ``mm.cur_brk`` moves;
* down: ``[PAGE_ALIGN(brk), PAGE_ALIGN(old))`` is unmapped exactly as munmap would
  (every VMA in it, brk's or not).  If no VMA is left in that range, the call fails;
* up: the new pages must be legal for a MAP_FIXED mapping, must keep one free page
  before the next VMA (``vm_start_gap()``), and are added by ``do_brk_flags()``:
  the previous VMA grows when it ends at the old break and a new range there could
  merge into it (same flags, no file, compatible anon_vma, contiguous pgoff);
  otherwise a new anonymous VMA is created.  A brk VMA never merges with the VMA
  after it.

Failure is not an errno: the call returns the old break (userspace compares).
``/proc/<pid>/maps`` names every anonymous VMA overlapping ``(start_brk, brk)``
``[heap]`` (``vma_is_initial_heap()``, include/linux/mm.h).
"""

from __future__ import annotations

import errno

from .errors import KernelError, kerr
from .flags import PAGE_SHIFT, PAGE_SIZE, RLIM_INFINITY, VMFlag, page_align
from .maple_tree import vm_start_gap
from .mlock import mlock_future_ok
from .mm_types import MmStruct, VmAreaStruct, vm_area_free
from .mmap import expand_vm_refusal, may_expand_vm
from .pgtable import vm_get_page_prot
from .vma import VmaMergeStruct, do_vmi_munmap, vma_link, vma_merge_new_range

__all__ = ["sys_brk", "do_brk_flags", "check_brk_limits", "VM_DATA_DEFAULT_FLAGS"]

#: ``VM_DATA_DEFAULT_FLAGS`` on x86-64 (``VM_DATA_FLAGS_TSK_EXEC`` without
#: READ_IMPLIES_EXEC): what every brk VMA gets, with VM_ACCOUNT and ``mm->def_flags``.
VM_DATA_DEFAULT_FLAGS = (VMFlag.READ | VMFlag.WRITE | VMFlag.MAYREAD | VMFlag.MAYWRITE
                         | VMFlag.MAYEXEC)

def check_data_rlimit(mm: MmStruct, new: int) -> int:
    """``check_data_rlimit()`` (include/linux/mm.h): -ENOSPC when the heap plus the
    data segment would exceed RLIMIT_DATA, else 0."""
    limit = mm.rlimit_data
    if limit != RLIM_INFINITY and (new - mm.start_brk) + (mm.end_data - mm.start_data) > limit:
        return -errno.ENOSPC
    return 0


def check_brk_limits(mm: MmStruct, addr: int, length: int) -> int:
    """``check_brk_limits()`` (mm/mmap.c, 7.0): 0, or a negative errno.

    The MAP_FIXED checks of ``get_unmapped_area()`` (the range must fit below
    TASK_SIZE and lie above vm.mmap_min_addr), then the mlock limit for an mm whose
    new mappings are locked (``mlockall(MCL_FUTURE)``): -EAGAIN.
    """
    if length > mm.task_size or addr > mm.task_size - length:
        return -errno.ENOMEM
    if addr < mm.mmap_min_addr and not mm.cap_sys_rawio:
        return -errno.EPERM
    if not mlock_future_ok(mm, mm.def_flags, length):
        return -errno.EAGAIN
    return 0


def do_brk_flags(mm: MmStruct, brkvma: VmAreaStruct | None, addr: int, length: int,
                 flags: VMFlag) -> None:
    """``do_brk_flags()`` (mm/vma.c, 7.0): map ``[addr, addr+length)`` for the heap.

    Grows ``brkvma`` when it ends at ``addr`` and can take the range (a merge in
    "just expand" mode: only the previous VMA is considered), else links a new
    anonymous VMA.  Raises ENOMEM (RLIMIT_AS, the map count, overcommit, or an
    allocation, including a failed merge preallocation: unlike mmap, brk does not go
    on to build a new VMA then).

    Assumes: ``mmap_lock`` held for write; nothing is mapped in the range.
    """
    flags |= VM_DATA_DEFAULT_FLAGS | VMFlag.ACCOUNT | mm.def_flags
    npages = length >> PAGE_SHIFT
    if not may_expand_vm(mm, flags, npages):
        raise kerr(errno.ENOMEM, f"brk: {expand_vm_refusal(mm, npages)} would be exceeded")
    if mm.map_count > mm.max_map_count:
        raise kerr(errno.ENOMEM, f"brk: too many mappings ({mm.map_count})")
    if mm.should_fail("vm_enough_memory"):
        raise kerr(errno.ENOMEM, "brk: not enough memory to commit to the heap")
    mm.committed_pages += npages  # security_vm_enough_memory_mm()
    try:
        vma = None
        if brkvma is not None and brkvma.vm_end == addr:
            vmg = VmaMergeStruct(prev=brkvma, next=None, start=addr, end=addr + length,
                                 pgoff=addr >> PAGE_SHIFT, flags=flags, file=None)
            with mm.trace.enter("vma_merge_new_range", "brk: just expand"):
                vma = vma_merge_new_range(mm, vmg)
            if vma is None and vmg.nomem:
                raise kerr(errno.ENOMEM, "brk: the merge's maple tree preallocation failed")
        if vma is None:
            vma = _brk_new_vma(mm, addr, length, flags)
    except KernelError:
        mm.committed_pages -= npages  # vm_unacct_memory()
        raise
    if VMFlag.LOCKED in flags:
        mm.locked_vm += npages
    vma.vm_flags |= VMFlag.SOFTDIRTY


def _brk_new_vma(mm: MmStruct, addr: int, length: int, flags: VMFlag) -> VmAreaStruct:
    """The tail of ``do_brk_flags()``: allocate, set up and store a new anonymous VMA."""
    if mm.should_fail("vm_area_alloc"):
        raise kerr(errno.ENOMEM, "brk: vm_area_alloc: out of memory")
    vma = VmAreaStruct(mm, addr, addr + length, addr >> PAGE_SHIFT, flags,
                       vm_get_page_prot(flags))
    if mm.should_fail("vma_iter_prealloc"):  # vma_iter_store_gfp() failing
        vm_area_free(vma, "do_brk_flags")
        raise kerr(errno.ENOMEM, "brk: storing the VMA in the maple tree failed")
    vma_link(mm, vma)
    mm.trace.step("vma_link", f"brk VMA #{vma.nr} {vma.vm_start:#x}-{vma.vm_end:#x}")
    return vma


def _brk_prev(mm: MmStruct, oldbrk: int) -> VmAreaStruct | None:
    """``vma_prev_limit(&vmi, mm->start_brk)`` from ``oldbrk``: the last VMA below the
    old break, if it reaches above ``start_brk``."""
    prev = mm.mt.prev(oldbrk)
    if prev is None or prev.vm_end <= mm.start_brk:
        return None
    return prev


def sys_brk(mm: MmStruct, brk: int) -> tuple[int, bool]:
    """``SYSCALL_DEFINE1(brk)`` (mm/mmap.c, 7.0) under the mmap write lock.

    Returns ``(the break now, populate)``: the new break on success, the old one on any
    failure (``brk(2)`` reports no errno); ``populate`` when grown pages of an
    ``mlockall(MCL_FUTURE)`` mm are to be faulted in after the lock is dropped.
    Every failure leaves ``mm.cur_brk`` and the VMAs as they were.
    """
    origbrk = mm.cur_brk
    with mm.trace.enter("brk", f"{origbrk:#x} -> {brk:#x}"):
        if brk < mm.start_brk:
            mm.trace.step("brk", f"below start_brk {mm.start_brk:#x}: refused")
            return origbrk, False
        if check_data_rlimit(mm, brk):
            mm.trace.step("brk", "RLIMIT_DATA: refused")
            return origbrk, False
        newbrk, oldbrk = page_align(brk), page_align(mm.cur_brk)
        if oldbrk == newbrk:
            mm.cur_brk = brk
            return brk, False
        if brk <= mm.cur_brk:
            return _brk_shrink(mm, brk, newbrk, oldbrk), False
        err = check_brk_limits(mm, oldbrk, newbrk - oldbrk)
        if err:
            mm.trace.step("check_brk_limits", f"{errno.errorcode[-err]}: refused")
            return origbrk, False
        nxt = mm.mt.find(oldbrk)
        if nxt is not None and newbrk + PAGE_SIZE > vm_start_gap(nxt):
            mm.trace.step("brk", f"VMA #{nxt.nr} at {nxt.vm_start:#x} is in the way: refused")
            return origbrk, False
        try:
            do_brk_flags(mm, _brk_prev(mm, oldbrk), oldbrk, newbrk - oldbrk, VMFlag.NONE)
        except KernelError as exc:
            mm.trace.step("do_brk_flags", f"{exc}: refused")
            return origbrk, False
        mm.cur_brk = brk
        return brk, VMFlag.LOCKED in mm.def_flags


def _brk_shrink(mm: MmStruct, brk: int, newbrk: int, oldbrk: int) -> int:
    """The "always allow shrinking" branch: unmap ``[newbrk, oldbrk)`` as munmap does.

    Refused (the old break returned) when no VMA is left in the range, or when the
    unmap fails (a sealed VMA, an allocation).
    """
    origbrk = mm.cur_brk
    first = mm.mt.find(newbrk)
    if first is None or first.vm_start >= oldbrk:
        mm.trace.step("brk", "nothing mapped between the new and the old break: refused")
        return origbrk
    mm.cur_brk = brk
    try:
        do_vmi_munmap(mm, newbrk, oldbrk)
    except KernelError as exc:
        mm.cur_brk = origbrk
        mm.trace.step("do_vmi_align_munmap", f"{exc}: refused")
        return origbrk
    return brk
