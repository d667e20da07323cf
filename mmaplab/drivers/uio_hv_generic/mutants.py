"""uio_hv_generic: realistic wrong conversions of the ring callback
``hv_uio_ring_mmap_prepare()``, each written once.

Each ``answer`` replaces the channel's ``mmap_prepare_ring_buffer`` callback (the
function exercise 13's learner writes); the harness's mutant check, the case study and
exercise 13's catalogue all read :data:`MUTANTS`.
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from typing import Any

from ...kernel.flags import PAGE_SHIFT, PAGE_SIZE
from ...kernel.mm_types import VmAreaDesc
from ...kernel.mmap_action import mmap_action_ioremap_full, mmap_action_simple_ioremap
from ...kernel.pgtable import pgprot_noncached
from ..base import Mutant
from ..hv_vmbus.model import VmbusChannel, VmbusChannelState
from ..uio.model import page_address, virt_to_phys
from .model import HvUioDevice, hv_uio_ring_mmap_prepare

__all__ = ["MUTANTS", "closed_with"]

_CALLBACK = "hv_uio_ring_mmap_prepare"


def closed_with(callback: Any) -> Callable[[], HvUioDevice]:
    """A device whose subchannel was closed while its "ring" file is open."""
    def make() -> HvUioDevice:
        dev = HvUioDevice("prepare", ring_callback=callback)
        dev.close_channel()
        return dev
    return make


def _ring(channel: VmbusChannel) -> int:
    assert channel.ringbuffer_page is not None
    return int(virt_to_phys(page_address(channel.ringbuffer_page)))


def _fixed_ring_size(channel: VmbusChannel, desc: VmAreaDesc) -> int:
    if channel.state != VmbusChannelState.CHANNEL_OPENED_STATE:
        return -errno.ENODEV
    # the old fixed "ring" size: 2 * HV_RING_SIZE pages
    mmap_action_simple_ioremap(desc, _ring(channel), 2 * 512 * PAGE_SIZE)
    return 0


def _ioremap_full(channel: VmbusChannel, desc: VmAreaDesc) -> int:
    assert channel.ringbuffer_page is not None
    if channel.state != VmbusChannelState.CHANNEL_OPENED_STATE:
        return -errno.ENODEV
    mmap_action_ioremap_full(desc, channel.ringbuffer_page.pfn)
    return 0


def _noncached(channel: VmbusChannel, desc: VmAreaDesc) -> int:
    err = hv_uio_ring_mmap_prepare(channel, desc)
    desc.page_prot = pgprot_noncached(desc.page_prot)  # "it is an I/O remap, after all"
    return err


def _no_state_check(channel: VmbusChannel, desc: VmAreaDesc) -> int:
    mmap_action_simple_ioremap(desc, _ring(channel),
                               channel.ringbuffer_pagecount << PAGE_SHIFT)
    return 0


def _pfn_as_phys(channel: VmbusChannel, desc: VmAreaDesc) -> int:
    assert channel.ringbuffer_page is not None
    if channel.state != VmbusChannelState.CHANNEL_OPENED_STATE:
        return -errno.ENODEV
    mmap_action_simple_ioremap(desc, channel.ringbuffer_page.pfn,  # a pfn, not an address
                               channel.ringbuffer_pagecount << PAGE_SHIFT)
    return 0


def _pages_as_bytes(channel: VmbusChannel, desc: VmAreaDesc) -> int:
    if channel.state != VmbusChannelState.CHANNEL_OPENED_STATE:
        return -errno.ENODEV
    mmap_action_simple_ioremap(desc, _ring(channel), channel.ringbuffer_pagecount)  # pages
    return 0


def _state_einval(channel: VmbusChannel, desc: VmAreaDesc) -> int:
    if channel.state != VmbusChannelState.CHANNEL_OPENED_STATE:
        return -errno.EINVAL  # "a closed channel is an invalid argument"
    mmap_action_simple_ioremap(desc, _ring(channel),
                               channel.ringbuffer_pagecount << PAGE_SHIFT)
    return 0


def _m(name: str, text: str, breaks: str, fn: Any, closed: bool = False) -> Mutant:
    if closed:
        def ref(variant: str) -> HvUioDevice:
            dev = HvUioDevice(variant)
            dev.close_channel()
            return dev
        return Mutant(name, text, closed_with(fn), breaks, {_CALLBACK: fn}, ref)
    return Mutant(name, text, lambda: HvUioDevice("prepare", ring_callback=fn), breaks,
                  {_CALLBACK: fn})


MUTANTS: tuple[Mutant, ...] = (
    _m("fixed-ring-size",
       "passes the old fixed ring size (2 * HV_RING_SIZE pages) instead of "
       "ringbuffer_pagecount: mappings past the end of the ring are accepted", "lost-check",
       _fixed_ring_size),
    _m("ioremap_full-ignores-offset",
       "uses mmap_action_ioremap_full() on the ring's first pfn: the offset is ignored (the "
       "receive ring maps the send ring) and nothing bounds the size", "range",
       _ioremap_full),
    _m("noncached",
       "makes the ring uncached as if it were device memory; it is ordinary RAM",
       "prot-extra", _noncached),
    _m("no-state-check",
       "drops the channel-state check: a closed channel's ring (which the host may already "
       "have taken back) is mapped instead of refusing with ENODEV", "lost-check",
       _no_state_check, closed=True),
    _m("pfn-as-phys",
       "passes the ring's page frame number where simple_ioremap wants a physical address "
       "(virt_to_phys of the ring): the mapping shows low memory, not the ring", "range",
       _pfn_as_phys),
    _m("pages-as-bytes",
       "passes ringbuffer_pagecount as the size: simple_ioremap takes bytes, so the "
       "region is one page and every larger mapping is refused", "extra-refusal",
       _pages_as_bytes),
    _m("closed-channel-einval",
       "refuses a closed channel with EINVAL: the driver says ENODEV (the channel is "
       "gone), and user space sees the errno", "errno", _state_einval, closed=True),
)
