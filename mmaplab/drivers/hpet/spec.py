"""hpet: the scenarios the harness runs, the mutants (realistic wrong conversions)
and the ``SPEC`` (see :mod:`mmaplab.drivers.hpet.model` for the driver)."""

from __future__ import annotations

from ...kernel.flags import MAP_PRIVATE, PROT_READ, PROT_WRITE
from ...kernel.fs import FMode
from ..base import (
    DriverSpec,
    Scenario,
    anon_neighbour_op,
    child_exit_op,
    fault_op,
    fork_op,
    mmap_op,
    mprotect_op,
    munmap_op,
)
from .model import (
    HPET_TIMERS,
    HpetDriver,
)
from .mutants import MUTANTS, UNALIGNED

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
             "MAP_PRIVATE|PROT_WRITE of a read-only fd: allowed; do_mmap keeps VM_MAYWRITE "
             "for a private mapping, so it is a COW mapping and the whole-VMA remap sets "
             "pgoff to the block's pfn"),
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
    Scenario("timer-of-a-second-block",
             tuple(mmap_op(i, 1, PROT_READ, mode=RO, same_file=False)
                   for i in range(HPET_TIMERS + 1)),
             "one open per timer: the first block's timers, then one of a second block "
             "(hpet_open() hands them out in order), which maps that block's registers; "
             "with one block the last open is refused with EBUSY"),
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
    mutants=MUTANTS,
)

_SHORT = tuple(s for s in SCENARIOS if s.name in ("map-one-page", "two-pages", "offset-one",
                                                    "private-writable", "fork"))

#: Other device configurations, compared the same way (see the module docstring).
CONFIG_SPECS: tuple[DriverSpec, ...] = (
    DriverSpec("hpet (hpet_mmap=0)", _KERNEL_FILES, _VERSION,
               lambda variant: HpetDriver(variant, mmap_enabled=False), _SHORT),
    DriverSpec("hpet (block not page aligned)", _KERNEL_FILES, _VERSION,
               lambda variant: HpetDriver(variant, phys=UNALIGNED), _SHORT),
    DriverSpec("hpet (hpet_mmap=0, block not page aligned)", _KERNEL_FILES, _VERSION,
               lambda variant: HpetDriver(variant, mmap_enabled=False, phys=UNALIGNED), _SHORT),
    DriverSpec("hpet (CONFIG_HPET_MMAP=n)", _KERNEL_FILES, _VERSION,
               lambda variant: HpetDriver(variant, config_hpet_mmap=False), _SHORT),
)

