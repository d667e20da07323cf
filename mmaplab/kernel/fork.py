"""``fork(2)`` as far as the address space goes.

Models ``dup_mmap()`` (mm/mmap.c, Linux 6.18/7.0): every VMA without
VM_DONTCOPY is duplicated into the child; the copy gets a new anon_vma chained
to the parent's (so it merges less eagerly), VM_LOCKED is dropped, the file
reference is taken and the copy is linked to the file's rmap, ``vm_ops->open``
is called on it, and page tables are copied only where the kernel must
(``vma_needs_copy()``: an anon_vma, or VM_PFNMAP/VM_MIXEDMAP), write-protecting
private anonymous pages in both parent and child for copy-on-write.
"""

from __future__ import annotations

import errno

from .errors import kerr
from .flags import VM_LOCKED_MASK, VMFlag, is_cow_mapping
from .fs import get_file
from .hooks import call_void_hook
from .mm_types import AnonVma, MmStruct, VmAreaStruct, vm_area_free
from .pgtable import Pgprot, Pte
from .vma import vm_area_dup, vma_link

__all__ = ["dup_mmap"]


def _copy_page_range(parent: MmStruct, child: MmStruct, src: VmAreaStruct) -> None:
    """``copy_page_range()``: share pages copy-on-write, copy pfn mappings as they are."""
    if not (src.anon_vma is not None or src.vm_flags & (VMFlag.PFNMAP | VMFlag.MIXEDMAP)):
        return
    if parent.should_fail("pte_alloc"):
        raise kerr(errno.ENOMEM, "copy_page_range: out of memory for the child's page tables")
    cow = is_cow_mapping(src.vm_flags)
    for addr, pte in parent.pagetable.entries(src.vm_start, src.vm_end).items():
        if cow and pte.writable and not pte.special:
            pte.prot &= ~Pgprot.RW
        if pte.page is not None and not pte.special:
            pte.page.refcount += 1
            pte.page.mapcount += 1
        child.pagetable.set(addr, Pte(pte.pfn, pte.prot, pte.page, pte.special, pte.dirty))


def dup_mmap(parent: MmStruct, child: MmStruct) -> None:
    """``dup_mmap()``: fill ``child`` from ``parent`` (both mmap_locks are held by the caller)."""
    with parent.trace.enter("dup_mmap"):
        for src in list(parent.mt):
            if VMFlag.DONTCOPY in src.vm_flags:
                continue
            tmp = vm_area_dup(parent, src)
            if src.anon_vma is not None and parent.should_fail("anon_vma_clone"):
                vm_area_free(tmp, "dup_mmap")  # anon_vma_fork() failed: -ENOMEM
                raise kerr(errno.ENOMEM, "dup_mmap: anon_vma_fork could not allocate")
            tmp.vm_mm = child
            tmp.nr = child.next_vma_nr()  # the child numbers its own VMAs
            tmp.anon_vma_chain = ()
            tmp.anon_vma = None
            if VMFlag.WIPEONFORK not in src.vm_flags and src.anon_vma is not None:
                own = AnonVma(parent=src.anon_vma)
                tmp.anon_vma = own
                tmp.anon_vma_chain = src.anon_vma_chain + (own,)
            tmp.vm_flags &= ~VM_LOCKED_MASK
            if tmp.vm_file is not None:
                get_file(tmp.vm_file)
            vma_link(child, tmp)
            if VMFlag.ACCOUNT in tmp.vm_flags:
                child.committed_pages += tmp.pages
            ops = tmp.vm_ops
            if ops is not None and ops.open is not None:
                parent.trace.step(f"{ops.name}->open", f"{tmp.vm_start:#x}-{tmp.vm_end:#x}")
                call_void_hook(f"{ops.name}->open", ops.open, tmp)
            if VMFlag.WIPEONFORK not in tmp.vm_flags:
                _copy_page_range(parent, child, src)
