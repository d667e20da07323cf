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
method pair (``mtdchar_mmap_nommu``/``mtdchar_mmap_prepare_nommu``) that the tests call
directly on a VMA and on a descriptor.  Behaviour is identical before and after on both
configurations: the patch only changes the API and deletes dead code.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass
from typing import Any

from ..kernel.flags import MAP_PRIVATE, PAGE_SIZE, PROT_READ, PROT_WRITE, VMFlag
from ..kernel.fs import File, FileOperations, FMode, Inode
from ..kernel.mm_types import VmAreaDesc, VmAreaStruct, vma_desc_test
from ..kernel.mmap_action import mmap_action_simple_ioremap
from .base import (
    Driver,
    DriverSpec,
    Mutant,
    Scenario,
    anon_neighbour_op,
    fault_op,
    fork_op,
    mmap_op,
    mprotect_op,
    munmap_op,
)

__all__ = ["MtdcharDriver", "MtdInfo", "SPEC", "MTD_CHAR_MAJOR", "MTD_RAM"]

#: ``MTD_CHAR_MAJOR``; /dev/mtd0 is minor 0.
MTD_CHAR_MAJOR = 90
#: ``mtd->type`` values (include/uapi/mtd/mtd-abi.h).
MTD_RAM, MTD_ROM, MTD_NORFLASH = 1, 2, 3


@dataclass
class MtdInfo:
    """``struct mtd_info`` (+ its ``map_info``'s ``phys`` the dead branch would have used)."""

    type: int
    size: int
    map_phys: int


class MtdcharDriver(Driver):
    """``/dev/mtd0``: a 4-page MTD_RAM device.  ``mmu=False`` selects !CONFIG_MMU."""

    name = "mtdchar"

    def __init__(self, variant: str = "prepare", *, mmu: bool = True,
                 mtd_type: int = MTD_RAM) -> None:
        super().__init__(variant)
        self.mmu = mmu
        self.mtd = MtdInfo(mtd_type, 4 * PAGE_SIZE, 0xA000_0000)
        self.inode = Inode("/dev/mtd0", 0, dev=(MTD_CHAR_MAJOR, 0))
        if variant == "legacy":
            self.fops = FileOperations(name="mtd_fops", mmap=self.mtdchar_mmap)
        else:
            self.fops = FileOperations(name="mtd_fops", mmap_prepare=self.mtdchar_mmap_prepare)

    def open(self, mode: FMode = FMode.READ | FMode.WRITE) -> File:
        """``mtdchar_open()``: ``private_data`` is the ``mtd_file_info`` (here the driver)."""
        return File(self.inode, self.fops, mode, private_data=self)

    def observe(self) -> dict[str, Any]:
        return {"mmu": self.mmu}

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
        """``mtdchar_mmap_prepare()`` (v4 14/21)."""
        if not self.mmu:
            return self.mtdchar_mmap_prepare_nommu(desc)
        return -errno.ENODEV

    def mtdchar_mmap_prepare_nommu(self, desc: VmAreaDesc) -> int:
        """The !CONFIG_MMU branch: ``vma_desc_test(desc, VMA_SHARED_BIT)`` (v2 fix of v1's
        ``vma_desc_test_flags``)."""
        return 0 if vma_desc_test(desc, VMFlag.SHARED) else -errno.EACCES


# -- mutants ---------------------------------------------------------------------------------

class _RevivedRamBranch(MtdcharDriver):
    """Converts the dead MTD_RAM/ROM branch as if it were live: simple_ioremap of the map."""

    def __init__(self, variant: str = "prepare") -> None:
        super().__init__("prepare")

    def mtdchar_mmap_prepare(self, desc: VmAreaDesc) -> int:
        if self.mtd.type in (MTD_RAM, MTD_ROM):
            mmap_action_simple_ioremap(desc, self.mtd.map_phys, self.mtd.size)
            return 0
        return -errno.ENODEV


class _NommuPathOnMmu(MtdcharDriver):
    """Inverts the ``#ifdef``: the !MMU shared-only rule on an MMU kernel."""

    def __init__(self, variant: str = "prepare") -> None:
        super().__init__("prepare")

    def mtdchar_mmap_prepare(self, desc: VmAreaDesc) -> int:
        return self.mtdchar_mmap_prepare_nommu(desc)


class _Enosys(MtdcharDriver):
    """Returns ENOSYS (as some out-of-tree forks do) instead of ENODEV."""

    def __init__(self, variant: str = "prepare") -> None:
        super().__init__("prepare")

    def mtdchar_mmap_prepare(self, desc: VmAreaDesc) -> int:
        return -errno.ENOSYS


RW = PROT_READ | PROT_WRITE

SPEC = DriverSpec(
    name="mtdchar",
    kernel_files=("drivers/mtd/mtdchar.c",),
    kernel_version=("legacy: mtdchar_mmap @aeb978c975d7 / '-' side of v4 14/21; prepare: v4 "
                    "14/21 mtdchar_mmap_prepare (CONFIG_MMU path; !MMU tested directly)"),
    make=lambda variant: MtdcharDriver(variant),
    scenarios=(
        Scenario("shared-read", (mmap_op(0, 1, PROT_READ), fault_op(0)),
                 "a shared read-only mapping: ENODEV on an MMU kernel; the page is unmapped"),
        Scenario("shared-write", (mmap_op(0, 2, RW),), "a shared writable mapping: ENODEV"),
        Scenario("private-read", (mmap_op(0, 1, PROT_READ, flags=MAP_PRIVATE),),
                 "a private mapping: ENODEV (not EACCES: that is the !MMU rule)"),
        Scenario("private-write", (mmap_op(0, 1, RW, flags=MAP_PRIVATE),),
                 "a private writable mapping: ENODEV"),
        Scenario("read-only-fd-shared-write", (mmap_op(0, 1, RW, mode=FMode.READ),),
                 "PROT_WRITE|MAP_SHARED on an O_RDONLY fd: EACCES from do_mmap first"),
        Scenario("with-offset", (mmap_op(0, 1, PROT_READ, offset_pages=2),),
                 "an offset inside the device: ENODEV"),
        Scenario("beside-existing-anon", (anon_neighbour_op(0, 1), mmap_op(1, 1, PROT_READ),
                                          mprotect_op(0, 1, RW), munmap_op(0, 2)),
                 "the failed mmap leaves the anonymous neighbour untouched"),
        Scenario("replacing-anon", (anon_neighbour_op(0, 2), mmap_op(0, 2, PROT_READ),
                                    fault_op(0)),
                 "MAP_FIXED over an existing mapping: the old VMAs are already gone when the "
                 "hook fails, so the range is left unmapped (SIGSEGV)"),
        Scenario("fork-after-failure", (mmap_op(0, 1, PROT_READ), fork_op()),
                 "nothing to inherit"),
        Scenario("tree-prealloc-fails", (mmap_op(0, 1, PROT_READ),),
                 inject=("vma_iter_prealloc", 1),
                 note="ENOMEM before the VMA exists (the legacy hook is never reached)"),
    ),
    intended={
        "errno@tree-prealloc-fails": (
            "Which error wins changed. The legacy ->mmap hook ran on a VMA that had already "
            "been allocated and inserted, so an allocation failure (ENOMEM) was reported "
            "before the driver could say ENODEV. mmap_prepare runs before anything is "
            "allocated, so now the driver's ENODEV comes first. Both fail and leave nothing "
            "behind; only the errno differs, and only under memory pressure."),
    },
    mutants=(
        Mutant("revived-ram-branch",
               "converts the disabled MTD_RAM/ROM branch as live code: MTD RAM is mapped on "
               "MMU kernels, which upstream deliberately turned off in 2012",
               lambda: _RevivedRamBranch()),
        Mutant("nommu-path-on-mmu",
               "inverts the #ifdef: the !MMU 'shared only' rule on an MMU kernel, so shared "
               "mappings succeed (with no way to fill them: SIGBUS) and private ones get EACCES",
               lambda: _NommuPathOnMmu()),
        Mutant("enosys",
               "returns ENOSYS instead of ENODEV: userspace that probes for mmap support by "
               "errno changes behaviour",
               lambda: _Enosys()),
    ),
)

