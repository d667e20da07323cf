"""uio_hv_generic: the scenarios the harness runs, the mutants (realistic wrong conversions)
and the ``SPEC`` (see :mod:`mmaplab.drivers.uio_hv_generic.model` for the driver)."""

from __future__ import annotations

import errno

from ...kernel.flags import MAP_PRIVATE, PAGE_SIZE, PROT_READ, PROT_WRITE
from ...kernel.mm_types import VmAreaDesc
from ...kernel.mmap_action import mmap_action_ioremap_full, mmap_action_simple_ioremap
from ...kernel.pgtable import pgprot_noncached
from ..base import (
    DriverSpec,
    Mutant,
    Scenario,
    child_exit_op,
    exit_op,
    fault_op,
    fork_op,
    mmap_op,
    mprotect_op,
    munmap_op,
)
from ..hv_vmbus.model import (
    VmbusChannel,
    VmbusChannelState,
)
from ..uio import (
    page_address,
    virt_to_phys,
)
from .model import (
    RECV_PAGES,
    SEND_PAGES,
    HvUioDevice,
    hv_uio_ring_mmap_prepare,
)

# -- mutants: wrong conversions of the callback ------------------------------------------------

def _fixed_ring_size(channel: VmbusChannel, desc: VmAreaDesc) -> int:
    """Uses the old fixed "ring" size (2 * HV_RING_SIZE pages) instead of the channel's."""
    assert channel.ringbuffer_page is not None
    if channel.state != VmbusChannelState.CHANNEL_OPENED_STATE:
        return -errno.ENODEV
    mmap_action_simple_ioremap(desc, virt_to_phys(page_address(channel.ringbuffer_page)),
                               2 * 512 * PAGE_SIZE)
    return 0


def _ioremap_full(channel: VmbusChannel, desc: VmAreaDesc) -> int:
    """Uses ``mmap_action_ioremap_full()`` on the ring's first pfn: no offset, no bounds."""
    assert channel.ringbuffer_page is not None
    if channel.state != VmbusChannelState.CHANNEL_OPENED_STATE:
        return -errno.ENODEV
    mmap_action_ioremap_full(desc, channel.ringbuffer_page.pfn)
    return 0


def _noncached(channel: VmbusChannel, desc: VmAreaDesc) -> int:
    """Adds ``pgprot_noncached()`` "because it is an I/O remap": the ring is ordinary RAM."""
    err = hv_uio_ring_mmap_prepare(channel, desc)
    desc.page_prot = pgprot_noncached(desc.page_prot)
    return err


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
    mutants=(
        Mutant("fixed-ring-size",
               "passes the old fixed ring size (2 * HV_RING_SIZE pages) instead of "
               "ringbuffer_pagecount: mappings past the end of the ring are accepted",
               lambda: HvUioDevice("prepare", ring_callback=_fixed_ring_size)),
        Mutant("ioremap_full-ignores-offset",
               "uses mmap_action_ioremap_full() on the ring's first pfn: the offset is "
               "ignored (the receive ring maps the send ring) and nothing bounds the size",
               lambda: HvUioDevice("prepare", ring_callback=_ioremap_full)),
        Mutant("noncached",
               "makes the ring uncached as if it were device memory; it is ordinary RAM",
               lambda: HvUioDevice("prepare", ring_callback=_noncached)),
    ),
)
