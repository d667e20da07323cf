"""``mremap(2)``.

Models mm/mremap.c of Linux 7.0 (the ``vma_remap_struct`` rewrite of 6.16 and the
multi-VMA moves of 6.17): ``do_mremap()`` checks the arguments
(``check_mremap_params()``), then either moves every VMA of the source range as
it is (``remap_move()``: MREMAP_FIXED with equal lengths; gaps between the VMAs
are kept), or resizes one VMA: shrink in place (``shrink_vma()``), grow in place
when the range ends at the VMA's end and the space after it is free
(``vma_merge_extend()``), or move (``move_vma()``: ``copy_vma()`` with its merge
and pgoff rules, ``vm_ops->open`` on a new copy, page tables moved,
``vm_ops->mremap``, then the source unmapped, or with MREMAP_DONTUNMAP left in
place, empty and no longer locked).

The refusals follow ``check_prep_vma()``: a sealed VMA (EPERM); MREMAP_DONTUNMAP
of VM_DONTEXPAND/VM_PFNMAP (EINVAL); growing a VM_DONTEXPAND/VM_PFNMAP VMA
(EFAULT); a range crossing the VMA's end (EFAULT); growing beyond RLIMIT_MEMLOCK
for a locked VMA (EAGAIN).  ``vm_ops->may_split`` is asked before a move that
would split the source.  Overcommit is charged for the growth of a VM_ACCOUNT
VMA (the whole length with MREMAP_DONTUNMAP).
"""

from __future__ import annotations

import errno
from dataclasses import dataclass

from .errors import kerr
from .flags import (
    MAP_FIXED,
    MAP_SHARED,
    MREMAP_DONTUNMAP,
    MREMAP_FIXED,
    MREMAP_MAYMOVE,
    PAGE_SHIFT,
    TASK_SIZE,
    VM_LOCKED_MASK,
    VMFlag,
    offset_in_page,
    page_align,
)
from .hooks import call_hook
from .mlock import mlock_future_ok
from .mm_types import MmStruct, VmAreaStruct
from .mmap import expand_vm_refusal, get_unmapped_area, may_expand_vm
from .pgtable import PAGE_CHG_PROT_BITS, Pgprot
from .vma import copy_vma, do_vmi_munmap, vma_merge_extend

__all__ = ["do_mremap", "VmaRemapStruct", "move_page_tables"]

_ULONG = 1 << 64


@dataclass(slots=True)
class VmaRemapStruct:
    """``struct vma_remap_struct``: the request and what the steps found out."""

    addr: int
    old_len: int
    new_len: int
    flags: int
    new_addr: int
    vma: VmAreaStruct | None = None
    delta: int = 0
    populate_expand: bool = False
    charged: int = 0

    @property
    def implies_new_addr(self) -> bool:
        """``vrm_implies_new_addr()``: MREMAP_FIXED or MREMAP_DONTUNMAP."""
        return bool(self.flags & (MREMAP_FIXED | MREMAP_DONTUNMAP))

    @property
    def remap_type(self) -> str:
        """``vrm_remap_type()``: no-resize, shrink or expand."""
        if self.old_len == self.new_len:
            return "no_resize"
        return "shrink" if self.old_len > self.new_len else "expand"


def check_mremap_params(mm: MmStruct, vrm: VmaRemapStruct) -> None:
    """``check_mremap_params()``: flags, alignment, lengths, overlap, map count."""
    if vrm.flags & ~(MREMAP_FIXED | MREMAP_MAYMOVE | MREMAP_DONTUNMAP):
        raise kerr(errno.EINVAL, f"unknown mremap flags {vrm.flags:#x}")
    if offset_in_page(vrm.addr):
        raise kerr(errno.EINVAL, f"old_address {vrm.addr:#x} is not page aligned")
    if not vrm.new_len:
        raise kerr(errno.EINVAL, "new_size is zero")
    if vrm.new_len > TASK_SIZE or vrm.new_addr > TASK_SIZE - vrm.new_len:
        raise kerr(errno.EINVAL, "new_size or new_address beyond the address space")
    if not vrm.implies_new_addr:
        return
    if offset_in_page(vrm.new_addr):
        raise kerr(errno.EINVAL, f"new_address {vrm.new_addr:#x} is not page aligned")
    if not vrm.flags & MREMAP_MAYMOVE:
        raise kerr(errno.EINVAL, "MREMAP_FIXED/MREMAP_DONTUNMAP without MREMAP_MAYMOVE")
    if vrm.flags & MREMAP_DONTUNMAP and vrm.old_len != vrm.new_len:
        raise kerr(errno.EINVAL, "MREMAP_DONTUNMAP cannot resize")
    if vrm.addr + vrm.old_len > vrm.new_addr and vrm.new_addr + vrm.new_len > vrm.addr:
        raise kerr(errno.EINVAL, "the new range overlaps the old one")
    if mm.map_count + 2 >= mm.max_map_count - 3:
        raise kerr(errno.ENOMEM, "too close to the map count limit to move")


def check_prep_vma(mm: MmStruct, vrm: VmaRemapStruct) -> None:
    """``check_prep_vma()``: may this VMA be moved or resized as asked?"""
    vma = vrm.vma
    if vma is None:
        raise kerr(errno.EFAULT, f"{vrm.addr:#x} is not mapped")
    if VMFlag.SEALED in vma.vm_flags:
        raise kerr(errno.EPERM, "the mapping is sealed")
    if VMFlag.HUGETLB in vma.vm_flags:
        raise kerr(errno.EINVAL, "mremap of hugetlb memory is not modelled")
    vrm.delta = abs(vrm.old_len - vrm.new_len)
    if not vrm.implies_new_addr:
        vrm.new_addr = vrm.addr
    if vrm.remap_type != "expand" and not vrm.implies_new_addr:
        return  # shrink in place, or nothing to do
    old_len, new_len, addr = vrm.old_len, vrm.new_len, vrm.addr
    if not old_len and not vma.vm_flags & (VMFlag.SHARED | VMFlag.MAYSHARE):
        raise kerr(errno.EINVAL, "old_size 0 duplicates only shared mappings")
    if vrm.flags & MREMAP_DONTUNMAP and vma.vm_flags & (VMFlag.DONTEXPAND | VMFlag.PFNMAP):
        raise kerr(errno.EINVAL, "MREMAP_DONTUNMAP of a VM_DONTEXPAND or VM_PFNMAP mapping")
    if vrm.remap_type == "shrink":
        old_len = new_len  # the part cut off may cross VMA boundaries
    if old_len > vma.vm_end - addr:
        raise kerr(errno.EFAULT, f"{addr:#x}+{old_len:#x} crosses the end of its mapping")
    if new_len <= old_len:
        return
    if VMFlag.LOCKED in vma.vm_flags:
        vrm.populate_expand = True
    pgoff = vma.vm_pgoff + ((addr - vma.vm_start) >> PAGE_SHIFT)
    if pgoff + (new_len >> PAGE_SHIFT) >= _ULONG:
        raise kerr(errno.EINVAL, "the file offset would overflow")
    if vma.vm_flags & (VMFlag.DONTEXPAND | VMFlag.PFNMAP):
        raise kerr(errno.EFAULT, "a VM_DONTEXPAND or VM_PFNMAP mapping cannot grow")
    if not mlock_future_ok(mm, vma.vm_flags, vrm.delta):
        raise kerr(errno.EAGAIN, "growing a locked mapping beyond RLIMIT_MEMLOCK")
    if not may_expand_vm(mm, vma.vm_flags, vrm.delta >> PAGE_SHIFT):
        raise kerr(errno.ENOMEM, "growing the mapping would exceed "
                   + expand_vm_refusal(mm, vrm.delta >> PAGE_SHIFT))


def vrm_calc_charge(mm: MmStruct, vrm: VmaRemapStruct) -> None:
    """``vrm_calc_charge()``: commit charge for a VM_ACCOUNT VMA that grows or is copied."""
    assert vrm.vma is not None
    if VMFlag.ACCOUNT not in vrm.vma.vm_flags:
        return
    if vrm.flags & MREMAP_DONTUNMAP:
        charged = vrm.new_len >> PAGE_SHIFT
    elif vrm.new_len > vrm.old_len:
        charged = vrm.delta >> PAGE_SHIFT
    else:
        return
    if mm.should_fail("vm_enough_memory"):
        raise kerr(errno.ENOMEM, "not enough memory to commit to the larger mapping")
    mm.committed_pages += charged
    vrm.charged = charged


def _uncharge(mm: MmStruct, vrm: VmaRemapStruct) -> None:
    mm.committed_pages -= vrm.charged
    vrm.charged = 0


def _stat_account(mm: MmStruct, vrm: VmaRemapStruct, nbytes: int) -> None:
    """``vrm_stat_account()``: locked_vm grows with a locked VMA (total_vm is kept by links)."""
    assert vrm.vma is not None
    if VMFlag.LOCKED in vrm.vma.vm_flags:
        mm.locked_vm += nbytes >> PAGE_SHIFT


def shrink_vma(mm: MmStruct, vrm: VmaRemapStruct) -> None:
    """``shrink_vma()``: unmap the tail ``[addr + new_len, addr + old_len)``."""
    start = vrm.addr + vrm.new_len
    do_vmi_munmap(mm, start, start + vrm.delta)
    vrm.vma = mm.mt.lookup(vrm.addr)


def move_page_tables(mm: MmStruct, old: int, new: int, length: int, new_vma: VmAreaStruct
                     ) -> int:
    """``move_page_tables()``: move the PTEs of ``[old, old+length)`` to ``new``.

    Returns the number of bytes moved (less than ``length`` when a page table
    cannot be allocated: fault-injection point ``move_page_tables``).
    """
    if mm.should_fail("move_page_tables"):
        return 0
    base = new_vma.vm_page_prot
    for addr, pte in mm.pagetable.entries(old, old + length).items():
        mm.pagetable.clear(addr)
        if not pte.special:
            # Same flags, same page protection; keep the PTE's write bit (COW state) and
            # what pte_modify() would keep (caching, encryption: move_ptes() moves the PTE).
            pte.prot = (base & ~Pgprot.RW) | (pte.prot & (Pgprot.RW | PAGE_CHG_PROT_BITS))
        mm.pagetable.set(new + (addr - old), pte)
    return length


def _unmap_source_vma(mm: MmStruct, vrm: VmaRemapStruct) -> None:
    """``unmap_source_vma()``: unmap the old range without giving back its charge.

    VM_ACCOUNT is cleared on the source for the unmap (the copy carries the
    charge) and set again on what is left of it on either side.
    """
    vma = vrm.vma
    assert vma is not None
    addr, length = vrm.addr, vrm.old_len
    accountable = VMFlag.ACCOUNT in vma.vm_flags and not vrm.flags & MREMAP_DONTUNMAP
    vm_start, vm_end = vma.vm_start, vma.vm_end
    if accountable:
        vma.vm_flags &= ~VMFlag.ACCOUNT
    try:
        do_vmi_munmap(mm, addr, addr + length)
    except OSError:
        mm.committed_pages += length >> PAGE_SHIFT  # OOM splitting: just fix the accounting
        return
    if accountable:
        if vm_start < addr:
            before = mm.mt.prev(addr)
            if before is not None:
                before.vm_flags |= VMFlag.ACCOUNT
        if vm_end > addr + length:
            after = mm.mt.find(addr + length)
            if after is not None:
                after.vm_flags |= VMFlag.ACCOUNT


def _dontunmap_complete(vrm: VmaRemapStruct, new_vma: VmAreaStruct) -> None:
    """``dontunmap_complete()``: the emptied source is no longer locked.

    It keeps VM_ACCOUNT and its charge (the copy was charged for its own length):
    "mm/mremap: correctly account old mapping after MREMAP_DONTUNMAP remap" (6.17)
    stopped clearing it; Linux 6.18 shows ``ac`` on the source, as the
    differential tests check.
    """
    vma = vrm.vma
    assert vma is not None
    vma.vm_flags &= ~VM_LOCKED_MASK
    if new_vma is not vma and vma.vm_start == vrm.addr and vma.vm_end == vrm.addr + vrm.old_len:
        vma.anon_vma = None  # unlink_anon_vmas(): its pages went with the page tables
        vma.anon_vma_chain = ()


def prep_move_vma(mm: MmStruct, vrm: VmaRemapStruct) -> None:
    """``prep_move_vma()``: room in the map count, and ``may_split`` for each cut."""
    vma = vrm.vma
    assert vma is not None
    if mm.map_count >= mm.max_map_count - 3:
        raise kerr(errno.ENOMEM, "too close to the map count limit to move")
    ops = vma.vm_ops
    if ops is not None and ops.may_split is not None:
        for cut in (vrm.addr, vrm.addr + vrm.old_len):
            if cut in (vma.vm_start, vma.vm_end):
                continue
            ret = call_hook(f"{ops.name}->may_split", ops.may_split, vma, cut)
            if ret:
                raise kerr(-ret, f"{ops.name}->may_split refused a split at {cut:#x}")


def move_vma(mm: MmStruct, vrm: VmaRemapStruct) -> int:
    """``move_vma()``: copy the VMA to ``new_addr``, move its pages, drop the source."""
    prep_move_vma(mm, vrm)
    vrm_calc_charge(mm, vrm)
    vma = vrm.vma
    assert vma is not None
    with mm.trace.enter("move_vma", f"{vrm.addr:#x} -> {vrm.new_addr:#x}"):
        new_pgoff = vma.vm_pgoff + ((vrm.addr - vma.vm_start) >> PAGE_SHIFT)
        new_vma, vma = copy_vma(mm, vma, vrm.new_addr, vrm.new_len, new_pgoff)
        vrm.vma = vma
        if new_vma is None:
            _uncharge(mm, vrm)
            raise kerr(errno.ENOMEM, "copy_vma: no memory for the new VMA")
        err = 0
        moved = move_page_tables(mm, vrm.addr, vrm.new_addr, vrm.old_len, new_vma)
        if moved < vrm.old_len:
            err = -errno.ENOMEM
        elif vma.vm_ops is not None and (mremap_hook := vma.vm_ops.mremap) is not None:
            err = call_hook(f"{vma.vm_ops.name}->mremap", mremap_hook, new_vma)
        if err:
            # Move the pages back and unmap the new VMA instead of the old one.
            move_page_tables(mm, vrm.new_addr, vrm.addr, moved, vma)
            vrm.vma, vrm.addr, vrm.old_len = new_vma, vrm.new_addr, vrm.new_len
        _stat_account(mm, vrm, vrm.new_len)
        if not err and vrm.flags & MREMAP_DONTUNMAP:
            _dontunmap_complete(vrm, new_vma)
        else:
            _unmap_source_vma(mm, vrm)
    if err:
        raise kerr(-err, "mremap: moving the page tables failed" if err == -errno.ENOMEM
                   else "vm_ops->mremap refused the move")
    return vrm.new_addr


def _set_new_addr(mm: MmStruct, vrm: VmaRemapStruct) -> None:
    """``vrm_set_new_addr()``: where the moved VMA goes (``get_unmapped_area()``)."""
    vma = vrm.vma
    assert vma is not None
    pgoff = vma.vm_pgoff + ((vrm.addr - vma.vm_start) >> PAGE_SHIFT)
    map_flags = MAP_FIXED if vrm.flags & MREMAP_FIXED else 0
    if VMFlag.MAYSHARE in vma.vm_flags:
        map_flags |= MAP_SHARED
    vrm.new_addr = get_unmapped_area(mm, vma.vm_file, vrm.new_addr, vrm.new_len, pgoff,
                                     map_flags)


def mremap_to(mm: MmStruct, vrm: VmaRemapStruct) -> int:
    """``mremap_to()``: unmap the target (MREMAP_FIXED), shrink first, then move."""
    if vrm.flags & MREMAP_FIXED:
        do_vmi_munmap(mm, vrm.new_addr, vrm.new_addr + vrm.new_len)
        vrm.vma = mm.mt.lookup(vrm.addr)
        if vrm.vma is None:
            raise kerr(errno.EFAULT, "the source went away with the target's unmap")
    if vrm.remap_type == "shrink":
        shrink_vma(mm, vrm)
        if vrm.vma is None:
            raise kerr(errno.EFAULT, "the source went away with the shrink")
        vrm.old_len = vrm.new_len
    assert vrm.vma is not None
    if vrm.flags & MREMAP_DONTUNMAP and not may_expand_vm(mm, vrm.vma.vm_flags,
                                                          vrm.old_len >> PAGE_SHIFT):
        raise kerr(errno.ENOMEM, "MREMAP_DONTUNMAP keeps the source: "
                   + expand_vm_refusal(mm, vrm.old_len >> PAGE_SHIFT) + " exceeded")
    _set_new_addr(mm, vrm)
    return move_vma(mm, vrm)


def _can_expand_in_place(mm: MmStruct, vrm: VmaRemapStruct) -> bool:
    """``vrm_can_expand_in_place()`` + ``vma_expandable()``."""
    vma = vrm.vma
    assert vma is not None
    if vma.vm_end - vrm.addr != vrm.old_len:
        return False
    end = vma.vm_end + vrm.delta
    if end >= _ULONG or mm.mt.range(vma.vm_end, end):
        return False
    try:
        get_unmapped_area(mm, None, vma.vm_start, end - vma.vm_start, 0, MAP_FIXED)
    except OSError:
        return False
    return True


def expand_vma(mm: MmStruct, vrm: VmaRemapStruct) -> int:
    """``expand_vma()``: grow in place if possible, else move (with MREMAP_MAYMOVE)."""
    if _can_expand_in_place(mm, vrm):
        vrm_calc_charge(mm, vrm)
        assert vrm.vma is not None
        merged = vma_merge_extend(mm, vrm.vma, vrm.delta)
        if merged is None:
            _uncharge(mm, vrm)
            raise kerr(errno.ENOMEM, "vma_merge_extend: the mapping cannot be extended")
        vrm.vma = merged
        _stat_account(mm, vrm, vrm.delta)
        mm.trace.step("vma_merge_extend", f"{merged.vm_start:#x}-{merged.vm_end:#x}")
        return vrm.addr
    if not vrm.flags & MREMAP_MAYMOVE:
        raise kerr(errno.ENOMEM, "cannot grow in place and MREMAP_MAYMOVE is not set")
    _set_new_addr(mm, vrm)
    return move_vma(mm, vrm)


def mremap_at(mm: MmStruct, vrm: VmaRemapStruct) -> int:
    """``mremap_at()``: resize at the same address (moving only to grow)."""
    if vrm.remap_type == "no_resize":
        return vrm.addr
    if vrm.remap_type == "shrink":
        shrink_vma(mm, vrm)
        return vrm.addr
    return expand_vma(mm, vrm)


def _multi_allowed(vma: VmAreaStruct) -> bool:
    """``vma_multi_allowed()``: no custom ``get_unmapped_area`` (uffd is not modelled)."""
    file = vma.vm_file
    if file is None or VMFlag.HUGETLB in vma.vm_flags:
        return True
    return file.f_op.get_unmapped_area is None


def remap_move(mm: MmStruct, vrm: VmaRemapStruct) -> int:
    """``remap_move()``: move every VMA of ``[addr, addr+old_len)``, keeping the gaps.

    A gap at the start is EFAULT.  A failure part way leaves the VMAs moved so far
    where they are, as in Linux.
    """
    start, end = vrm.addr, vrm.addr + vrm.old_len
    target = vrm.new_addr
    res: int | None = None
    last_end = 0
    addr = start
    # for_each_vma_range(): a DONTUNMAP source stays in place, so walk by address.
    while addr < end and (vma := mm.mt.find(addr)) is not None and vma.vm_start < end:
        if res is None and start < vma.vm_start:
            raise kerr(errno.EFAULT, f"{start:#x} is not mapped")
        offset = vma.vm_start - last_end if res is not None else 0
        last_end = vma.vm_end
        lo = max(vma.vm_start, start)
        length = min(end, vma.vm_end) - lo
        if not _multi_allowed(vma) and (res is not None or vma.vm_end < end):
            raise kerr(errno.EFAULT, "this mapping cannot be moved together with others")
        one = VmaRemapStruct(addr=lo, old_len=length, new_len=length, flags=vrm.flags,
                             new_addr=target + offset, vma=vma)
        check_prep_vma(mm, one)
        got = mremap_to(mm, one)
        if res is None:
            res = got
        target = got + length
        addr = lo + length
    if res is None:
        raise kerr(errno.EFAULT, f"{start:#x}-{end:#x} is not mapped")
    return res


def do_mremap(mm: MmStruct, addr: int, old_len: int, new_len: int, flags: int,
              new_addr: int) -> tuple[int, VmaRemapStruct]:
    """``do_mremap()`` under the mmap write lock: returns the address and the request.

    The caller populates ``[new_addr + old_len, +delta)`` afterwards when
    ``populate_expand`` is set (a locked VMA grew).
    """
    # PAGE_ALIGN() first (and wrapping, as in C): the checks see the rounded lengths.
    vrm = VmaRemapStruct(addr=addr, old_len=page_align(old_len) & (_ULONG - 1),
                         new_len=page_align(new_len) & (_ULONG - 1), flags=flags,
                         new_addr=new_addr)
    check_mremap_params(mm, vrm)
    vrm.delta = abs(vrm.old_len - vrm.new_len)
    with mm.trace.enter("do_mremap", f"{addr:#x}+{vrm.old_len:#x} -> {vrm.new_len:#x}"):
        if flags & MREMAP_FIXED and vrm.old_len == vrm.new_len:
            return remap_move(mm, vrm), vrm
        vrm.vma = mm.mt.lookup(addr)
        check_prep_vma(mm, vrm)
        if vrm.implies_new_addr:
            return mremap_to(mm, vrm), vrm
        return mremap_at(mm, vrm), vrm
