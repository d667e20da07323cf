"""drivers/target/target_core_user.c (tcmu): the only ``uio_info`` mmap override.

Models ``tcmu_mmap()`` (legacy, Linux 7.0 before the series; source: the pre-series
target_core_user.c whose lines v4 19/21 shows as context), ``tcmu_mmap_prepare()`` and
``tcmu_vma_mapped()`` (after v4 19/21 "uio: replace deprecated mmap hook with
mmap_prepare in uio_info"), and the unchanged ``tcmu_vma_open()``,
``tcmu_vma_close()``, ``tcmu_vma_fault()``, ``tcmu_find_mem_index()``,
``tcmu_open()``/``tcmu_release()`` and the parts of ``tcmu_configure_device()`` the
mapping depends on.

State: ``udev->kref`` (1 from allocation + 1 taken by ``tcmu_configure_device``, +1
per live VMA), ``udev->mmap_pages`` (the exact size userspace must map),
``uio_info.mem[0]`` (memtype UIO_MEM_NONE, so uio core could not map it itself), the
vzalloc'ed mailbox + command ring, and the data pages (allocated as commands need them;
a missing one is SIGBUS).

The sizes are scaled down (default 2 pages of mailbox/command ring, 4 data pages,
instead of 8 MiB + 1 GiB) so page tables stay small; the arithmetic is the kernel's.

The series moves ``kref_get()`` from the end of the legacy hook (via
``tcmu_vma_open()``) to ``vm_ops->mapped``.  Under v4 as posted that breaks every
mmap (``__vma_check_mmap_hook()`` refuses a legacy ``->mmap`` that leaves ``mapped``
set: EINVAL plus a WARN) *after* ``mapped`` already took the reference, which is
leaked because the failed VMA never gets ``close``.  Use ``MM(config=V4)`` to see it.
"""

from __future__ import annotations

import errno
from typing import Any

from ...kernel.errors import HookError
from ...kernel.filemap import VM_FAULT_SIGBUS
from ...kernel.flags import PAGE_SHIFT, PAGE_SIZE, VMFlag
from ...kernel.fs import File, FMode, Inode
from ...kernel.mm_types import (
    Ref,
    VmAreaDesc,
    VmAreaStruct,
    VmFault,
    VmOperationsStruct,
    vma_desc_set_flags,
    vma_pages,
)
from ...kernel.page_alloc import Page, alloc_pages
from ...kernel.vma_flags import VMA_DONTDUMP_BIT, VMA_DONTEXPAND_BIT
from ..base import (
    Driver,
)
from ..uio import (
    MAX_UIO_MAPS,
    UIO_MEM_NONE,
    UioCore,
    UioDevice,
    UioInfo,
    UioMem,
    vmalloc_to_page,
    vzalloc_pages,
)

#: ``CMDR_OFF`` = ``sizeof(struct tcmu_mailbox)``: the command ring starts after it.
CMDR_OFF = 64
#: ``TCMU_VERSION`` reported as the uio_info version.
TCMU_VERSION = "2.0"


class TcmuDev(Driver):
    """``struct tcmu_dev`` with its embedded ``uio_info``, configured and registered.

    ``cmdr_pages``: mailbox + command ring (``MB_CMDR_SIZE``), ``data_pages``: data area;
    ``udev->mmap_pages`` is their sum.  ``populated_data_pages`` data pages exist from the
    start (as if a command had been queued); faults beyond them are SIGBUS.
    """

    name = "target_core_user"

    def __init__(self, variant: str = "prepare", *, cmdr_pages: int = 2, data_pages: int = 4,
                 populated_data_pages: int = 1) -> None:
        super().__init__(variant)
        self.core = UioCore(variant == "prepare")
        self.kref = 1  # kref_init() in tcmu_alloc_device()
        self.freed = False
        self.dev_open = False  # TCMU_DEV_BIT_OPEN
        self.cmdr_size = cmdr_pages * PAGE_SIZE - CMDR_OFF
        self.data_off = cmdr_pages * PAGE_SIZE  # CMDR_OFF + cmdr_size
        self.data_size = data_pages * PAGE_SIZE
        self.mb_addr, self.mb_pages = vzalloc_pages(cmdr_pages, "tcmu-cmdr")
        self.data_area: dict[int, Page] = {}
        for dpi, page in enumerate(alloc_pages(populated_data_pages, "tcmu-data")):
            self.data_area[dpi] = page
        self.vm_ops = self.make_vm_ops()
        info = UioInfo("tcm-user", TCMU_VERSION, open=self.tcmu_open,
                       release=self.tcmu_release)
        if variant == "legacy":
            info.mmap = self.tcmu_mmap
        else:
            info.mmap_prepare = self.tcmu_mmap_prepare
        self.uio_info = info
        self.tcmu_configure_device()
        self.idev = UioDevice(info, 0)

    def make_vm_ops(self) -> VmOperationsStruct:
        """``tcmu_vm_ops``: open/close/fault, plus ``mapped`` after v4 19/21."""
        if self.variant == "legacy":
            return VmOperationsStruct(name="tcmu_vm_ops", open=self.tcmu_vma_open,
                                      close=self.tcmu_vma_close, fault=self.tcmu_vma_fault)
        return VmOperationsStruct(name="tcmu_vm_ops", open=self.tcmu_vma_open,
                                  close=self.tcmu_vma_close, mapped=self.tcmu_vma_mapped,
                                  fault=self.tcmu_vma_fault)

    def tcmu_configure_device(self) -> None:
        """``tcmu_configure_device()``: mem[0] (UIO_MEM_NONE), ``mmap_pages``, one kref."""
        size = self.data_size + self.cmdr_size + CMDR_OFF
        self.uio_info.mem[0] = UioMem("tcm-user command & data buffer", self.mb_addr, size,
                                      UIO_MEM_NONE)
        self.mmap_pages = size >> PAGE_SHIFT
        # "in case userspace does a close on the uio device before LIO has initiated
        # tcmu_free_device": the device holds a reference of its own.
        self.kref_get()

    # -- kref ------------------------------------------------------------------------------
    def kref_get(self) -> None:
        if self.freed:
            raise HookError("tcmu", "use-after-free: kref_get on a released tcmu_dev",
                            errno.EFAULT)
        self.kref += 1

    def kref_put(self) -> None:
        """``kref_put(&udev->kref, tcmu_dev_kref_release)``."""
        if self.freed or self.kref <= 0:
            raise HookError("tcmu_vm_ops->close", "refcount_t: underflow; use-after-free of "
                            "the tcmu_dev", errno.EFAULT)
        self.kref -= 1
        if self.kref == 0:
            self.freed = True
            self.log.append("tcmu_dev_kref_release")

    # -- device node ----------------------------------------------------------------------
    def open(self, mode: FMode = FMode.READ | FMode.WRITE) -> File:
        """``open("/dev/uio0")`` through ``uio_open()`` → ``tcmu_open()`` (single opener)."""
        return self.core.uio_open(self.idev, mode)

    def tcmu_open(self, info: UioInfo, inode: Inode) -> int:
        """``tcmu_open()``: ``test_and_set_bit(TCMU_DEV_BIT_OPEN)`` or EBUSY."""
        if self.dev_open:
            return -errno.EBUSY
        self.dev_open = True
        return 0

    def tcmu_release(self, info: UioInfo, inode: Inode) -> int:
        """``tcmu_release()``: clear TCMU_DEV_BIT_OPEN."""
        self.dev_open = False
        return 0

    def observe(self) -> dict[str, Any]:
        return {"kref": self.kref, "freed": self.freed}

    # -- the hook ----------------------------------------------------------------------------
    def tcmu_mmap(self, info: UioInfo, vma: VmAreaStruct) -> int:
        """``tcmu_mmap()`` (pre-series ``uio_info->mmap``): set up the VMA, exact size
        (EINVAL), then ``tcmu_vma_open()`` takes the reference."""
        vma.vm_flags |= VMFlag.DONTEXPAND | VMFlag.DONTDUMP
        vma.vm_ops = self.vm_ops
        vma.vm_private_data = self
        if vma_pages(vma) != self.mmap_pages:
            return -errno.EINVAL
        self.tcmu_vma_open(vma)
        return 0

    def tcmu_mmap_prepare(self, info: UioInfo, desc: VmAreaDesc) -> int:
        """``tcmu_mmap_prepare()`` (v4 19/21): the same on the descriptor, no reference."""
        vma_desc_set_flags(desc, VMA_DONTEXPAND_BIT, VMA_DONTDUMP_BIT)
        desc.vm_ops = self.vm_ops
        desc.private_data = self
        if (desc.end - desc.start) >> PAGE_SHIFT != self.mmap_pages:
            return -errno.EINVAL
        return 0

    # -- vm_ops ---------------------------------------------------------------------------------
    def tcmu_vma_open(self, vma: VmAreaStruct) -> None:
        """``tcmu_vma_open()``: ``kref_get(&udev->kref)`` (legacy mmap, split, fork)."""
        udev = _udev(vma.vm_private_data, "tcmu_vm_ops->open")
        udev.log.append("vma_open: kref_get")
        udev.kref_get()

    def tcmu_vma_close(self, vma: VmAreaStruct) -> None:
        """``tcmu_vma_close()``: ``kref_put``."""
        udev = _udev(vma.vm_private_data, "tcmu_vm_ops->close")
        udev.log.append("vma_close: kref_put")
        udev.kref_put()

    def tcmu_vma_mapped(self, start: int, end: int, pgoff: int, file: File,
                        vm_private_data: Ref) -> int:
        """``tcmu_vma_mapped()`` (v4 19/21): ``kref_get`` once the VMA is established."""
        udev = vm_private_data.value
        udev.kref_get()
        return 0

    @staticmethod
    def tcmu_find_mem_index(vma: VmAreaStruct) -> int:
        """``tcmu_find_mem_index()``: ``vm_pgoff`` as the uio map index."""
        udev: TcmuDev = vma.vm_private_data
        if vma.vm_pgoff < MAX_UIO_MAPS:
            if udev.uio_info.mem[vma.vm_pgoff].size == 0:
                return -1
            return vma.vm_pgoff
        return -1

    def tcmu_vma_fault(self, vmf: VmFault) -> int:
        """``tcmu_vma_fault()``: command-ring pages from vmalloc, data pages if allocated.

        (Data pages come back locked — VM_FAULT_LOCKED — which the model does not track.)
        """
        udev = _udev(vmf.vma.vm_private_data, "tcmu_vm_ops->fault")
        mi = self.tcmu_find_mem_index(vmf.vma)
        if mi < 0:
            return VM_FAULT_SIGBUS
        offset = (vmf.pgoff - mi) << PAGE_SHIFT
        if offset < udev.data_off:
            vmf.page = vmalloc_to_page(udev.uio_info.mem[mi].addr + offset)
            return 0
        dpi = (offset - udev.data_off) // PAGE_SIZE
        page = udev.data_area.get(dpi)  # tcmu_try_get_data_page()
        if page is None:
            return VM_FAULT_SIGBUS
        vmf.page = page
        return 0


def _udev(priv: Any, hook: str) -> TcmuDev:
    if not isinstance(priv, TcmuDev):
        raise HookError(hook, "BUG: kernel NULL pointer dereference: vm_private_data is "
                        f"{'NULL' if priv is None else type(priv).__name__}, not the "
                        "tcmu_dev", errno.EFAULT, "null-deref" if priv is None else "rule")
    return priv
