"""drivers/uio/uio_hv_generic.c: userspace VMBus devices and their ring-buffer mmap.

Models ``hv_uio_ring_mmap()`` (Linux 7.0, legacy ``vmbus_channel->mmap_ring_buffer``)
and ``hv_uio_ring_mmap_prepare()`` (v4 18/21 "drivers: hv: vmbus: replace deprecated
mmap hook with mmap_prepare", the ``mmap_prepare_ring_buffer`` callback), plus the parts
of ``hv_uio_probe()``/``hv_uio_new_channel()`` that set up what the mmap paths use:

* the channel's ring (``vmbus_open()``) is mappable two ways: through the sysfs "ring"
  file of each channel (the callback, via :mod:`mmaplab.drivers.hv_vmbus`), and as
  ``mem[0]`` ("txrx_rings", UIO_MEM_IOVA) of /dev/uioN through the uio core;
* ``mem[1]``/``mem[2]``, the interrupt and monitor pages, are UIO_MEM_LOGICAL.

The callback maps ``ringbuffer_pagecount`` pages with ``vm_iomap_memory()``
(legacy) or ``mmap_action_simple_ioremap()`` (converted); the offset is a page offset
into the ring; a channel that is not OPENED gives ENODEV.  :data:`SPEC` maps the ring
of a subchannel (registered by ``hv_uio_new_channel()``); its mutants are wrong
conversions of the callback.
"""

from __future__ import annotations

import errno
from typing import Any

from ...kernel.flags import PAGE_SHIFT, PAGE_SIZE
from ...kernel.fs import File, FMode
from ...kernel.memory import vm_iomap_memory
from ...kernel.mm_types import VmAreaDesc, VmAreaStruct
from ...kernel.mmap_action import mmap_action_simple_ioremap
from ..base import (
    Driver,
)
from ..hv_vmbus.model import (
    VmbusChannel,
    VmbusChannelState,
    VmbusDrv,
    hv_create_ring_sysfs,
    vmbus_close,
    vmbus_open,
)
from ..uio import (
    UIO_MEM_IOVA,
    UIO_MEM_LOGICAL,
    UioCore,
    UioDevice,
    UioInfo,
    UioMem,
    kmalloc_pages,
    page_address,
    virt_to_phys,
)

TXRX_RING_MAP, INT_PAGE_MAP, MON_PAGE_MAP = 0, 1, 2
#: Scaled-down ring sizes (HV_RING_SIZE is 512 pages per direction in the kernel).
SEND_PAGES = RECV_PAGES = 2


def hv_uio_ring_mmap(channel: VmbusChannel, vma: VmAreaStruct) -> int:
    """``hv_uio_ring_mmap()`` (Linux 7.0): ENODEV unless OPENED, then ``vm_iomap_memory``."""
    assert channel.ringbuffer_page is not None
    ring_buffer = page_address(channel.ringbuffer_page)
    if channel.state != VmbusChannelState.CHANNEL_OPENED_STATE:
        return -errno.ENODEV
    return vm_iomap_memory(vma, virt_to_phys(ring_buffer),
                           channel.ringbuffer_pagecount << PAGE_SHIFT)


def hv_uio_ring_mmap_prepare(channel: VmbusChannel, desc: VmAreaDesc) -> int:
    """``hv_uio_ring_mmap_prepare()`` (v4 18/21): the same check, then a simple ioremap."""
    ring_buffer = page_address(channel.ringbuffer_page)  # type: ignore[arg-type]  # set when opened
    if channel.state != VmbusChannelState.CHANNEL_OPENED_STATE:
        return -errno.ENODEV
    mmap_action_simple_ioremap(desc, virt_to_phys(ring_buffer),
                               channel.ringbuffer_pagecount << PAGE_SHIFT)
    return 0


class HvUioDevice(Driver):
    """A uio_hv_generic device after ``hv_uio_probe()``: primary channel + one subchannel.

    :meth:`open` returns the subchannel's sysfs "ring" file (``node="subchannel-ring"``,
    the default), the primary channel's (``"ring"``), or /dev/uioN (``"uio"``).
    ``ring_callback`` replaces the callback (mutants).
    """

    name = "uio_hv_generic"

    def __init__(self, variant: str = "prepare", *, node: str = "subchannel-ring",
                 vmbus: VmbusDrv | None = None, ring_callback: Any = None) -> None:
        super().__init__(variant)
        converted = variant == "prepare"
        self.node = node
        self.vmbus = vmbus if vmbus is not None else VmbusDrv(converted)
        if ring_callback is None:
            ring_callback = hv_uio_ring_mmap_prepare if converted else hv_uio_ring_mmap
        self.ring_callback = ring_callback
        guid = "f8615163-df3e-46c5-913f-f2d2f965ed0e"
        # hv_uio_probe(): open the primary channel, describe the maps, create "ring".
        self.channel = VmbusChannel(guid, 15)
        vmbus_open(self.channel, SEND_PAGES, RECV_PAGES)
        info = UioInfo("uio_hv_generic", "0.02.1")
        info.mem[TXRX_RING_MAP] = UioMem(
            "txrx_rings", virt_to_phys(page_address(self.channel.ringbuffer_pages[0])),
            self.channel.ringbuffer_pagecount << PAGE_SHIFT, UIO_MEM_IOVA)
        int_addr, self.int_pages = kmalloc_pages(1, "hv-int-page")
        info.mem[INT_PAGE_MAP] = UioMem("int_page", int_addr, PAGE_SIZE, UIO_MEM_LOGICAL)
        mon_addr, self.mon_pages = kmalloc_pages(1, "hv-monitor-page")
        info.mem[MON_PAGE_MAP] = UioMem("monitor_page", mon_addr, PAGE_SIZE, UIO_MEM_LOGICAL)
        self.core = UioCore(converted)
        self.idev = UioDevice(info, 1)
        hv_create_ring_sysfs(self.channel, ring_callback, converted)
        # hv_uio_new_channel(): a subchannel offered later, opened and given its "ring".
        self.subchannel = VmbusChannel(guid, 16)
        vmbus_open(self.subchannel, SEND_PAGES, RECV_PAGES)
        hv_create_ring_sysfs(self.subchannel, ring_callback, converted)

    def open(self, mode: FMode = FMode.READ | FMode.WRITE) -> File:
        if self.node == "uio":
            return self.core.uio_open(self.idev, mode)
        channel = self.channel if self.node == "ring" else self.subchannel
        return self.vmbus.open_ring(channel, mode)

    def close_channel(self, primary: bool = False) -> None:
        """The channel is closed (``vmbus_close()``) while its "ring" file is still open."""
        vmbus_close(self.channel if primary else self.subchannel)

    def observe(self) -> dict[str, Any]:
        ch = self.channel if self.node == "ring" else self.subchannel
        return {"ring_mapcounts": [p.mapcount for p in ch.ringbuffer_pages],
                "state": ch.state.name}
