"""uio_hv_generic: the scenarios the harness runs, the mutants (realistic wrong conversions)
and the ``SPEC`` (see :mod:`mmaplab.drivers.uio_hv_generic.model` for the driver)."""

from __future__ import annotations

from ...kernel.flags import MAP_PRIVATE, PROT_READ, PROT_WRITE
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
    RECV_PAGES,
    SEND_PAGES,
    HvUioDevice,
)
from .mutants import MUTANTS

# -- mutants: wrong conversions of the callback ------------------------------------------------

RW = PROT_READ | PROT_WRITE
RING = SEND_PAGES + RECV_PAGES

SPEC = DriverSpec(
    name="uio_hv_generic",
    kernel_files=("drivers/uio/uio_hv_generic.c", "drivers/hv/vmbus_drv.c"),
    kernel_version="Linux 7.0 (legacy) / v4 18/21 with 619eab23e1ce (prepare)",
    make=lambda variant: HvUioDevice(variant),
    scenarios=(
        Scenario("map-subchannel-ring", (mmap_op(0, RING, RW), fault_op(0),
                                         fault_op(1, write=True), exit_op()),
                 "the subchannel's whole ring"),
        Scenario("map-receive-ring", (mmap_op(0, RECV_PAGES, RW, offset_pages=SEND_PAGES),
                                      fault_op(0)),
                 "offset = the send ring's size: the receive ring only"),
        Scenario("too-big", (mmap_op(0, RING + 1, RW),),
                 "more than ringbuffer_pagecount pages: EINVAL"),
        Scenario("offset-runs-past-ring", (mmap_op(0, 2, RW, offset_pages=3),),
                 "offset 3 + 2 pages > 4: EINVAL"),
        Scenario("offset-beyond-ring", (mmap_op(0, 1, RW, offset_pages=RING + 2),),
                 "EINVAL"),
        Scenario("two-mappings-same-file", (mmap_op(0, 2, RW), mmap_op(2, 2, RW, offset_pages=2),
                                            munmap_op(0, 4)),
                 "two adjacent mappings through the same open file: two VMAs"),
        Scenario("private-read", (mmap_op(0, RING, PROT_READ, flags=MAP_PRIVATE), fault_op(2)),
                 "a private mapping of a file open for writing is a COW mapping"),
        Scenario("fork", (mmap_op(0, RING, RW), fork_op(), child_exit_op(), munmap_op(0, RING)),
                 "the child gets a copy of the PFN mapping"),
        Scenario("split-by-munmap", (mmap_op(0, RING, RW), munmap_op(0, 2), fault_op(3)),
                 "unmap the send half"),
        Scenario("mprotect", (mmap_op(0, RING, RW), mprotect_op(0, RING, PROT_READ),
                              fault_op(0)),
                 "the whole ring read-only"),
        Scenario("remap-fails", (mmap_op(0, RING, RW),), inject=("pte_alloc", 1),
                 note="ENOMEM while filling the page tables"),
        Scenario("compat-complete-fails", (mmap_op(0, RING, RW),),
                 inject=("mmap_action_complete", 1),
                 note="the compat layer's action step fails (legacy: its ->mmap fails): "
                      "-ENOMEM either way"),
    ),
    intended={},
    mutants=MUTANTS,
)
