"""Exercise 04's device: a legacy ``->mmap`` that calls a converted per-device callback.

The stacked-caller pattern of v4 17/21 ("mm: allow handling of stacked mmap_prepare
hooks in more drivers"), as the hv vmbus ring attribute (drivers/hv/vmbus_drv.c) and
uio use it: the outer hook stays a legacy ``->mmap`` (its caller, kernfs, only knows
that), the inner per-device callback has been converted to take a ``vm_area_desc``.
The wrapper fills a descriptor from the VMA (``compat_set_desc_from_vma()``), runs the
callback, then lets ``__compat_vma_mmap()`` prepare the action, copy the descriptor
back into the VMA and complete the action (``mapped`` included) -- mm/util.c, v4.
"""

from __future__ import annotations

import errno
from collections.abc import Callable

from ...kernel.compat import __compat_vma_mmap, compat_set_desc_from_vma
from ...kernel.flags import PAGE_SHIFT
from ...kernel.fs import File, FileOperations
from ...kernel.memory import vm_iomap_memory
from ...kernel.mm_types import VmAreaStruct, VmOperationsStruct
from ...kernel.mmap_action import mmap_action_simple_ioremap
from ..base import CharDevice

__all__ = ["ChanDev", "chan_vm_ops", "chan_ring_mmap", "chan_ring_mmap_prepare",
           "chan_bin_mmap", "chan_bin_mmap_legacy", "RING_PHYS"]

RING_PHYS = 0x1_0000_0000


def chan_vm_mapped(start, end, pgoff, file, vm_private_data):
    file.private_data.users += 1
    return 0


def chan_vm_open(vma):
    vma.vm_file.private_data.users += 1


def chan_vm_close(vma):
    vma.vm_file.private_data.users -= 1


chan_vm_ops = VmOperationsStruct(name="chan_vm_ops", mapped=chan_vm_mapped, open=chan_vm_open,
                                 close=chan_vm_close)
_legacy_vm_ops = VmOperationsStruct(name="chan_vm_ops", open=chan_vm_open, close=chan_vm_close)


def chan_ring_mmap(chan, vma):
    """The legacy per-channel callback: ``mmap_ring(chan, vma)``."""
    if chan.state != "opened":
        return -errno.ENODEV
    vma.vm_ops = _legacy_vm_ops
    chan.users += 1
    return vm_iomap_memory(vma, chan.ring_phys, chan.ring_pages << PAGE_SHIFT)


def chan_ring_mmap_prepare(chan, desc):
    """The (given) converted per-channel callback: ``mmap_prepare_ring(chan, desc)``."""
    if chan.state != "opened":
        return -errno.ENODEV
    desc.vm_ops = chan_vm_ops
    mmap_action_simple_ioremap(desc, chan.ring_phys, chan.ring_pages << PAGE_SHIFT)
    return 0


class ChanDev(CharDevice):
    """A channel with a ring buffer, exposed through a legacy attribute file ``ring``.

    ``state`` is the channel's (``"opened"`` or ``"closed"``), ``ring_pages`` the ring's
    size at physical address ``ring_phys``.
    """

    name = "chan"
    path = "/sys/bus/chan/devices/chan0/ring"
    devno = (0, 23)

    def __init__(self, variant: str = "prepare", fops: FileOperations | None = None, *,
                 state: str = "opened", ring_phys: int = RING_PHYS,
                 ring_pages: int = 4) -> None:
        self.state = state
        self.ring_phys = ring_phys
        self.ring_pages = ring_pages
        self.users = 0
        #: The per-channel callback the attribute's ->mmap calls: the converted one
        #: takes a descriptor, ``mmap_prepare_ring(chan, desc)``.
        self.mmap_prepare_ring: Callable[..., int] | None = (
            chan_ring_mmap_prepare if variant == "prepare" else None)
        #: Before the series: ``mmap_ring(chan, vma)``.
        self.mmap_ring: Callable[..., int] | None = (
            chan_ring_mmap if variant == "legacy" else None)
        super().__init__(variant, fops)

    def file_operations(self, variant: str) -> FileOperations:
        hook = chan_bin_mmap_legacy if variant == "legacy" else chan_bin_mmap
        # Both variants are a legacy ->mmap: the caller (kernfs) only knows that one.
        return FileOperations(name="chan_ring_fops", mmap=hook)

    def observe(self) -> dict[str, object]:
        return {"users": self.users}


def chan_bin_mmap_legacy(file: File, vma: VmAreaStruct) -> int:
    """The attribute's ``->mmap`` before the series: the callback takes the VMA."""
    chan: ChanDev = file.private_data
    assert chan.mmap_ring is not None  # the legacy variant's
    return int(chan.mmap_ring(chan, vma))


# -- converted: the reference answer ------------------------------------------------------

def chan_bin_mmap(file: File, vma: VmAreaStruct) -> int:
    chan = file.private_data
    desc = compat_set_desc_from_vma(file, vma)
    err = chan.mmap_prepare_ring(chan, desc)
    if err:
        return err
    return __compat_vma_mmap(desc, vma)
