"""drivers/char/hpet.c: mapping the HPET registers, before and after the series.

* ``HpetDriver("legacy")`` — ``hpet_mmap()`` with CONFIG_HPET_MMAP as before the series
  (stored modern drivers/char/hpet.c and the "-" side of v4 13/21): EACCES unless
  ``hpet_mmap_enabled`` (boot option ``hpet_mmap=``), ENOSYS when the block's physical
  address is not page aligned, then ``pgprot_noncached`` and
  ``vm_iomap_memory(vma, hp_hpet_phys, PAGE_SIZE)`` — so only a one-page mapping at
  offset 0 succeeds (EINVAL otherwise, from vm_iomap_memory's checks).
* ``HpetDriver("prepare")`` — ``hpet_mmap_prepare()`` of v4 13/21 "hpet: replace deprecated
  mmap hook with mmap_prepare": the same checks, ``desc->page_prot`` noncached, then
  ``mmap_action_simple_ioremap(desc, addr, PAGE_SIZE)``.

Without CONFIG_HPET_MMAP both variants' stub returns ENOSYS (``config_hpet_mmap=False``).

The state the hook depends on: ``file->private_data`` (the ``struct hpet_dev`` of the
timer ``hpet_open()`` assigned), whose ``hd_hpets->hp_hpet_phys`` is the MMIO base of
the whole HPET block (every timer of a block maps the same page), and the global
``hpet_mmap_enabled``.  ``hpet_open()`` refuses FMODE_WRITE with EINVAL.  No vm_ops.

Device configurations other than the default (``CONFIG_SPECS``): ``hpet_mmap=0``
(EACCES), a block at a non-page-aligned address (ENOSYS), and CONFIG_HPET_MMAP=n.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass
from typing import Any

from ...kernel.errors import kerr
from ...kernel.flags import PAGE_SIZE
from ...kernel.fs import File, FileOperations, FMode, Inode
from ...kernel.memory import vm_iomap_memory
from ...kernel.mm_types import VmAreaDesc, VmAreaStruct
from ...kernel.mmap_action import mmap_action_simple_ioremap
from ...kernel.pgtable import pgprot_noncached
from ..base import (
    Driver,
)

#: ``HPET_MINOR`` (include/linux/miscdevice.h); the node is ``/dev/hpet``.
MISC_MAJOR = 10
HPET_MINOR = 228
#: The usual HPET MMIO base on x86 (ACPI _CRS).
HPET_PHYS = 0xFED0_0000
#: Where a second HPET block sits when the firmware describes two (``hpet_alloc()`` is
#: called once per block; each gets its own ``struct hpets`` on the global list).
HPET_PHYS_2 = 0xFED0_1000
#: Timers per block (the hardware offers 3 or more).
HPET_TIMERS = 3


@dataclass
class Hpets:
    """``struct hpets``: one HPET block; ``hp_hpet_phys`` is its MMIO base."""

    hp_hpet_phys: int


@dataclass
class HpetDev:
    """``struct hpet_dev``: one timer of a block (``hd_hpets`` points at the block)."""

    hd_hpets: Hpets
    #: The timer's number counted over all blocks (block ``timer // HPET_TIMERS``).
    timer: int


class HpetDriver(Driver):
    """``/dev/hpet`` on one HPET block.

    ``mmap_enabled`` is ``hpet_mmap_enabled``; ``phys`` the block's physical base;
    ``config_hpet_mmap`` whether the kernel was built with CONFIG_HPET_MMAP.
    """

    name = "hpet"

    def __init__(self, variant: str = "prepare", *, mmap_enabled: bool = True,
                 phys: int = HPET_PHYS, config_hpet_mmap: bool = True,
                 second_block: int | None = None) -> None:
        super().__init__(variant)
        self.hpet_mmap_enabled = mmap_enabled
        self.config_hpet_mmap = config_hpet_mmap
        self.hpets = Hpets(phys)
        #: The global ``hpets`` list: one entry per block; ``second_block`` adds one at
        #: that physical base (e.g. :data:`HPET_PHYS_2`).  ``hpet_open()`` hands out the
        #: timers of the first block, then those of the second.
        self.blocks = [self.hpets] + ([Hpets(second_block)] if second_block is not None else [])
        self.timers_in_use: list[int] = []
        self.inode = Inode("/dev/hpet", 0, dev=(MISC_MAJOR, HPET_MINOR))
        if variant == "legacy":
            hook = self.hpet_mmap if config_hpet_mmap else self.hpet_mmap_stub
            self.fops = FileOperations(name="hpet_fops", mmap=hook,
                                       release=self.hpet_release)
        else:
            prepare = (self.hpet_mmap_prepare if config_hpet_mmap
                       else self.hpet_mmap_prepare_stub)
            self.fops = FileOperations(name="hpet_fops", mmap_prepare=prepare,
                                       release=self.hpet_release)

    def open(self, mode: FMode = FMode.READ) -> File:
        """``hpet_open()``: EINVAL for FMODE_WRITE; EBUSY when every timer is taken."""
        if FMode.WRITE in mode:
            raise kerr(errno.EINVAL, "hpet_open: /dev/hpet cannot be opened for writing")
        total = HPET_TIMERS * len(self.blocks)
        free = [t for t in range(total) if t not in self.timers_in_use]
        if not free:
            raise kerr(errno.EBUSY, "hpet_open: every timer is in use")
        self.timers_in_use.append(free[0])
        block = self.blocks[free[0] // HPET_TIMERS]
        return File(self.inode, self.fops, mode, private_data=HpetDev(block, free[0]))

    def hpet_release(self, file: File) -> None:
        """``hpet_release()``: the timer becomes free again."""
        self.timers_in_use.remove(file.private_data.timer)

    def observe(self) -> dict[str, Any]:
        return {"timers_in_use": sorted(self.timers_in_use)}

    # -- legacy ---------------------------------------------------------------------------
    def hpet_mmap(self, file: File, vma: VmAreaStruct) -> int:
        """``hpet_mmap()`` (CONFIG_HPET_MMAP, pre-series)."""
        if not self.hpet_mmap_enabled:
            return -errno.EACCES
        devp: HpetDev = file.private_data
        addr = devp.hd_hpets.hp_hpet_phys
        if addr & (PAGE_SIZE - 1):
            return -errno.ENOSYS
        vma.vm_page_prot = pgprot_noncached(vma.vm_page_prot)
        return vm_iomap_memory(vma, addr, PAGE_SIZE)

    def hpet_mmap_stub(self, file: File, vma: VmAreaStruct) -> int:
        """``hpet_mmap()`` without CONFIG_HPET_MMAP."""
        return -errno.ENOSYS

    # -- converted (v4 13/21) ------------------------------------------------------------------
    def hpet_mmap_prepare(self, desc: VmAreaDesc) -> int:
        """``hpet_mmap_prepare()`` (v4 13/21)."""
        if not self.hpet_mmap_enabled:
            return -errno.EACCES
        devp: HpetDev = desc.file.private_data
        addr = devp.hd_hpets.hp_hpet_phys
        if addr & (PAGE_SIZE - 1):
            return -errno.ENOSYS
        desc.page_prot = pgprot_noncached(desc.page_prot)
        mmap_action_simple_ioremap(desc, addr, PAGE_SIZE)
        return 0

    def hpet_mmap_prepare_stub(self, desc: VmAreaDesc) -> int:
        """``hpet_mmap_prepare()`` without CONFIG_HPET_MMAP (renamed stub)."""
        return -errno.ENOSYS
