"""``mprotect(2)``.

Models mm/mprotect.c (Linux 6.18/7.0): ``do_mprotect_pkey()`` walks the VMAs of
the range, checks each against its ``VM_MAY*`` bits (EACCES), and calls
``mprotect_fixup()``, which handles VM_ACCOUNT, merges or splits via
``vma_modify_flags()`` and updates the PTEs (``change_protection()``).  Like
Linux, it is not atomic: VMAs before a hole or a refused VMA keep their change.
"""

from __future__ import annotations

import errno

from .errors import kerr
from .flags import (
    PAGE_MASK,
    PAGE_SHIFT,
    PROT_EXEC,
    PROT_GROWSDOWN,
    PROT_GROWSUP,
    PROT_READ,
    PROT_SEM,
    PROT_WRITE,
    RLIM_INFINITY,
    VM_ACCESS_FLAGS,
    VMFlag,
    calc_vm_prot_bits,
    map_deny_write_exec,
    page_align,
    vmflag,
)
from .hooks import call_hook
from .memory import populate_vma_page_range
from .mm_types import MmStruct, VmAreaStruct
from .mmap import may_expand_vm
from .pgtable import Pgprot, pgprot_modify, vm_pgprot_modify
from .vma import vma_modify_flags

__all__ = ["do_mprotect_pkey", "mprotect_fixup", "change_protection"]


def change_protection(mm: MmStruct, vma: VmAreaStruct, start: int, end: int) -> None:
    """``change_protection()``: rewrite the PTEs of ``[start, end)`` (in ``vma``) for its
    new protection.

    Only the range mprotect changed, as in the kernel: a neighbour the range merged into
    keeps its PTEs as they are.  Exclusive anonymous pages of a writable private mapping
    stay writable; other pages of a private mapping become read-only (COW on the next
    write).
    """
    ptes = mm.pagetable.entries(start, end)
    if not ptes:
        return
    base = vma.vm_page_prot
    shared_w = VMFlag.SHARED in vma.vm_flags and VMFlag.WRITE in vma.vm_flags
    for pte in ptes.values():
        # pte_modify() keeps the PTE's caching and CC bits: a PTE mapped cached under a VMA
        # made uncached later (the helper captured page_prot first) stays cached.
        prot = pgprot_modify(pte.prot, base)
        if pte.special:
            pte.prot = prot
            continue
        exclusive_anon = (pte.page is not None and pte.page.kind == "anon"
                          and pte.page.mapcount == 1 and VMFlag.WRITE in vma.vm_flags)
        writable = shared_w or (exclusive_anon and pte.writable)
        pte.prot = (prot | Pgprot.RW) if writable and Pgprot.PRESENT in prot else prot & ~Pgprot.RW


# The flag tests of the hot path below are on ints (``flags._value_``): see flags.vmflag.
_SEALED, _WRITE, _ACCOUNT = (VMFlag.SEALED._value_, VMFlag.WRITE._value_,
                             VMFlag.ACCOUNT._value_)
#: A VMA with any of these is not charged when it becomes writable.
_NOT_CHARGED = (VMFlag.ACCOUNT | VMFlag.WRITE | VMFlag.HUGETLB | VMFlag.SHARED
                | VMFlag.NORESERVE)._value_
_LOCKED_PRIVATE = (VMFlag.LOCKED | VMFlag.WRITE | VMFlag.SHARED)._value_
_ACCESS = VM_ACCESS_FLAGS._value_


def mprotect_fixup(mm: MmStruct, prev: VmAreaStruct | None, vma: VmAreaStruct, start: int, end: int,
                   newflags: VMFlag) -> VmAreaStruct:
    """``mprotect_fixup()``: apply ``newflags`` to ``[start, end)`` of ``vma``."""
    oldflags = vma.vm_flags
    old = oldflags._value_
    if old & _SEALED:
        raise kerr(errno.EPERM, "the mapping is sealed")
    if newflags == oldflags:
        return vma
    nrpages = (end - start) >> PAGE_SHIFT
    charged = 0
    if newflags._value_ & _WRITE:
        # The area turns into data: RLIMIT_DATA (and RLIMIT_AS, which holds it already,
        # so only the data half can tell the two calls apart).
        if (mm.rlimit_data != RLIM_INFINITY and not may_expand_vm(mm, newflags, nrpages)
                and may_expand_vm(mm, oldflags, nrpages)):
            raise kerr(errno.ENOMEM, "the mapping turns into data beyond RLIMIT_DATA "
                       f"({mm.rlimit_data:#x} bytes)")
        if not old & _NOT_CHARGED:
            if mm.should_fail("vm_enough_memory"):
                raise kerr(errno.ENOMEM, "not enough memory to commit to a writable mapping")
            charged = nrpages
            newflags = vmflag(newflags._value_ | _ACCOUNT)
    elif (old & _ACCOUNT and vma.vm_file is None and vma.vm_ops is None
          and vma.anon_vma is None):
        newflags = vmflag(newflags._value_ & ~_ACCOUNT)
    mm.committed_pages += charged
    try:
        vma, newflags = vma_modify_flags(mm, prev, vma, start, end, newflags)
    except OSError:
        mm.committed_pages -= charged
        raise
    vma.vm_flags = newflags
    # vma_set_page_prot(): the new protection_map entry, keeping the caching bits.
    vma.vm_page_prot = vm_pgprot_modify(vma.vm_page_prot, newflags)
    change_protection(mm, vma, start, end)
    new = newflags._value_
    if old & _ACCOUNT and not new & _ACCOUNT:
        mm.committed_pages -= nrpages
    # A private mlocked mapping that becomes writable is populated now (break COW).
    if (old & _LOCKED_PRIVATE) == VMFlag.LOCKED._value_ and new & _WRITE:
        populate_vma_page_range(mm, vma, start, end)
    return vma


def do_mprotect_pkey(mm: MmStruct, start: int, length: int, prot: int) -> None:
    """``do_mprotect_pkey()``: validate, then fix up each VMA of the range in turn."""
    grows = prot & (PROT_GROWSDOWN | PROT_GROWSUP)
    prot &= ~(PROT_GROWSDOWN | PROT_GROWSUP)
    if grows == (PROT_GROWSDOWN | PROT_GROWSUP):
        raise kerr(errno.EINVAL, "PROT_GROWSDOWN and PROT_GROWSUP together")
    if start & ~PAGE_MASK:
        raise kerr(errno.EINVAL, f"start {start:#x} is not page aligned")
    if not length:
        return
    length = page_align(length)
    end = start + length
    if end <= start or end >= 1 << 64:
        raise kerr(errno.ENOMEM, "start + length wraps around")
    if prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM):
        raise kerr(errno.EINVAL, f"unknown protection bits {prot:#x}")
    with mm.trace.enter("do_mprotect_pkey", f"{start:#x}-{end:#x}" if mm.trace.enabled else ""):
        vma = mm.mt.find(start)
        if vma is None or vma.vm_start >= end:
            raise kerr(errno.ENOMEM, f"{start:#x}-{end:#x} is not mapped")
        if grows & PROT_GROWSDOWN:
            if VMFlag.GROWSDOWN not in vma.vm_flags:
                raise kerr(errno.EINVAL, "PROT_GROWSDOWN on a mapping that does not grow down")
            start = vma.vm_start
        else:
            if vma.vm_start > start:
                raise kerr(errno.ENOMEM, f"{start:#x} is not mapped")
            if grows & PROT_GROWSUP:
                # x86 has no VM_GROWSUP mappings.
                raise kerr(errno.EINVAL, "PROT_GROWSUP on a mapping that does not grow up")
        # vma_prev(), unless the range starts inside the VMA (then prev is the VMA).
        prev = vma if start > vma.vm_start else mm.mt.prev(vma.vm_start)
        nstart = start
        tmp = vma.vm_start
        reqprot = prot
        cur: VmAreaStruct | None = vma
        # Re-find the next VMA after each fixup: merges and splits replace VMAs.
        while cur is not None and cur.vm_start < end:
            if cur.vm_start != tmp:
                raise kerr(errno.ENOMEM, f"hole at {tmp:#x} inside the range")
            new = calc_vm_prot_bits(reqprot)._value_ | (cur.vm_flags._value_ & ~_ACCESS)
            newflags = vmflag(new)
            if new & ~(new >> 4) & _ACCESS:  # VM_MAY* >> 4 lines up with READ/WRITE/EXEC
                raise kerr(errno.EACCES, f"VMA {cur.vm_start:#x}-{cur.vm_end:#x} may not "
                           f"become {calc_vm_prot_bits(reqprot).names()} (VM_MAY* forbid it)")
            if map_deny_write_exec(mm.mdwe, cur.vm_flags, newflags):
                raise kerr(errno.EACCES, f"MDWE: VMA {cur.vm_start:#x}-{cur.vm_end:#x} may not "
                           "become executable (or writable and executable)")
            tmp = min(cur.vm_end, end)
            ops = cur.vm_ops
            if ops is not None and ops.mprotect is not None:
                err = call_hook(f"{ops.name}->mprotect", ops.mprotect, cur, nstart, tmp, newflags)
                if err:
                    raise kerr(-err, f"{ops.name}->mprotect refused")
            done = mprotect_fixup(mm, prev, cur, nstart, tmp, newflags)
            prev = done
            tmp = done.vm_end
            nstart = tmp
            cur = mm.mt.find(tmp)
        if tmp < end:
            raise kerr(errno.ENOMEM, f"{tmp:#x}-{end:#x} is not mapped")
