"""drivers/mtd/mtdchar.c: mmap of an MTD character device, before and after the series.

* ``MtdcharDriver("legacy")`` — ``mtdchar_mmap()`` immediately before the series
  (torvalds/linux @aeb978c975d7 and the "-" side of v4 14/21): on an MMU kernel the
  MTD_RAM/MTD_ROM branch is disabled by a literal ``if (0 ...)`` (upstream f5cf8f07423b,
  2012), so the hook always returns **ENODEV**; on !CONFIG_MMU it accepts only shared
  mappings (0 if VM_SHARED, else EACCES).
* ``MtdcharDriver("prepare")`` — ``mtdchar_mmap_prepare()`` of v4 14/21 "mtdchar: replace
  deprecated mmap hook with mmap_prepare, clean up": the dead block is deleted; MMU →
  ENODEV, !MMU → ``vma_desc_test(desc, VMA_SHARED_BIT)`` ? 0 : EACCES.

The model's address space is an x86-64 MMU one, so the harness scenarios exercise the
MMU path (every mmap fails with ENODEV, before and after); the !CONFIG_MMU path is a
branch of each hook, which a driver built with ``mmu=False`` takes.  Behaviour is
identical before and after on both configurations: the patch only changes the API and
deletes dead code.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass
from typing import Any

from ...kernel.flags import PAGE_SIZE, VMFlag
from ...kernel.fs import File, FileOperations, FMode, Inode
from ...kernel.mm_types import VmAreaDesc, VmAreaStruct, vma_desc_test
from ...kernel.vma_flags import VMA_SHARED_BIT
from ..base import (
    Driver,
)

#: ``MTD_CHAR_MAJOR``; /dev/mtd0 is minor 0.
MTD_CHAR_MAJOR = 90
#: ``mtd->type`` values (include/uapi/mtd/mtd-abi.h).
MTD_RAM, MTD_ROM, MTD_NORFLASH = 1, 2, 3


@dataclass
class MapInfo:
    """``struct map_info`` (include/linux/mtd/map.h): the chip's physical window."""

    phys: int


@dataclass
class MtdInfo:
    """``struct mtd_info``: ``type``, ``size``, and ``priv``, the ``map_info`` of a
    map-based chip (the window the dead MTD_RAM/ROM branch would have mapped)."""

    type: int
    size: int
    priv: MapInfo


class MtdcharDriver(Driver):
    """``/dev/mtd0``: a 4-page MTD_RAM device.  ``mmu=False`` selects !CONFIG_MMU."""

    name = "mtdchar"

    def __init__(self, variant: str = "prepare", *, mmu: bool = True,
                 mtd_type: int = MTD_RAM) -> None:
        super().__init__(variant)
        self.mmu = mmu
        self.mtd = MtdInfo(mtd_type, 4 * PAGE_SIZE, MapInfo(0xA000_0000))
        self.inode = Inode("/dev/mtd0", 0, dev=(MTD_CHAR_MAJOR, 0))
        if variant == "legacy":
            self.fops = FileOperations(name="mtd_fops", mmap=self.mtdchar_mmap)
        else:
            self.fops = FileOperations(name="mtd_fops", mmap_prepare=self.mtdchar_mmap_prepare)

    def open(self, mode: FMode = FMode.READ | FMode.WRITE) -> File:
        """``mtdchar_open()``: ``private_data`` is the ``mtd_file_info`` (here the driver,
        whose ``mtd`` is ``mfi->mtd``)."""
        return File(self.inode, self.fops, mode, private_data=self)

    def observe(self) -> dict[str, Any]:
        return {"mmu": self.mmu}

    def kconfig(self) -> frozenset[str]:
        return super().kconfig() if self.mmu else super().kconfig() - {"CONFIG_MMU"}

    # -- legacy ---------------------------------------------------------------------------
    def mtdchar_mmap(self, file: File, vma: VmAreaStruct) -> int:
        """``mtdchar_mmap()`` (pre-series)."""
        if not self.mmu:
            return self.mtdchar_mmap_nommu(file, vma)
        # CONFIG_MMU: the MTD_RAM/MTD_ROM branch sits under a literal `if (0 ...)`.
        return -errno.ENODEV

    def mtdchar_mmap_nommu(self, file: File, vma: VmAreaStruct) -> int:
        """``mtdchar_mmap()`` on !CONFIG_MMU: only shared mappings (placement was done by
        ``mtdchar_get_unmapped_area()``)."""
        return 0 if VMFlag.SHARED in vma.vm_flags else -errno.EACCES

    # -- converted (v4 14/21) ------------------------------------------------------------------
    def mtdchar_mmap_prepare(self, desc: VmAreaDesc) -> int:
        """``mtdchar_mmap_prepare()`` (v4 14/21): the dead MTD_RAM/MTD_ROM block is gone;
        !CONFIG_MMU tests ``vma_desc_test(desc, VMA_SHARED_BIT)`` (v2 fix of v1's
        ``vma_desc_test_flags``)."""
        if self.mmu:
            # The MTD_RAM/MTD_ROM branch was dead code (`if (0 && ...)`): not converted.
            return -errno.ENODEV
        return 0 if vma_desc_test(desc, VMA_SHARED_BIT) else -errno.EACCES
