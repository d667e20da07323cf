"""``mmap(2)``: from the system call to a VMA, for both kinds of file hook.

Models mm/mmap.c (``do_mmap()``, ``__get_unmapped_area()``, the x86
``arch_get_unmapped_area_topdown()`` of arch/x86/kernel/sys_x86_64.c and
``vm_unmapped_area()``) and mm/vma.c ``mmap_region()``/``__mmap_region()``
with ``__mmap_setup()``, ``call_mmap_prepare()``, ``__mmap_new_vma()``,
``__mmap_new_file_vma()`` and ``__mmap_complete()`` — Linux 7.0 plus the
"expand mmap_prepare functionality" v4 series.

The order is the lesson: old VMAs in the range are gathered and (already!)
closed; then ``mmap_prepare`` runs on a descriptor *before* any merge attempt;
then merge, or allocate + insert a new VMA (a legacy ``->mmap`` runs here, on
the built VMA); then completion; and only for a newly allocated mmap_prepare
VMA, the action, ``vm_ops->mapped`` and the success hook.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass
from typing import Any

from .compat import vfs_mmap, vfs_mmap_prepare
from .errors import KernelError, kerr
from .flags import (
    LEGACY_MAP_MASK,
    MAP_32BIT,
    MAP_DROPPABLE,
    MAP_FIXED,
    MAP_FIXED_NOREPLACE,
    MAP_HUGETLB,
    MAP_LOCKED,
    MAP_NONBLOCK,
    MAP_NORESERVE,
    MAP_POPULATE,
    MAP_PRIVATE,
    MAP_SHARED,
    MAP_SHARED_VALIDATE,
    MAP_SYNC,
    MAP_TYPE,
    PAGE_MASK,
    PAGE_SHIFT,
    PAGE_SIZE,
    PMD_SIZE,
    PROT_WRITE,
    RLIM_INFINITY,
    VM_LOCKED_MASK,
    VMFlag,
    calc_vm_flag_bits,
    calc_vm_prot_bits,
    map_deny_write_exec,
    page_align,
    vmflag,
)
from .fs import File, FMode, can_mmap_file, fput, get_file
from .maple_tree import vm_start_gap
from .mlock import can_do_mlock, mlock_future_ok, vma_supports_mlock
from .mm_types import (
    MmStruct,
    VmAreaDesc,
    VmAreaStruct,
    VmOperationsStruct,
    desc_legacy_flags,
    vm_area_free,
    vma_dummy_vm_ops,
)
from .mmap_action import mmap_action_complete, mmap_action_prepare
from .pgtable import Pgprot, vm_get_page_prot, vm_pgprot_modify
from .shmem import shmem_zero_setup
from .vma import (
    MunmapState,
    VmaMergeStruct,
    vma_link,
    vma_merge_new_range,
    vms_abort_munmap_vmas,
    vms_clean_up_area,
    vms_complete_munmap_vmas,
    vms_gather_munmap_vmas,
)

__all__ = ["do_mmap", "get_unmapped_area", "mmap_region", "MmapState", "may_expand_vm",
           "is_data_mapping", "data_vm", "expand_vm_refusal"]

_U64 = 1 << 64
# Flag tests of the hot path on ints (``flags._value_``): see flags.vmflag.
_MAY_RWX = (VMFlag.MAYREAD | VMFlag.MAYWRITE | VMFlag.MAYEXEC)._value_
_HUGETLB, _WRITE, _LOCKED, _SOFTDIRTY = (VMFlag.HUGETLB._value_, VMFlag.WRITE._value_,
                                         VMFlag.LOCKED._value_, VMFlag.SOFTDIRTY._value_)
_ACCOUNT = VMFlag.ACCOUNT._value_
_CHARGE_BITS = (VMFlag.NORESERVE | VMFlag.SHARED | VMFlag.WRITE)._value_
_DATA_TEST = (VMFlag.WRITE | VMFlag.SHARED | VMFlag.GROWSDOWN)._value_
#: The kernel's pr_warn_once() when RLIMIT_DATA refuses starts "<comm> (<pid>): VmData";
#: the model has no task, so its warning starts with "VmData".
_VMDATA_WARNING = "VmData"


# -- address selection -----------------------------------------------------------

def vm_unmapped_area_topdown(mm: MmStruct, length: int, low: int, high: int) -> int:
    """``unmapped_area_topdown()``: the top of the highest gap in ``[low, high)`` that fits."""
    addr = mm.mt.gap_topdown(length, low, high)
    if addr is None:
        raise kerr(errno.ENOMEM, f"no free range of {length:#x} bytes below {high:#x}")
    return addr


def vm_unmapped_area_bottomup(mm: MmStruct, length: int, low: int, high: int) -> int:
    """``unmapped_area()``: the lowest gap in ``[low, high)`` that fits (fallback)."""
    addr = low
    for vma in mm.mt.range(low, high):
        if addr + length <= vm_start_gap(vma):
            return addr
        addr = max(addr, vma.vm_end)
    if addr + length <= high:
        return addr
    raise kerr(errno.ENOMEM, f"no free range of {length:#x} bytes")


def _topdown_or_bottomup(mm: MmStruct, length: int) -> int:
    """``arch_get_unmapped_area_topdown()``, falling back to a bottom-up search."""
    try:
        return vm_unmapped_area_topdown(mm, length, max(PAGE_SIZE, mm.mmap_min_addr),
                                        mm.mmap_base)
    except KernelError:
        return vm_unmapped_area_bottomup(mm, length, mm.task_unmapped_base, mm.task_size)


def _get_unmapped_area_32bit(mm: MmStruct, addr: int, length: int) -> int:
    """x86 ``arch_get_unmapped_area()`` for MAP_32BIT: bottom-up in [1 GiB, 2 GiB).

    (Linux randomises the start by up to 32 MiB; the model does not randomise.)
    """
    begin, end = 0x40000000, 0x80000000
    if length > end:
        raise kerr(errno.ENOMEM, "MAP_32BIT mapping larger than the 2 GiB window")
    if addr:
        addr = page_align(addr)
        vma = mm.mt.find(addr)
        if end - length >= addr and (vma is None or addr + length <= vm_start_gap(vma)):
            return addr
    return vm_unmapped_area_bottomup(mm, length, begin, end)


def _thp_get_unmapped_area(mm: MmStruct, length: int) -> int:
    """``__thp_get_unmapped_area()``: search with 2 MiB of padding, then align."""
    try:
        ret = _topdown_or_bottomup(mm, length + PMD_SIZE)
    except KernelError:
        return -1
    off_sub = (0 - ret) & (PMD_SIZE - 1)
    return ret + PMD_SIZE if not off_sub else ret + off_sub


def get_unmapped_area(mm: MmStruct, file: File | None, addr: int, length: int, pgoff: int,
                      flags: int) -> int:
    """``__get_unmapped_area()`` with x86-64's top-down allocator.

    MAP_FIXED returns ``addr`` after range/alignment checks; a free hint is used
    as is; otherwise the highest free gap below ``mmap_base`` (THP-aligned for
    anonymous lengths that are multiples of 2 MiB, as Linux does).
    """
    task_size = mm.task_size
    if length > task_size:
        raise kerr(errno.ENOMEM, f"length {length:#x} exceeds the address space")
    get_area = file.f_op.get_unmapped_area if file is not None else None
    if get_area is not None:
        assert file is not None
        result = get_area(mm, file, addr, length, pgoff, flags)
    elif flags & MAP_FIXED:
        result = addr
    elif flags & MAP_32BIT:
        result = _get_unmapped_area_32bit(mm, addr, length)
    else:
        result = -1
        if addr:
            addr &= PAGE_MASK
            if task_size - length >= addr:
                vma = mm.mt.find(addr)
                if vma is None or addr + length <= vm_start_gap(vma):
                    result = addr
        if result < 0 and file is None and not addr and not flags & MAP_SHARED and (
                length % PMD_SIZE == 0):
            result = _thp_get_unmapped_area(mm, length)
        if result < 0:
            result = _topdown_or_bottomup(mm, length)
    if result > task_size - length:
        raise kerr(errno.ENOMEM, f"{result:#x}+{length:#x} is beyond the user address space")
    if result & ~PAGE_MASK:
        raise kerr(errno.EINVAL, f"MAP_FIXED address {result:#x} is not page aligned")
    if result < mm.mmap_min_addr and not mm.cap_sys_rawio:
        raise kerr(errno.EPERM, f"address {result:#x} is below vm.mmap_min_addr "
                   f"({mm.mmap_min_addr:#x})")
    return result


# -- do_mmap -------------------------------------------------------------------------

def do_mmap(mm: MmStruct, file: File | None, addr: int, length: int, prot: int, flags: int,
            pgoff: int) -> tuple[int, bool]:
    """``do_mmap()``: validate, pick an address, compute vm_flags, call ``mmap_region``.

    Returns ``(address, populate)``.  Error order follows the kernel's, including the
    mlock checks before the file checks (``can_do_mlock()`` for MAP_LOCKED: EPERM;
    ``mlock_future_ok()`` for a VM_LOCKED mapping over RLIMIT_MEMLOCK: EAGAIN).  Not
    modelled: READ_IMPLIES_EXEC, the swapfile ETXTBSY and ``memfd_check_seals_mmap()``.
    """
    if not length:
        raise kerr(errno.EINVAL, "length is zero")
    if flags & MAP_FIXED_NOREPLACE:
        flags |= MAP_FIXED
    if not flags & MAP_FIXED:
        addr &= PAGE_MASK
        if addr and addr < mm.mmap_min_addr:
            addr = page_align(mm.mmap_min_addr)
    length = page_align(length)
    if not length or length >= _U64:
        raise kerr(errno.ENOMEM, "length overflows when rounded up to a page")
    if pgoff + (length >> PAGE_SHIFT) >= _U64:
        raise kerr(errno.EOVERFLOW, "offset + length overflows")
    if mm.map_count > mm.max_map_count:
        raise kerr(errno.ENOMEM, f"too many mappings ({mm.map_count})")

    vm_flags = vmflag(calc_vm_prot_bits(prot)._value_ | calc_vm_flag_bits(flags)._value_
                      | mm.def_flags._value_ | _MAY_RWX)
    addr = get_unmapped_area(mm, file, addr, length, pgoff, flags)
    if flags & MAP_FIXED_NOREPLACE and mm.mt.range(addr, addr + length):
        raise kerr(errno.EEXIST, f"MAP_FIXED_NOREPLACE: {addr:#x}-{addr + length:#x} is "
                   "already mapped")
    if flags & MAP_LOCKED and not can_do_mlock(mm):
        raise kerr(errno.EPERM, "MAP_LOCKED with RLIMIT_MEMLOCK 0 and no CAP_IPC_LOCK")
    # VM_LOCKED comes from MAP_LOCKED or from mm->def_flags (mlockall(MCL_FUTURE)).
    if not mlock_future_ok(mm, vm_flags, length):
        raise kerr(errno.EAGAIN, f"a locked mapping of {length:#x} bytes would exceed "
                   f"RLIMIT_MEMLOCK ({mm.rlimit_memlock:#x} bytes)")

    map_type = flags & MAP_TYPE
    if file is not None:
        inode = file.f_inode
        if not _file_mmap_ok(pgoff, length):
            raise kerr(errno.EOVERFLOW, "offset + length beyond the maximum file size")
        if map_type in (MAP_SHARED, MAP_SHARED_VALIDATE):
            flags_mask = LEGACY_MAP_MASK | (MAP_SYNC if file.f_op.mmap_sync else 0)
            if map_type == MAP_SHARED:
                flags &= LEGACY_MAP_MASK
            if flags & ~flags_mask:
                raise kerr(errno.EOPNOTSUPP, f"MAP_SHARED_VALIDATE with unknown flags "
                           f"{flags & ~flags_mask:#x}")
            if prot & PROT_WRITE and FMode.WRITE not in file.f_mode:
                raise kerr(errno.EACCES, "PROT_WRITE shared mapping of a file not open for "
                           "writing")
            if inode.append_only and FMode.WRITE in file.f_mode:
                raise kerr(errno.EACCES, "shared mapping of an append-only file")
            vm_flags |= VMFlag.SHARED | VMFlag.MAYSHARE
            if FMode.WRITE not in file.f_mode:
                vm_flags &= ~(VMFlag.MAYWRITE | VMFlag.SHARED)
        elif map_type != MAP_PRIVATE:
            raise kerr(errno.EINVAL, f"bad mapping type {map_type:#x}")
        if FMode.READ not in file.f_mode:
            raise kerr(errno.EACCES, "file not open for reading")
        if file.noexec:
            if VMFlag.EXEC in vm_flags:
                raise kerr(errno.EPERM, "PROT_EXEC mapping of a file on a noexec mount")
            vm_flags &= ~VMFlag.MAYEXEC
        if not can_mmap_file(file):
            both = file.f_op.mmap is not None
            if both:
                mm.warn(f"{file.f_op.name} has both mmap and mmap_prepare")
            raise kerr(errno.ENODEV, f"{file.f_op.name} " + (
                "has both mmap and mmap_prepare" if both else "cannot be mmapped"))
        if vm_flags & VMFlag.GROWSDOWN:
            raise kerr(errno.EINVAL, "MAP_GROWSDOWN on a file mapping")
    else:
        if map_type == MAP_SHARED:
            if vm_flags & VMFlag.GROWSDOWN:
                raise kerr(errno.EINVAL, "MAP_GROWSDOWN on a shared mapping")
            pgoff = 0
            vm_flags |= VMFlag.SHARED | VMFlag.MAYSHARE
        elif map_type in (MAP_PRIVATE, MAP_DROPPABLE):
            if map_type == MAP_DROPPABLE:
                if flags & (MAP_LOCKED | MAP_HUGETLB) or vm_flags & VMFlag.GROWSDOWN:
                    raise kerr(errno.EINVAL, "MAP_DROPPABLE with MAP_LOCKED/HUGETLB/GROWSDOWN")
                vm_flags |= (VMFlag.DROPPABLE | VMFlag.NORESERVE | VMFlag.WIPEONFORK
                             | VMFlag.DONTDUMP)
            pgoff = addr >> PAGE_SHIFT
        else:
            raise kerr(errno.EINVAL, f"bad mapping type {map_type:#x} for anonymous memory")

    if flags & MAP_NORESERVE:
        vm_flags |= VMFlag.NORESERVE  # overcommit mode is not OVERCOMMIT_NEVER
    addr = mmap_region(mm, file, addr, length, vm_flags, pgoff)
    populate = bool(vm_flags & VMFlag.LOCKED) or (
        flags & (MAP_POPULATE | MAP_NONBLOCK)) == MAP_POPULATE
    return addr, populate


def _file_mmap_ok(pgoff: int, length: int) -> bool:
    """``file_mmap_ok()`` for regular files (``MAX_LFS_FILESIZE``)."""
    maxsize = (1 << 63) - 1
    if length > maxsize:
        return False
    maxsize -= length
    return pgoff <= maxsize >> PAGE_SHIFT


# -- mmap_region ---------------------------------------------------------------------

@dataclass(slots=True)
class MmapState:
    """``struct mmap_state``: the proposed mapping as it evolves."""

    addr: int
    end: int
    pgoff: int
    flags: VMFlag
    file: File | None
    page_prot: Pgprot | None = None
    vm_ops: VmOperationsStruct | None = None
    vm_private_data: Any = None
    charged: int = 0
    prev: VmAreaStruct | None = None
    next: VmAreaStruct | None = None
    file_doesnt_need_get: bool = False


def mmap_region(mm: MmStruct, file: File | None, addr: int, length: int, vm_flags: VMFlag,
                pgoff: int) -> int:
    """``mmap_region()``: MDWE, then the writable-mapping count around ``__mmap_region()``.

    Not modelled, and why: ``arch_validate_flags()`` (always true on x86, only arm64 MTE
    and sparc ADI refuse flags); the EPERM of ``mapping_map_writable()`` for a memfd
    sealed against writes (the model has no memfd seals); and the KSM flag update
    (``ksm_vma_flags()``: VM_MERGEABLE only under prctl(PR_SET_MEMORY_MERGE), which the
    model has no KSM for).
    """
    if map_deny_write_exec(mm.mdwe, vm_flags, vm_flags):
        raise kerr(errno.EACCES, "MDWE: a writable and executable mapping is refused")
    writable = file is not None and (vm_flags & (VMFlag.SHARED | VMFlag.MAYWRITE)) == (
        VMFlag.SHARED | VMFlag.MAYWRITE)
    if writable:
        assert file is not None
        file.f_mapping.i_mmap_writable += 1
    try:
        return __mmap_region(mm, file, addr, length, vm_flags, pgoff)
    finally:
        if writable:
            assert file is not None
            file.f_mapping.i_mmap_writable -= 1


def is_data_mapping(flags: VMFlag) -> bool:
    """``is_data_mapping()`` (mm/internal.h): private, writable, not a stack (VM_GROWSDOWN
    is x86's VM_STACK).  These pages are ``mm->data_vm``, which RLIMIT_DATA bounds."""
    return flags._value_ & _DATA_TEST == _WRITE


def data_vm(mm: MmStruct, replaced: MunmapState | None = None) -> int:
    """``mm->data_vm``: pages of the mm's data mappings.

    The kernel keeps a counter (``vm_stat_account()`` at every map, unmap, resize and
    mprotect); the model counts the VMAs, which gives the same number because every
    change of VM_WRITE/VM_SHARED/VM_GROWSDOWN goes through one of those.  Counted only
    when RLIMIT_DATA is finite, so the hot path never pays for it.  ``replaced``: the
    VMAs an mmap in progress gathered, which the model took out of the tree but the
    kernel's counter still holds.
    """
    vmas = list(mm.mt) + (replaced.detached if replaced is not None else [])
    return sum((v.vm_end - v.vm_start) >> PAGE_SHIFT for v in vmas
               if is_data_mapping(v.vm_flags))


def may_expand_vm(mm: MmStruct, flags: VMFlag, npages: int,
                  replaced: MunmapState | None = None) -> bool:
    """``may_expand_vm()`` (mm/mmap.c, 7.0): may ``npages`` more fit in RLIMIT_AS and,
    for a data mapping (``is_data_mapping()``), in RLIMIT_DATA?

    Called by mmap (``__mmap_setup()``, ``replaced`` = its gathered VMAs), brk
    (``do_brk_flags()``) and mremap.  Over RLIMIT_DATA the kernel prints (once per boot;
    the model: once per mm, in ``mm.warnings``) "VmData ... exceed data ulimit ..." and
    refuses, unless booted with ``ignore_rlimit_data`` (the config field of that
    name), which only prints.  A zero RLIMIT_DATA is let through up to
    the hard limit (the kernel's "workaround for Valgrind"); the model has no hard limit
    (RLIM_INFINITY, the usual one), so a zero soft limit never refuses here.
    """
    limit = mm.rlimit_as
    if limit != RLIM_INFINITY and mm.total_vm + npages > limit >> PAGE_SHIFT:
        return False
    limit = mm.rlimit_data
    if limit == RLIM_INFINITY or limit == 0 or not is_data_mapping(flags):
        return True
    # The kernel's npages for an mmap is net of the replaced pages (pglen - nr_pages),
    # while its data_vm still holds the replaced data pages.
    data = data_vm(mm, replaced)
    if replaced is not None:
        npages -= replaced.nr_pages
    if data + npages <= limit >> PAGE_SHIFT:
        return True
    ignore = mm.config.ignore_rlimit_data
    if not any(w.startswith(_VMDATA_WARNING) for w in mm.warnings):
        hint = "" if ignore else " or use boot option ignore_rlimit_data"
        mm.warn(f"{_VMDATA_WARNING} {(data + npages) << PAGE_SHIFT} exceed data ulimit "
                f"{limit}. Update limits{hint}.")
    return ignore


def expand_vm_refusal(mm: MmStruct, npages: int) -> str:
    """Which limit a refused ``may_expand_vm()`` hit, for the error message."""
    if mm.rlimit_as != RLIM_INFINITY and mm.total_vm + npages > mm.rlimit_as >> PAGE_SHIFT:
        return f"RLIMIT_AS ({mm.rlimit_as:#x} bytes)"
    return f"RLIMIT_DATA ({mm.rlimit_data:#x} bytes)"


def _accountable_mapping(flags: VMFlag) -> bool:
    """``accountable_mapping()``: private writable without NORESERVE is charged
    (hugetlb has its own reservations)."""
    value = flags._value_
    if value & _HUGETLB:
        return False
    return (value & _CHARGE_BITS) == _WRITE


def __mmap_setup(mm: MmStruct, m: MmapState) -> MunmapState:
    """``__mmap_setup()``: gather old VMAs, check limits, account, clean up old VMAs."""
    vms = vms_gather_munmap_vmas(mm, m.addr, m.end)
    m.prev, m.next = vms.prev, vms.next
    try:
        pglen = (m.end - m.addr) >> PAGE_SHIFT
        # may_expand_vm() on pglen - vms->nr_pages: the model's gather already took the
        # replaced pages out of total_vm (the data half is told which they were).
        if not may_expand_vm(mm, m.flags, pglen, vms):
            raise kerr(errno.ENOMEM, f"mapping {pglen} pages would exceed "
                       + expand_vm_refusal(mm, pglen))
        if _accountable_mapping(m.flags):
            charged = pglen - vms.nr_accounted
            if mm.should_fail("vm_enough_memory"):
                raise kerr(errno.ENOMEM, "not enough memory to commit to this mapping")
            m.charged = charged
            mm.committed_pages += charged
            vms.nr_accounted = 0  # the old pages' charge now belongs to the new mapping
            m.flags = vmflag(m.flags._value_ | _ACCOUNT)
    except KernelError:
        vms_abort_munmap_vmas(mm, vms)
        raise
    vms_clean_up_area(mm, vms)
    return vms


def call_mmap_prepare(mm: MmStruct, m: MmapState) -> VmAreaDesc:
    """``call_mmap_prepare()``: hook on a descriptor, action prepare, copy back fields."""
    assert m.file is not None
    desc = VmAreaDesc(mm, m.file, m.addr, m.end, m.pgoff, m.file, m.flags,
                      vm_get_page_prot(m.flags))
    err = vfs_mmap_prepare(m.file, desc)
    if not err:
        err = mmap_action_prepare(desc)
    if err:
        raise kerr(-err, f"{desc.hook} failed")
    m.pgoff = desc.pgoff
    if desc.vm_file is not m.file:
        m.file_doesnt_need_get = True
        m.file = desc.vm_file
    m.flags = desc_legacy_flags(desc)
    m.page_prot = desc.page_prot
    m.vm_ops = desc.vm_ops
    m.vm_private_data = desc.private_data
    return desc


def __mmap_new_file_vma(mm: MmStruct, m: MmapState, vma: VmAreaStruct) -> None:
    """``__mmap_new_file_vma()``: for a legacy hook, call ``->mmap`` on the built VMA."""
    assert m.file is not None
    vma.vm_file = m.file if m.file_doesnt_need_get else get_file(m.file)
    if m.file.f_op.mmap is None:
        return
    err = vfs_mmap(vma.vm_file, vma)
    if err:
        with mm.trace.enter("unmap_region", "undo any partial mapping by the driver"):
            vma.vm_ops = vma_dummy_vm_ops
            mm.pagetable.zap(vma.vm_start, vma.vm_end)
        fput(vma.vm_file)
        vma.vm_file = None
        raise kerr(-err, f"{m.file.f_op.name}->mmap failed")
    if vma.vm_start != m.addr:
        mm.warn(f"{m.file.f_op.name}->mmap changed vm_start; drivers cannot move a VMA")
    if not (m.flags & VMFlag.MAYWRITE) and vma.vm_flags & VMFlag.MAYWRITE:
        mm.warn(f"{m.file.f_op.name}->mmap made a read-only mapping writable")
    m.file = vma.vm_file
    m.flags = vma.vm_flags


def __mmap_new_vma(mm: MmStruct, m: MmapState, desc: VmAreaDesc | None) -> VmAreaStruct:
    """``__mmap_new_vma()``: allocate, set up (hook/shmem/anon), insert, link to rmap."""
    with mm.trace.enter("__mmap_new_vma"):
        if mm.should_fail("vm_area_alloc"):
            raise kerr(errno.ENOMEM, "vm_area_alloc: out of memory")
        page_prot = m.page_prot if m.page_prot is not None else vm_get_page_prot(m.flags)
        vma = VmAreaStruct(mm, m.addr, m.end, m.pgoff, m.flags, page_prot)
        if mm.should_fail("vma_iter_prealloc"):
            vm_area_free(vma, "__mmap_new_vma")
            raise kerr(errno.ENOMEM, "vma_iter_prealloc: out of memory")
        try:
            if m.file is not None:
                __mmap_new_file_vma(mm, m, vma)
            elif m.flags & VMFlag.SHARED:
                shmem_zero_setup(mm, vma)
        except KernelError:
            vm_area_free(vma, "__mmap_new_vma")
            raise
        hold = desc is not None and desc.action.hide_from_rmap_until_complete
        vma_link(mm, vma, hold_rmap_lock=hold)
        if mm.trace.enabled:
            mm.trace.step("vma_link", f"VMA #{vma.nr} {vma.vm_start:#x}-{vma.vm_end:#x}"
                          + (" (rmap lock held)" if hold else ""))
    return vma


def __mmap_complete(mm: MmStruct, m: MmapState, vma: VmAreaStruct, vms: MunmapState) -> None:
    """``__mmap_complete()``: free the replaced VMAs, stats, mlock, soft-dirty, page prot."""
    with mm.trace.enter("__mmap_complete"):
        vms_complete_munmap_vmas(mm, vms)
        if vma.vm_flags._value_ & _LOCKED:
            if not vma_supports_mlock(vma):  # VM_SPECIAL, droppable, hugetlb
                vma.vm_flags &= ~VM_LOCKED_MASK
            else:
                mm.locked_vm += (m.end - m.addr) >> PAGE_SHIFT
        vma.vm_flags = flags = vmflag(vma.vm_flags._value_ | _SOFTDIRTY)
        # vma_set_page_prot(): the caching bits a driver put in the page protection stay.
        vma.vm_page_prot = vm_pgprot_modify(vma.vm_page_prot, flags)


def _swapped_file_merged(mm: MmStruct, m: MmapState) -> None:
    """The range merged, and ``mmap_prepare`` had swapped in a file whose reference the
    mapping owns: the neighbour holds its own, so this one is unused.  7.0 never drops it
    (see ``KernelConfig.leak_swapped_file_on_merge``)."""
    assert m.file is not None
    if mm.config.leak_swapped_file_on_merge:
        mm.trace.step("vma_merge_new_range", f"merged: the reference {m.file.name} got "
                      "from mmap_prepare is never dropped (leaks, as in 7.0)")
        return
    fput(m.file)


def __mmap_region(mm: MmStruct, file: File | None, addr: int, length: int, vm_flags: VMFlag,
                  pgoff: int) -> int:
    """``__mmap_region()``: see the module docstring for the order of steps."""
    have_prepare = file is not None and file.f_op.mmap_prepare is not None
    m = MmapState(addr, addr + length, pgoff, vm_flags, file)
    with mm.trace.enter("__mmap_region", f"{addr:#x}-{addr + length:#x}"
                        if mm.trace.enabled else ""):
        vms = __mmap_setup(mm, m)
        outer, mm.vms_in_flight = mm.vms_in_flight, vms
        try:
            return _mmap_region_rest(mm, m, vms, have_prepare)
        finally:
            mm.vms_in_flight = outer


def _mmap_region_rest(mm: MmStruct, m: MmapState, vms: MunmapState, have_prepare: bool
                      ) -> int:
    """The rest of ``__mmap_region()`` after ``__mmap_setup()``."""
    desc = None
    try:
        if have_prepare:
            with mm.trace.enter("call_mmap_prepare"):
                desc = call_mmap_prepare(mm, m)
        vma = None
        # D1: __mmap_region() never reads the merge state: a merge whose tree
        # preallocation failed is "no merge", and a new VMA is built instead.
        if m.prev is not None or m.next is not None:
            with mm.trace.enter("vma_merge_new_range"):
                vma = vma_merge_new_range(mm, VmaMergeStruct(
                    m.prev, m.next, m.addr, m.end, m.pgoff, m.flags, m.file))
        allocated_new = vma is None
        if vma is None:
            vma = __mmap_new_vma(mm, m, desc)
        elif m.file_doesnt_need_get:
            _swapped_file_merged(mm, m)
    except KernelError:
        # D2: a failed mmap_prepare jumps past the unaccount step in the kernel (the
        # charge is kept, probably a kernel bug); see KernelConfig.keep_charge_on_...
        if not (have_prepare and desc is None and mm.config.keep_charge_on_prepare_error):
            mm.committed_pages -= m.charged
        if m.file_doesnt_need_get:
            # D3: mmap_prepare swapped in a file whose reference the mapping owned;
            # no VMA took it, so the abort path drops it (label abort_munmap).
            assert m.file is not None
            fput(m.file)
        vms_abort_munmap_vmas(mm, vms)
        raise
    if have_prepare:
        # set_vma_user_defined_fields(): also applied to a merged VMA.
        if m.vm_ops is not None:
            vma.vm_ops = m.vm_ops
        vma.vm_private_data = m.vm_private_data
    __mmap_complete(mm, m, vma, vms)
    if have_prepare and allocated_new and desc is not None:
        err = mmap_action_complete(mm, vma, desc.action)
        if err:
            raise kerr(-err, "the mmap action or vm_ops->mapped failed; the new mapping "
                       "was unmapped")
    return m.addr

