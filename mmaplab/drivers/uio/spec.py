"""uio: the scenarios the harness runs, the mutants (realistic wrong conversions)
and the ``SPEC`` (see :mod:`mmaplab.drivers.uio.model` for the driver)."""

from __future__ import annotations

from ...kernel.flags import (
    MAP_PRIVATE,
    PROT_READ,
    PROT_WRITE,
)
from ..base import (
    DriverSpec,
    Scenario,
    child_exit_op,
    exit_op,
    fault_op,
    fork_op,
    mmap_op,
    mprotect_op,
    munmap_op,
)
from .model import (
    UioPdrv,
)
from .mutants import MUTANTS

RW = PROT_READ | PROT_WRITE

SPEC = DriverSpec(
    name="uio",
    kernel_files=("drivers/uio/uio.c", "include/linux/uio_driver.h"),
    kernel_version="Linux 7.0 pre-series uio.c (legacy) / v4 19/21 (prepare)",
    make=lambda variant: UioPdrv(variant),
    scenarios=(
        Scenario("map-phys", (mmap_op(0, 1, RW), fault_op(0), munmap_op(0)),
                 "offset 0 selects mem[0]: uncached remap of the registers"),
        Scenario("phys-beyond-bytes", (mmap_op(0, 2, RW),),
                 "2 pages of a 6 KiB map: passes the page-rounded check, EINVAL from the "
                 "byte check of uio_mmap_physical"),
        Scenario("phys-too-many-pages", (mmap_op(0, 3, RW),),
                 "3 pages of a 2-page (rounded) map: EINVAL from uio_mmap's check"),
        Scenario("map-logical", (mmap_op(0, 2, RW, offset_pages=1), fault_op(0),
                                 fault_op(1, write=True), exit_op()),
                 "offset 1 selects mem[1]: kmalloc'ed pages faulted in one by one"),
        Scenario("map-virtual", (mmap_op(0, 2, RW, offset_pages=2), fault_op(1)),
                 "mem[2]: vmalloc pages"),
        Scenario("map-dma-coherent", (mmap_op(0, 2, RW, offset_pages=3), fault_op(0)),
                 "mem[3]: dma_mmap_coherent with vm_pgoff temporarily 0"),
        Scenario("unaligned-phys", (mmap_op(0, 1, RW, offset_pages=4),),
                 "mem[4] starts inside a page: ENODEV"),
        Scenario("no-such-map", (mmap_op(0, 1, RW, offset_pages=5),),
                 "offset 5 is beyond MAX_UIO_MAPS: EINVAL"),
        Scenario("adjacent-logical-virtual", (mmap_op(0, 1, RW, offset_pages=1),
                                              mmap_op(1, 1, RW, offset_pages=2),
                                              fault_op(0), fault_op(1)),
                 "mem[1] then mem[2] right after it, pgoffs linear: VM_DONTEXPAND keeps "
                 "them apart"),
        Scenario("fork-logical", (mmap_op(0, 2, RW, offset_pages=1), fault_op(0), fork_op(),
                                  child_exit_op(), munmap_op(0, 2)),
                 "the child's copy of a LOGICAL map"),
        Scenario("split-logical", (mmap_op(0, 2, RW, offset_pages=1), munmap_op(0),
                                   fault_op(1)),
                 "after the split the upper VMA's pgoff is 2: uio_find_mem_index picks mem[2] "
                 "(a quirk of using pgoff as an index, same before and after)"),
        Scenario("mprotect-phys", (mmap_op(0, 1, RW), mprotect_op(0, 1, PROT_READ),
                                   fault_op(0)),
                 "read-only after mprotect"),
        Scenario("private-phys", (mmap_op(0, 1, RW, flags=MAP_PRIVATE), fault_op(0)),
                 "a COW remap: pgoff becomes the pfn"),
        Scenario("remap-fails", (mmap_op(0, 1, RW),), inject=("pte_alloc", 1),
                 note="the remap's page-table allocation fails: ENOMEM"),
    ),
    intended={},
    mutants=MUTANTS,
)
