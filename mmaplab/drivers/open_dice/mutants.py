"""open-dice: realistic wrong conversions of ``open_dice_mmap_prepare()``, each written once.

Each ``answer`` replaces ``OpenDiceDriver.open_dice_mmap_prepare``; the harness's mutant
check, the case study and exercise 06's catalogue all read :data:`MUTANTS`.
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from typing import Any

from ...kernel.flags import PAGE_SHIFT
from ...kernel.mm_types import (
    VmAreaDesc,
    vma_desc_clear_flags,
    vma_desc_set_flags,
    vma_desc_test,
)
from ...kernel.mmap_action import mmap_action_ioremap_full, mmap_action_simple_ioremap
from ...kernel.pgtable import pgprot_noncached, pgprot_writecombine
from ...kernel.vma_flags import (
    VMA_DONTCOPY_BIT,
    VMA_DONTDUMP_BIT,
    VMA_MAYSHARE_BIT,
    VMA_MAYWRITE_BIT,
    VMA_WRITE_BIT,
)
from ..base import Mutant, answer_mutant
from .model import OpenDiceDriver

__all__ = ["MUTANTS"]


def _rmem(desc: VmAreaDesc) -> tuple[int, int]:
    rmem = desc.file.private_data.rmem
    return rmem.base, rmem.size


def _finish(desc: VmAreaDesc) -> int:
    """The reference's tail: write-combined, DONTCOPY|DONTDUMP, the guarded remap."""
    desc.page_prot = pgprot_writecombine(desc.page_prot)
    vma_desc_set_flags(desc, VMA_DONTCOPY_BIT, VMA_DONTDUMP_BIT)
    mmap_action_simple_ioremap(desc, *_rmem(desc))
    return 0


def _refuse_shared_write(desc: VmAreaDesc) -> int:
    if vma_desc_test(desc, VMA_MAYSHARE_BIT):
        if vma_desc_test(desc, VMA_WRITE_BIT):
            return -errno.EPERM
        vma_desc_clear_flags(desc, VMA_MAYWRITE_BIT)
    return 0


def _keeps_maywrite(self: OpenDiceDriver, desc: VmAreaDesc) -> int:
    if vma_desc_test(desc, VMA_MAYSHARE_BIT) and vma_desc_test(desc, VMA_WRITE_BIT):
        return -errno.EPERM
    return _finish(desc)


def _no_writecombine(self: OpenDiceDriver, desc: VmAreaDesc) -> int:
    err = _refuse_shared_write(desc)
    if err:
        return err
    vma_desc_set_flags(desc, VMA_DONTCOPY_BIT, VMA_DONTDUMP_BIT)
    mmap_action_simple_ioremap(desc, *_rmem(desc))
    return 0


def _noncached(self: OpenDiceDriver, desc: VmAreaDesc) -> int:
    err = _refuse_shared_write(desc)
    if err:
        return err
    desc.page_prot = pgprot_noncached(desc.page_prot)  # "device memory is uncached"
    vma_desc_set_flags(desc, VMA_DONTCOPY_BIT, VMA_DONTDUMP_BIT)
    mmap_action_simple_ioremap(desc, *_rmem(desc))
    return 0


def _ioremap_full(self: OpenDiceDriver, desc: VmAreaDesc) -> int:
    err = _refuse_shared_write(desc)
    if err:
        return err
    desc.page_prot = pgprot_writecombine(desc.page_prot)
    vma_desc_set_flags(desc, VMA_DONTCOPY_BIT, VMA_DONTDUMP_BIT)
    mmap_action_ioremap_full(desc, _rmem(desc)[0] >> PAGE_SHIFT)
    return 0


def _no_dontcopy(self: OpenDiceDriver, desc: VmAreaDesc) -> int:
    err = _refuse_shared_write(desc)
    if err:
        return err
    desc.page_prot = pgprot_writecombine(desc.page_prot)
    vma_desc_set_flags(desc, VMA_DONTDUMP_BIT)
    mmap_action_simple_ioremap(desc, *_rmem(desc))
    return 0


def _refuses_private_write(self: OpenDiceDriver, desc: VmAreaDesc) -> int:
    if vma_desc_test(desc, VMA_WRITE_BIT):  # "no writes to the secrets, ever"
        return -errno.EPERM
    if vma_desc_test(desc, VMA_MAYSHARE_BIT):
        vma_desc_clear_flags(desc, VMA_MAYWRITE_BIT)
    return _finish(desc)


def _eacces(self: OpenDiceDriver, desc: VmAreaDesc) -> int:
    if vma_desc_test(desc, VMA_MAYSHARE_BIT):
        if vma_desc_test(desc, VMA_WRITE_BIT):
            return -errno.EACCES  # "permission denied is EACCES"
        vma_desc_clear_flags(desc, VMA_MAYWRITE_BIT)
    return _finish(desc)


def _m(name: str, text: str, breaks: str, fn: Callable[..., Any]) -> Mutant:
    return answer_mutant(name, text, OpenDiceDriver, breaks,
                         {"open_dice_mmap_prepare": fn})


MUTANTS: tuple[Mutant, ...] = (
    _m("keeps-maywrite",
       "refuses PROT_WRITE on shared mappings but keeps VM_MAYWRITE: a later "
       "mprotect(PROT_WRITE) makes the DICE secrets writable", "flags", _keeps_maywrite),
    _m("no-writecombine",
       "forgets pgprot_writecombine() on desc->page_prot: the region is mapped "
       "cacheable and a wipe may not be seen by every client", "writecombine",
       _no_writecombine),
    _m("noncached-for-writecombine",
       "maps the region with pgprot_noncached() instead of pgprot_writecombine(): a "
       "different memory type than the legacy driver set", "writecombine", _noncached),
    _m("ioremap-full",
       "uses mmap_action_ioremap_full(desc, base >> PAGE_SHIFT) instead of "
       "simple_ioremap: the size and offset checks of vm_iomap_memory() are lost, so "
       "oversized requests map memory beyond the region and offsets are ignored",
       "lost-check", _ioremap_full),
    _m("no-dontcopy",
       "sets VM_DONTDUMP but not VM_DONTCOPY: fork children inherit the secrets",
       "flags", _no_dontcopy),
    _m("refuses-private-write",
       "refuses every PROT_WRITE mapping with EPERM: the legacy driver allows a private "
       "writable mapping (copy-on-write never reaches the secrets)", "extra-refusal",
       _refuses_private_write),
    _m("eacces-for-eperm",
       "refuses a shared writable mapping with EACCES: open_dice_mmap() returns EPERM, and "
       "user space sees the errno", "errno", _eacces),
)
