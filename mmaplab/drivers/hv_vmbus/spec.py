"""hv_vmbus: the scenarios the harness runs, the mutants (realistic wrong conversions)
and the ``SPEC`` (see :mod:`mmaplab.drivers.hv_vmbus.model` for the driver)."""

from __future__ import annotations

from ...kernel.flags import MAP_PRIVATE, PROT_READ, PROT_WRITE
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
from .mutants import MUTANTS
from .ring import VmbusRing

RW = PROT_READ | PROT_WRITE
RING = 4  # ringbuffer_pagecount with the default sizes

SPEC = DriverSpec(
    name="hv_vmbus",
    kernel_files=("drivers/hv/vmbus_drv.c", "drivers/hv/hyperv_vmbus.h",
                  "include/linux/hyperv.h", "fs/kernfs/file.c"),
    kernel_version="Linux 7.0 (legacy) / v4 18/21 with 619eab23e1ce (prepare)",
    make=lambda variant: VmbusRing(variant),
    scenarios=(
        Scenario("map-ring", (mmap_op(0, RING, RW), fault_op(0), fault_op(RING - 1, write=True),
                              munmap_op(0, RING)),
                 "the whole ring (send + receive), remapped as I/O memory"),
        Scenario("map-ring-offset", (mmap_op(0, 2, RW, offset_pages=2), fault_op(1)),
                 "the receive half: here the offset is a page offset into the ring"),
        Scenario("offset-runs-past-ring", (mmap_op(0, 2, RW, offset_pages=3),),
                 "offset 3 + 2 pages > 4: EINVAL"),
        Scenario("offset-beyond-ring", (mmap_op(0, 1, RW, offset_pages=RING + 1),),
                 "offset past the ring: EINVAL"),
        Scenario("too-big", (mmap_op(0, RING + 1, RW),), "5 pages of a 4-page ring: EINVAL"),
        Scenario("private-writable", (mmap_op(0, RING, RW, flags=MAP_PRIVATE), fault_op(0)),
                 "COW: the remap covers the whole VMA, pgoff becomes the pfn"),
        Scenario("two-mappings-same-file", (mmap_op(0, 2, RW), mmap_op(2, 2, RW, offset_pages=2),
                                            fault_op(3)),
                 "two mappings through one open file, side by side with linear offsets: "
                 "VM_PFNMAP keeps them apart; kernfs accepts the second (same vm_ops)"),
        Scenario("next-to-anon", (anon_neighbour_op(0), mmap_op(1, RING, RW)),
                 "an anonymous neighbour"),
        Scenario("fork", (mmap_op(0, RING, RW), fork_op(), child_exit_op(), exit_op()),
                 "PFN mappings are copied to the child"),
        Scenario("split-by-munmap", (mmap_op(0, RING, RW), munmap_op(1), fault_op(2)),
                 "kernfs_vm_ops->open forwards nothing (the ring has no vm_ops)"),
        Scenario("mprotect", (mmap_op(0, RING, RW), mprotect_op(2, 2, PROT_READ), fault_op(3)),
                 "read-only receive half"),
        Scenario("remap-fails", (mmap_op(0, RING, RW),), inject=("pte_alloc", 1),
                 note="the ring's page tables cannot be allocated: ENOMEM either way"),
        Scenario("compat-complete-fails", (mmap_op(0, RING, RW),),
                 inject=("mmap_action_complete", 1),
                 note="the compat layer's action step fails (for the legacy driver the "
                      "harness fails its ->mmap instead): -ENOMEM and nothing left behind"),
    ),
    intended={},
    mutants=MUTANTS,
)
