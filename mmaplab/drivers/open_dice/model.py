"""drivers/misc/open-dice.c: mapping the DICE reserved-memory region, before and after.

* ``OpenDiceDriver("legacy")`` — ``open_dice_mmap()`` as immediately before the series
  (the "-" side of v4 12/21, blob 24c29e0f00ef): a shared mapping may not be writable
  (EPERM) and loses VM_MAYWRITE so mprotect cannot add write later; the region is mapped
  write-combined, VM_DONTCOPY|VM_DONTDUMP, with ``vm_iomap_memory(vma, rmem->base,
  rmem->size)``.
* ``OpenDiceDriver("prepare")`` — ``open_dice_mmap_prepare()`` of v4 12/21 "misc: open-dice:
  replace deprecated mmap hook with mmap_prepare": the same checks and flag changes on
  the descriptor, then ``mmap_action_simple_ioremap(desc, rmem->base, rmem->size)``; the
  size/offset checks of ``vm_iomap_memory()`` now run in ``simple_ioremap_prepare()``,
  before any VMA exists, and the page tables are written at action completion.

The state the hook depends on is the device's ``struct reserved_mem`` (page-aligned
``base`` and ``size``, checked at probe).  There are no vm_ops: no refcounts, and
VM_DONTCOPY means a fork child never sees the mapping.
"""

from __future__ import annotations

import errno
from typing import Any

from ...kernel.flags import (
    PAGE_MASK,
    PAGE_SIZE,
    VMFlag,
)
from ...kernel.fs import File, FileOperations, FMode, Inode
from ...kernel.memory import vm_iomap_memory
from ...kernel.mm_types import (
    VmAreaDesc,
    VmAreaStruct,
    vma_desc_clear_flags,
    vma_desc_set_flags,
    vma_desc_test,
)
from ...kernel.mmap_action import mmap_action_simple_ioremap
from ...kernel.pgtable import pgprot_writecombine
from ...kernel.vma_flags import (
    VMA_DONTCOPY_BIT,
    VMA_DONTDUMP_BIT,
    VMA_MAYSHARE_BIT,
    VMA_MAYWRITE_BIT,
    VMA_WRITE_BIT,
)
from ..base import (
    Driver,
)

#: ``MISC_MAJOR``; open-dice registers a dynamic misc minor (the model uses 125).
MISC_MAJOR = 10
OPEN_DICE_MINOR = 125
#: The reserved-memory region from the device tree (page aligned, 2 pages).
RMEM_BASE = 0x8F00_0000
RMEM_PAGES = 2


class ReservedMem:
    """``struct reserved_mem``: ``base`` and ``size`` of the region."""

    def __init__(self, base: int, size: int) -> None:
        self.base = base
        self.size = size


class OpenDiceDriver(Driver):
    """``/dev/open-dice0`` on a ``RMEM_PAGES``-page reserved region at ``RMEM_BASE``."""

    name = "open_dice"

    def __init__(self, variant: str = "prepare", *, base: int = RMEM_BASE,
                 size: int = RMEM_PAGES * PAGE_SIZE) -> None:
        super().__init__(variant)
        # open_dice_probe(): the region must be non-empty and page aligned (EINVAL).
        if not size or base & ~PAGE_MASK or size & ~PAGE_MASK:
            raise ValueError("open_dice_probe: reserved memory must be non-empty and page "
                             "aligned (the probe fails with EINVAL)")
        self.rmem = ReservedMem(base, size)
        self.inode = Inode("/dev/open-dice0", 0, dev=(MISC_MAJOR, OPEN_DICE_MINOR))
        if variant == "legacy":
            self.fops = FileOperations(name="open_dice_fops", mmap=self.open_dice_mmap)
        else:
            self.fops = FileOperations(name="open_dice_fops",
                                       mmap_prepare=self.open_dice_mmap_prepare)

    def open(self, mode: FMode = FMode.READ | FMode.WRITE) -> File:
        """``misc_open()``: ``filp->private_data`` points at the misc device (drvdata)."""
        return File(self.inode, self.fops, mode, private_data=self)

    def observe(self) -> dict[str, Any]:
        return {"rmem": f"{self.rmem.base:#x}+{self.rmem.size:#x}"}


    # -- legacy --------------------------------------------------------------------------
    def open_dice_mmap(self, filp: File, vma: VmAreaStruct) -> int:
        """``open_dice_mmap()`` (pre-series): EPERM for shared+write, drop VM_MAYWRITE on
        shared mappings, write-combine, DONTCOPY|DONTDUMP, ``vm_iomap_memory()``."""
        drvdata: OpenDiceDriver = filp.private_data
        if VMFlag.MAYSHARE in vma.vm_flags:
            if VMFlag.WRITE in vma.vm_flags:
                return -errno.EPERM
            vma.vm_flags &= ~VMFlag.MAYWRITE  # vm_flags_clear()
        vma.vm_page_prot = pgprot_writecombine(vma.vm_page_prot)
        vma.vm_flags |= VMFlag.DONTCOPY | VMFlag.DONTDUMP  # vm_flags_set()
        return vm_iomap_memory(vma, drvdata.rmem.base, drvdata.rmem.size)

    # -- converted (v4 12/21) ----------------------------------------------------------------
    def open_dice_mmap_prepare(self, desc: VmAreaDesc) -> int:
        """``open_dice_mmap_prepare()`` (v4 12/21): the same on the descriptor, then
        ``mmap_action_simple_ioremap()``."""
        drvdata: OpenDiceDriver = desc.file.private_data
        if vma_desc_test(desc, VMA_MAYSHARE_BIT):
            if vma_desc_test(desc, VMA_WRITE_BIT):
                return -errno.EPERM
            vma_desc_clear_flags(desc, VMA_MAYWRITE_BIT)
        desc.page_prot = pgprot_writecombine(desc.page_prot)
        vma_desc_set_flags(desc, VMA_DONTCOPY_BIT, VMA_DONTDUMP_BIT)
        mmap_action_simple_ioremap(desc, drvdata.rmem.base, drvdata.rmem.size)
        return 0
