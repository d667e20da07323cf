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

from ..kernel.errors import kerr
from ..kernel.flags import MAP_PRIVATE, PAGE_SHIFT, PAGE_SIZE, PROT_READ, PROT_WRITE
from ..kernel.fs import File, FileOperations, FMode, Inode
from ..kernel.memory import vm_iomap_memory
from ..kernel.mm_types import VmAreaDesc, VmAreaStruct, vma_desc_size
from ..kernel.mmap_action import mmap_action_ioremap_full, mmap_action_simple_ioremap
from ..kernel.pgtable import Pgprot, pgprot_noncached
from .base import (
    Driver,
    DriverSpec,
    Mutant,
    Scenario,
    anon_neighbour_op,
    child_exit_op,
    fault_op,
    fork_op,
    mmap_op,
    mprotect_op,
    munmap_op,
)

__all__ = ["HpetDriver", "Hpets", "HpetDev", "SPEC", "CONFIG_SPECS", "HPET_PHYS",
           "HPET_MINOR"]

#: ``HPET_MINOR`` (include/linux/miscdevice.h); the node is ``/dev/hpet``.
MISC_MAJOR = 10
HPET_MINOR = 228
#: The usual HPET MMIO base on x86 (ACPI _CRS).
HPET_PHYS = 0xFED0_0000
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
    timer: int


class HpetDriver(Driver):
    """``/dev/hpet`` on one HPET block.

    ``mmap_enabled`` is ``hpet_mmap_enabled``; ``phys`` the block's physical base;
    ``config_hpet_mmap`` whether the kernel was built with CONFIG_HPET_MMAP.
    """

    name = "hpet"

    def __init__(self, variant: str = "prepare", *, mmap_enabled: bool = True,
                 phys: int = HPET_PHYS, config_hpet_mmap: bool = True) -> None:
        super().__init__(variant)
        self.hpet_mmap_enabled = mmap_enabled
        self.config_hpet_mmap = config_hpet_mmap
        self.hpets = Hpets(phys)
        self.timers_in_use: list[int] = []
        self.inode = Inode("/dev/hpet", 0, dev=(MISC_MAJOR, HPET_MINOR))
        if variant == "legacy":
            hook = self.hpet_mmap if config_hpet_mmap else self.hpet_mmap_stub
            self.fops = FileOperations(name="hpet_fops", mmap=hook,
                                       release=self.hpet_release)
        else:
            hook = self.hpet_mmap_prepare if config_hpet_mmap else self.hpet_mmap_prepare_stub
            self.fops = FileOperations(name="hpet_fops", mmap_prepare=hook,
                                       release=self.hpet_release)

    def open(self, mode: FMode = FMode.READ) -> File:
        """``hpet_open()``: EINVAL for FMODE_WRITE; EBUSY when every timer is taken."""
        if FMode.WRITE in mode:
            raise kerr(errno.EINVAL, "hpet_open: /dev/hpet cannot be opened for writing")
        free = [t for t in range(HPET_TIMERS) if t not in self.timers_in_use]
        if not free:
            raise kerr(errno.EBUSY, "hpet_open: every timer is in use")
        self.timers_in_use.append(free[0])
        return File(self.inode, self.fops, mode, private_data=HpetDev(self.hpets, free[0]))

    def hpet_release(self, file: File) -> None:
        """``hpet_release()``: the timer becomes free again."""
        self.timers_in_use.remove(file.private_data.timer)

    def observe(self) -> dict[str, Any]:
        return {"timers_in_use": sorted(self.timers_in_use)}

    def _noncached(self, prot: Pgprot) -> Pgprot:
        return pgprot_noncached(prot)

    # -- legacy ---------------------------------------------------------------------------
    def hpet_mmap(self, file: File, vma: VmAreaStruct) -> int:
        """``hpet_mmap()`` (CONFIG_HPET_MMAP, pre-series)."""
        if not self.hpet_mmap_enabled:
            return -errno.EACCES
        devp: HpetDev = file.private_data
        addr = devp.hd_hpets.hp_hpet_phys
        if addr & (PAGE_SIZE - 1):
            return -errno.ENOSYS
        vma.vm_page_prot = self._noncached(vma.vm_page_prot)
        return vm_iomap_memory(vma, addr, PAGE_SIZE)

    def hpet_mmap_stub(self, file: File, vma: VmAreaStruct) -> int:
        """``hpet_mmap()`` without CONFIG_HPET_MMAP."""
        return -errno.ENOSYS

    # -- converted (v4 13/21) ------------------------------------------------------------------
    def hpet_mmap_prepare(self, desc: VmAreaDesc) -> int:
        """``hpet_mmap_prepare()`` (v4 13/21)."""
        file = desc.file
        assert file is not None
        if not self.hpet_mmap_enabled:
            return -errno.EACCES
        devp: HpetDev = file.private_data
        addr = devp.hd_hpets.hp_hpet_phys
        if addr & (PAGE_SIZE - 1):
            return -errno.ENOSYS
        desc.page_prot = self._noncached(desc.page_prot)
        self._action(desc, addr)
        return 0

    def hpet_mmap_prepare_stub(self, desc: VmAreaDesc) -> int:
        """``hpet_mmap_prepare()`` without CONFIG_HPET_MMAP (renamed stub)."""
        return -errno.ENOSYS

    def _action(self, desc: VmAreaDesc, addr: int) -> None:
        mmap_action_simple_ioremap(desc, addr, PAGE_SIZE)


# -- mutants ---------------------------------------------------------------------------------

class _NoNoncached(HpetDriver):
    """Forgets ``pgprot_noncached()``: the timer registers are mapped cacheable."""

    def __init__(self, variant: str = "prepare") -> None:
        super().__init__("prepare")

    def _noncached(self, prot: Pgprot) -> Pgprot:
        return prot


class _IoremapFull(HpetDriver):
    """``mmap_action_ioremap_full(desc, addr >> PAGE_SHIFT)``: no one-page limit, no offset."""

    def __init__(self, variant: str = "prepare") -> None:
        super().__init__("prepare")

    def _action(self, desc: VmAreaDesc, addr: int) -> None:
        mmap_action_ioremap_full(desc, addr >> PAGE_SHIFT)


class _VmaSizeNotPage(HpetDriver):
    """Passes the VMA size instead of PAGE_SIZE as the region size."""

    def __init__(self, variant: str = "prepare") -> None:
        super().__init__("prepare")

    def _action(self, desc: VmAreaDesc, addr: int) -> None:
        mmap_action_simple_ioremap(desc, addr, vma_desc_size(desc))


RW = PROT_READ | PROT_WRITE
RO = FMode.READ

SCENARIOS: tuple[Scenario, ...] = (
    Scenario("map-one-page", (mmap_op(0, 1, PROT_READ, mode=RO), fault_op(0), munmap_op(0, 1)),
             "one page at offset 0 of a read-only fd: the HPET registers, uncached"),
    Scenario("open-for-write", (mmap_op(0, 1, PROT_READ, mode=FMode.READ | FMode.WRITE),),
             "hpet_open() refuses O_RDWR with EINVAL before any mmap"),
    Scenario("two-pages", (mmap_op(0, 2, PROT_READ, mode=RO),),
             "the block is one page: EINVAL from the vm_iomap_memory checks"),
    Scenario("offset-one", (mmap_op(0, 1, PROT_READ, mode=RO, offset_pages=1),),
             "offset 1 page leaves nothing of the one-page region: EINVAL"),
    Scenario("shared-writable", (mmap_op(0, 1, RW, mode=RO),),
             "PROT_WRITE|MAP_SHARED on a read-only fd: EACCES from do_mmap"),
    Scenario("private-writable", (mmap_op(0, 1, RW, flags=MAP_PRIVATE, mode=RO), fault_op(0)),
             "MAP_PRIVATE|PROT_WRITE of a read-only fd: allowed, not a COW mapping (no "
             "VM_MAYWRITE), so pgoff stays 0"),
    Scenario("mprotect-add-write", (mmap_op(0, 1, PROT_READ, mode=RO), mprotect_op(0, 1, RW)),
             "the fd is read-only, so VM_MAYWRITE is clear: EACCES"),
    Scenario("two-timers-adjacent", (mmap_op(0, 1, PROT_READ, mode=RO),
                                     mmap_op(1, 1, PROT_READ, mode=RO, same_file=False),
                                     munmap_op(0, 2)),
             "two opens (two timers) map the same block page side by side; VM_IO never merges"),
    Scenario("next-to-anon", (anon_neighbour_op(0, 1), mmap_op(1, 1, PROT_READ, mode=RO)),
             "an anonymous neighbour"),
    Scenario("fork", (mmap_op(0, 1, PROT_READ, mode=RO), fork_op(), child_exit_op(),
                      munmap_op(0, 1)),
             "no VM_DONTCOPY: the child gets the PFN mapping too (page tables copied)"),
    Scenario("remap-fails-after-hook", (mmap_op(0, 1, PROT_READ, mode=RO),),
             inject=("pte_alloc", 1),
             note="the page-table allocation of the remap fails (ENOMEM)"),
    Scenario("action-fails-after-insert", (mmap_op(0, 1, PROT_READ, mode=RO),),
             inject=("mmap_action_complete", 1),
             note="the action fails once the VMA is in the tree (legacy: ->mmap fails)"),
    Scenario("tree-prealloc-fails", (mmap_op(0, 1, PROT_READ, mode=RO),),
             inject=("vma_iter_prealloc", 1),
             note="the maple-tree preallocation fails"),
)

_KERNEL_FILES = ("drivers/char/hpet.c", "mm/memory.c")
_VERSION = ("legacy: hpet_mmap with CONFIG_HPET_MMAP, '-' side of v4 13/21; prepare: v4 13/21 "
            "hpet_mmap_prepare (+ v4 11/21 mmap_action_simple_ioremap)")

SPEC = DriverSpec(
    name="hpet",
    kernel_files=_KERNEL_FILES,
    kernel_version=_VERSION,
    make=lambda variant: HpetDriver(variant),
    scenarios=SCENARIOS,
    intended={},
    mutants=(
        Mutant("no-noncached",
               "forgets pgprot_noncached() on desc->page_prot: timer registers are mapped "
               "cacheable and reads return stale counter values",
               lambda: _NoNoncached()),
        Mutant("ioremap-full",
               "uses mmap_action_ioremap_full(desc, addr >> PAGE_SHIFT): larger requests map "
               "whatever MMIO follows the HPET block, and offsets are ignored",
               lambda: _IoremapFull()),
        Mutant("vma-size-as-region",
               "passes vma_desc_size(desc) as the region size: the one-page limit disappears",
               lambda: _VmaSizeNotPage()),
    ),
)

_SHORT = tuple(s for s in SCENARIOS if s.name in ("map-one-page", "two-pages", "offset-one",
                                                    "private-writable", "fork"))

#: Other device configurations, compared the same way (see the module docstring).
CONFIG_SPECS: tuple[DriverSpec, ...] = (
    DriverSpec("hpet (hpet_mmap=0)", _KERNEL_FILES, _VERSION,
               lambda variant: HpetDriver(variant, mmap_enabled=False), _SHORT),
    DriverSpec("hpet (block not page aligned)", _KERNEL_FILES, _VERSION,
               lambda variant: HpetDriver(variant, phys=HPET_PHYS + 0x400), _SHORT),
    DriverSpec("hpet (CONFIG_HPET_MMAP=n)", _KERNEL_FILES, _VERSION,
               lambda variant: HpetDriver(variant, config_hpet_mmap=False), _SHORT),
)

