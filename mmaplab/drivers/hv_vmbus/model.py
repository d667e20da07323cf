"""drivers/hv/vmbus_drv.c: the per-channel sysfs "ring" file, before and after the series.

Models the vmbus side of v4 18/21 "drivers: hv: vmbus: replace deprecated mmap hook
with mmap_prepare" (drivers/hv/vmbus_drv.c, drivers/hv/hyperv_vmbus.h,
include/linux/hyperv.h) and the sysfs/kernfs code every bin-attribute mmap passes
through (``kernfs_fop_mmap()`` and ``kernfs_vm_ops`` in fs/kernfs/file.c,
``sysfs_kf_bin_mmap()`` in fs/sysfs/file.c):

* ``legacy`` (Linux 7.0): ``struct vmbus_channel`` has ``mmap_ring_buffer(channel, vma)``
  and ``hv_mmap_ring_buffer_wrapper()`` just calls it;
* ``prepare`` (v4 18/21): the callback is ``mmap_prepare_ring_buffer(channel, desc)``.
  The bin attribute keeps its legacy ``.mmap``, so the wrapper is a *stacked* caller
  (v4 17/21): ``compat_set_desc_from_vma()``, the callback, ``__compat_vma_mmap()``.

The only callback in the tree is uio_hv_generic's ``hv_uio_ring_mmap[_prepare]`` (see
:mod:`mmaplab.drivers.uio_hv_generic`), which this module's :data:`SPEC` uses on the
primary channel; that module's SPEC exercises the callback itself on a subchannel.

State: the channel's ring buffer (one block of contiguous pages from ``vmbus_open()``),
``ringbuffer_pagecount`` (send + receive rings), ``state``, the callback pointer and
``ring_sysfs_visible`` (``hv_create_ring_sysfs()``/``hv_remove_ring_sysfs()``).  The
ring sizes are scaled down (2 + 2 pages instead of 2 MiB + 2 MiB).
"""

from __future__ import annotations

import enum
import errno
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ...kernel.compat import __compat_vma_mmap, compat_set_desc_from_vma
from ...kernel.errors import kerr
from ...kernel.filemap import VM_FAULT_SIGBUS
from ...kernel.flags import PAGE_SHIFT
from ...kernel.fs import File, FileOperations, FMode, Inode
from ...kernel.hooks import HookPointer, call_hook, call_void_hook
from ...kernel.locks import RwSemaphore
from ...kernel.mm_types import VmAreaDesc, VmAreaStruct, VmFault, VmOperationsStruct
from ...kernel.page_alloc import Page
from ..uio import kmalloc_pages


class VmbusChannelState(enum.IntEnum):
    """``enum vmbus_channel_state`` (include/linux/hyperv.h)."""

    CHANNEL_OFFER_STATE = 0
    CHANNEL_OPENING_STATE = 1
    CHANNEL_OPEN_STATE = 2
    CHANNEL_OPENED_STATE = 3


@dataclass(eq=False)
class VmbusChannel:
    """``struct vmbus_channel``: the fields the ring mmap path uses."""

    device: str
    relid: int
    state: VmbusChannelState = VmbusChannelState.CHANNEL_OFFER_STATE
    ringbuffer_page: Page | None = None
    ringbuffer_pages: list[Page] = field(default_factory=list)
    ringbuffer_pagecount: int = 0
    #: legacy: ``int (*mmap_ring_buffer)(channel, vma)``
    mmap_ring_buffer: Callable[[VmbusChannel, VmAreaStruct], int] | None = None
    #: v4 18/21: ``int (*mmap_prepare_ring_buffer)(channel, desc)``
    mmap_prepare_ring_buffer: Callable[[VmbusChannel, VmAreaDesc], int] | None = None
    ring_sysfs_visible: bool = False
    ring_inode: Inode | None = None

    def __setattr__(self, attr: str, value: Any) -> None:
        # The ring attribute's wrapper calls the callback itself: a hook of its own.
        if attr == "mmap_prepare_ring_buffer":
            value = HookPointer.wrap("vmbus_channel.ring->mmap_prepare", value)
        object.__setattr__(self, attr, value)

    def sysfs_path(self) -> str:
        return f"/sys/bus/vmbus/devices/{self.device}/channels/{self.relid}/ring"

    def container_of(self, type_name: str, member: str) -> VmbusChannel:
        """``container_of(kobj, struct vmbus_channel, kobj)``: the model hands the channel
        itself to the ring attribute as its ``kobj``."""
        if (type_name, member) != ("struct vmbus_channel", "kobj"):
            raise LookupError(f"a vmbus channel's kobj is not the {member} of {type_name}")
        return self


def vmbus_open(channel: VmbusChannel, send_pages: int, recv_pages: int) -> None:
    """``vmbus_open()``: one contiguous block for both rings, then OPENED."""
    _, pages = kmalloc_pages(send_pages + recv_pages, "hv-ring")
    channel.ringbuffer_pages = pages
    channel.ringbuffer_page = pages[0]
    channel.ringbuffer_pagecount = send_pages + recv_pages
    channel.state = VmbusChannelState.CHANNEL_OPENED_STATE


def vmbus_close(channel: VmbusChannel) -> None:
    """``vmbus_close()``: the channel leaves the OPENED state (the rings stay allocated here)."""
    channel.state = VmbusChannelState.CHANNEL_OPEN_STATE


def hv_create_ring_sysfs(channel: VmbusChannel, fn: Callable[..., int], converted: bool) -> int:
    """``hv_create_ring_sysfs()``: set the callback, then make "ring" visible."""
    if converted:
        channel.mmap_prepare_ring_buffer = fn
    else:
        channel.mmap_ring_buffer = fn
    channel.ring_sysfs_visible = True
    if channel.ring_inode is None:
        channel.ring_inode = Inode(channel.sysfs_path(), channel.ringbuffer_pagecount << PAGE_SHIFT,
                                   dev=(0, 0x17))
    return 0


def hv_remove_ring_sysfs(channel: VmbusChannel) -> None:
    """``hv_remove_ring_sysfs()``: hide "ring", then clear the callback."""
    channel.ring_sysfs_visible = False
    channel.mmap_ring_buffer = None
    channel.mmap_prepare_ring_buffer = None


# -- kernfs / sysfs -----------------------------------------------------------------------------

@dataclass(eq=False)
class KernfsOpenFile:
    """``struct kernfs_open_file`` of an open bin attribute (``kernfs_of(file)``)."""

    channel: VmbusChannel
    mutex: RwSemaphore = field(default_factory=lambda: RwSemaphore("&of->mutex", "kernfs_of"))
    mmapped: bool = False
    vm_ops: VmOperationsStruct | None = None
    has_mmap: bool = True  # KERNFS_HAS_MMAP
    active: bool = True  # kernfs_get_active() succeeds while the node is not removed


def hv_mmap_ring_buffer_wrapper(self: VmbusDrv, filp: File, kobj: VmbusChannel, attr: str,
                                vma: VmAreaStruct) -> int:
    """``hv_mmap_ring_buffer_wrapper()`` (v4 18/21): the ring attribute's ``->mmap`` calls
    the channel's converted callback through the compat layer (v4 17/21)."""
    channel = kobj  # container_of(kobj, struct vmbus_channel, kobj)
    desc = compat_set_desc_from_vma(filp, vma)
    err = channel.mmap_prepare_ring_buffer(channel, desc)  # type: ignore[misc]  # set by then
    if err:
        return err
    return __compat_vma_mmap(desc, vma)


class VmbusDrv:
    """The vmbus driver's ring attribute in one variant, with kernfs around it.

    A class only so that mutants can replace the wrapper.
    """

    def __init__(self, converted: bool) -> None:
        self.converted = converted
        self.fops = FileOperations(name="kernfs_file_fops", mmap=self.kernfs_fop_mmap)
        self.kernfs_vm_ops = VmOperationsStruct(name="kernfs_vm_ops", open=self.kernfs_vma_open,
                                                fault=self.kernfs_vma_fault)

    def open_ring(self, channel: VmbusChannel, mode: FMode) -> File:
        """``open()`` of the sysfs "ring" file; ENOENT while it is hidden."""
        if not channel.ring_sysfs_visible or channel.ring_inode is None:
            raise kerr(errno.ENOENT, f"{channel.sysfs_path()}: no such file (ring not visible)")
        return File(channel.ring_inode, self.fops, mode, private_data=KernfsOpenFile(channel))

    # -- fs/kernfs/file.c -------------------------------------------------------------
    def kernfs_fop_mmap(self, file: File, vma: VmAreaStruct) -> int:
        """``kernfs_fop_mmap()``: the bin attribute's mmap, then wrap its vm_ops."""
        of: KernfsOpenFile = file.private_data
        if not of.has_mmap:
            return -errno.ENODEV
        of.mutex.down_write("kernfs_fop_mmap")
        try:
            if not of.active:
                return -errno.ENODEV
            rc = self.sysfs_kf_bin_mmap(of, file, vma)
            if rc:
                return rc
            if vma.vm_file is not file:
                return rc
            if of.mmapped and of.vm_ops is not vma.vm_ops:
                return -errno.EINVAL
            if vma.vm_ops is not None and vma.vm_ops.close is not None:
                return -errno.EINVAL
            if not of.mmapped:
                of.mmapped = True
                of.vm_ops = vma.vm_ops
            vma.vm_ops = self.kernfs_vm_ops
            return 0
        finally:
            of.mutex.up_write()

    def sysfs_kf_bin_mmap(self, of: KernfsOpenFile, file: File, vma: VmAreaStruct) -> int:
        """``sysfs_kf_bin_mmap()``: ``battr->mmap(of->file, kobj, battr, vma)``."""
        wrapper = (self.hv_mmap_ring_buffer_wrapper if self.converted
                   else self.hv_mmap_ring_buffer_wrapper_legacy)
        return call_hook("chan_attr_ring_buffer->mmap", wrapper, file, of.channel, "ring", vma)

    @staticmethod
    def kernfs_vma_open(vma: VmAreaStruct) -> None:
        """``kernfs_vma_open()``: forward to the attribute's own ``open``, if any."""
        assert vma.vm_file is not None  # a kernfs VMA maps its open file
        of: KernfsOpenFile = vma.vm_file.private_data
        if of.vm_ops is not None and of.vm_ops.open is not None:
            call_void_hook(f"{of.vm_ops.name}->open", of.vm_ops.open, vma)

    @staticmethod
    def kernfs_vma_fault(vmf: VmFault) -> int:
        """``kernfs_vma_fault()``: forward to the attribute's ``fault``, else SIGBUS."""
        assert vmf.vma.vm_file is not None  # a kernfs VMA maps its open file
        of: KernfsOpenFile = vmf.vma.vm_file.private_data
        if of.vm_ops is None or of.vm_ops.fault is None:
            return VM_FAULT_SIGBUS
        return call_hook(f"{of.vm_ops.name}->fault", of.vm_ops.fault, vmf, vm_fault=True)

    # -- drivers/hv/vmbus_drv.c --------------------------------------------------------
    def hv_mmap_ring_buffer_wrapper_legacy(self, filp: File, kobj: VmbusChannel, attr: str,
                                           vma: VmAreaStruct) -> int:
        """``hv_mmap_ring_buffer_wrapper()`` before the series: the channel's ``->mmap``."""
        channel = kobj  # container_of(kobj, struct vmbus_channel, kobj)
        assert channel.mmap_ring_buffer is not None
        return call_hook("vmbus_channel.ring->mmap", channel.mmap_ring_buffer, channel, vma)

    #: ``hv_mmap_ring_buffer_wrapper()`` after v4 18/21 (written at module level, where
    #: ``__compat_vma_mmap`` is not name-mangled): the one reference answer of exercise 11.
    hv_mmap_ring_buffer_wrapper = hv_mmap_ring_buffer_wrapper
