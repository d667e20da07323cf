"""open_dice: the scenarios the harness runs, the mutants (realistic wrong conversions)
and the ``SPEC`` (see :mod:`mmaplab.drivers.open_dice.model` for the driver)."""

from __future__ import annotations

from ...kernel.flags import (
    MAP_PRIVATE,
    PROT_READ,
    PROT_WRITE,
)
from ..base import (
    DriverSpec,
    Scenario,
    anon_neighbour_op,
    child_exit_op,
    exit_op,
    fault_op,
    fork_op,
    mmap_op,
    mprotect_op,
    munmap_op,
)
from .model import (
    RMEM_PAGES,
    OpenDiceDriver,
)
from .mutants import MUTANTS

RW = PROT_READ | PROT_WRITE

SPEC = DriverSpec(
    name="open_dice",
    kernel_files=("drivers/misc/open-dice.c", "mm/memory.c"),
    kernel_version=("legacy: open_dice_mmap, '-' side of v4 12/21 (blob 24c29e0f00ef); "
                    "prepare: v4 12/21 open_dice_mmap_prepare (+ v4 11/21 "
                    "mmap_action_simple_ioremap)"),
    make=lambda variant: OpenDiceDriver(variant),
    scenarios=(
        Scenario("map-read-only", (mmap_op(0, 2, PROT_READ), fault_op(0), fault_op(1),
                                   munmap_op(0, 2)),
                 "the whole region, shared read-only: write-combined PFN mapping"),
        Scenario("shared-writable", (mmap_op(0, 1, RW),),
                 "MAP_SHARED with PROT_WRITE: EPERM from the driver"),
        Scenario("mprotect-add-write", (mmap_op(0, 2, PROT_READ), mprotect_op(0, 2, RW)),
                 "VM_MAYWRITE was cleared, so mprotect(PROT_WRITE) is refused with EACCES"),
        Scenario("too-big", (mmap_op(0, RMEM_PAGES + 1, PROT_READ),),
                 "one page more than the region: EINVAL from the vm_iomap_memory checks"),
        Scenario("offset-second-page", (mmap_op(0, 1, PROT_READ, offset_pages=1), fault_op(0)),
                 "offset 1 page maps the region's second page"),
        Scenario("offset-too-far", (mmap_op(0, 2, PROT_READ, offset_pages=1),),
                 "offset 1 page + 2 pages overruns the region: EINVAL"),
        Scenario("private-writable", (mmap_op(0, 2, RW, flags=MAP_PRIVATE), fault_op(0)),
                 "MAP_PRIVATE may be writable; a COW PFN mapping gets pgoff = pfn"),
        Scenario("fork-dontcopy", (mmap_op(0, 2, PROT_READ), fork_op(), child_exit_op(),
                                   exit_op()),
                 "VM_DONTCOPY: the fork child does not inherit the mapping"),
        Scenario("adjacent-same-file", (mmap_op(0, 1, PROT_READ),
                                        mmap_op(1, 1, PROT_READ, offset_pages=1), exit_op()),
                 "two mappings of consecutive offsets: VM_PFNMAP|VM_IO never merge"),
        Scenario("next-to-anon", (anon_neighbour_op(0, 1), mmap_op(1, 2, PROT_READ)),
                 "an anonymous neighbour"),
        Scenario("split-by-munmap", (mmap_op(0, 2, PROT_READ), munmap_op(1, 1), fault_op(0)),
                 "unmapping the second page splits the VMA; the first page stays mapped"),
        Scenario("remap-fails-after-hook", (mmap_op(0, 2, PROT_READ),), inject=("pte_alloc", 1),
                 note="the page-table allocation of the remap fails (ENOMEM)"),
        Scenario("action-fails-after-insert", (mmap_op(0, 2, PROT_READ),),
                 inject=("mmap_action_complete", 1),
                 note="the action fails once the VMA is in the tree (legacy: ->mmap fails)"),
        Scenario("tree-prealloc-fails", (mmap_op(0, 2, PROT_READ),),
                 inject=("vma_iter_prealloc", 1),
                 note="the maple-tree preallocation fails before the VMA is inserted"),
    ),
    intended={},
    mutants=MUTANTS,
)
