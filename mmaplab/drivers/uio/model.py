"""drivers/uio/uio.c: the userspace-I/O core's ``uio_mmap``, before and after the series.

Models ``uio_mmap()``, ``uio_find_mem_index()``, ``uio_mmap_physical()``,
``uio_mmap_logical()``, ``uio_vma_fault()``, ``uio_mmap_dma_coherent()`` and
``uio_open()``/``uio_release()`` (drivers/uio/uio.c) plus ``struct uio_info``/``struct
uio_mem`` (include/linux/uio_driver.h):

* ``legacy``: Linux 7.0 before the series (pre-series uio.c with UIO_MEM_DMA_COHERENT,
  read from the Kingxukai/linux mirror @0291023e7330), where a driver may override the
  mapping with ``uio_info->mmap(info, vma)``;
* ``prepare``: after v4 19/21 "uio: replace deprecated mmap hook with mmap_prepare in
  uio_info": ``uio_fops`` keeps its legacy ``.mmap = uio_mmap``, but the override is now
  ``uio_info->mmap_prepare(info, desc)``, called through the compatibility layer
  (``compat_set_desc_from_vma()`` + the hook + ``__compat_vma_mmap()``), still under
  ``info_lock`` and after the core's own checks.

``vm_pgoff`` selects the map (``mem[vm_pgoff]``), it is not an offset.  The built-in
memory types are unchanged by the series: PHYS/IOVA remap the physical range (PHYS
uncached), LOGICAL/VIRTUAL fault kernel pages in one at a time, DMA_COHERENT goes
through ``dma_mmap_coherent()``.

Kernel virtual addresses are modelled too (:func:`kmalloc_pages`,
:func:`vzalloc_pages`, :func:`virt_to_page`, :func:`vmalloc_to_page`,
:func:`virt_to_phys`) so a ``uio_mem.addr`` means what it means in C.
"""

from __future__ import annotations

import errno
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ...kernel.compat import __compat_vma_mmap, compat_set_desc_from_vma
from ...kernel.errors import HookError, kerr
from ...kernel.filemap import VM_FAULT_SIGBUS
from ...kernel.flags import (
    PAGE_MASK,
    PAGE_SHIFT,
    PAGE_SIZE,
    VMFlag,
)
from ...kernel.fs import File, FileOperations, FMode, Inode
from ...kernel.hooks import HookPointer, call_hook
from ...kernel.locks import RwSemaphore
from ...kernel.memory import remap_pfn_range
from ...kernel.mm_types import VmAreaDesc, VmAreaStruct, VmFault, VmOperationsStruct, vma_pages
from ...kernel.page_alloc import Page, alloc_pages
from ...kernel.pgtable import pgprot_noncached
from ..base import (
    Driver,
)

#: ``UIO_MEM_*`` (include/linux/uio_driver.h).
UIO_MEM_NONE, UIO_MEM_PHYS, UIO_MEM_LOGICAL, UIO_MEM_VIRTUAL, UIO_MEM_IOVA, \
    UIO_MEM_DMA_COHERENT = range(6)
MEMTYPE_NAMES = ("NONE", "PHYS", "LOGICAL", "VIRTUAL", "IOVA", "DMA_COHERENT")
#: ``MAX_UIO_MAPS``.
MAX_UIO_MAPS = 5
#: The dynamic char major uio gets (as on a typical x86-64 box).
UIO_MAJOR = 243

# -- kernel virtual addresses (x86-64 layout) ----------------------------------------------

#: ``PAGE_OFFSET`` (``page_offset_base`` without KASLR): the direct map of RAM.
PAGE_OFFSET = 0xFFFF_8880_0000_0000
#: ``VMALLOC_START``.
VMALLOC_START = 0xFFFF_C900_0000_0000
_kmem: dict[int, Page] = {}
_vmalloc_next = itertools.count(0)


def kmalloc_pages(n: int, kind: str = "kernel") -> tuple[int, list[Page]]:
    """Physically contiguous kernel pages (``alloc_pages``/``kmalloc``), with their
    direct-map address (``page_address()``)."""
    pages = alloc_pages(n, kind)
    addr = PAGE_OFFSET + (pages[0].pfn << PAGE_SHIFT)
    for i, p in enumerate(pages):
        _kmem[addr + i * PAGE_SIZE] = p
    return addr, pages


def vzalloc_pages(n: int, kind: str = "vmalloc") -> tuple[int, list[Page]]:
    """``vzalloc()``: virtually contiguous pages in the vmalloc area."""
    pages = alloc_pages(n, kind)
    addr = VMALLOC_START + next(_vmalloc_next) * 0x100_0000
    for i, p in enumerate(pages):
        _kmem[addr + i * PAGE_SIZE] = p
    return addr, pages


def page_address(page: Page) -> int:
    """``page_address()``: direct-map address of a page."""
    return PAGE_OFFSET + (page.pfn << PAGE_SHIFT)


def virt_to_phys(addr: int) -> int:
    """``virt_to_phys()`` for direct-map addresses."""
    return addr - PAGE_OFFSET


def virt_to_page(addr: int) -> Page:
    """``virt_to_page()``: the page behind a direct-map address."""
    return _kmem[addr & PAGE_MASK]


def vmalloc_to_page(addr: int) -> Page:
    """``vmalloc_to_page()``: the page behind a vmalloc address."""
    return _kmem[addr & PAGE_MASK]


# -- structures ----------------------------------------------------------------------------------

@dataclass
class UioMem:
    """``struct uio_mem``: one map a UIO device exposes (``mem[N]`` at offset N pages)."""

    name: str = ""
    addr: int = 0
    size: int = 0
    memtype: int = UIO_MEM_NONE
    dma_addr: int = 0
    dma_device: str | None = None


@dataclass
class UioInfo:
    """``struct uio_info``: the driver's description; ``mmap`` (legacy) *or*
    ``mmap_prepare`` (after v4 19/21) overrides the core's mapping."""

    name: str
    version: str = "0.1"
    mem: list[UioMem] = field(default_factory=lambda: [UioMem() for _ in range(MAX_UIO_MAPS)])
    mmap: Callable[[UioInfo, VmAreaStruct], int | None] | None = None
    mmap_prepare: Callable[[UioInfo, VmAreaDesc], int | None] | None = None
    open: Callable[[UioInfo, Inode], int | None] | None = None
    release: Callable[[UioInfo, Inode], int | None] | None = None

    def __setattr__(self, attr: str, value: Any) -> None:
        # uio_mmap() calls info->mmap_prepare itself: the pointer is a hook of its own.
        if attr == "mmap_prepare":
            value = HookPointer.wrap(f"{self.name}->mmap_prepare", value)
        object.__setattr__(self, attr, value)


class UioDevice:
    """``struct uio_device`` (idev): ``info`` becomes NULL on ``uio_unregister_device()``."""

    def __init__(self, info: UioInfo, minor: int = 0) -> None:
        self.info: UioInfo | None = info
        self.minor = minor
        self.info_lock = RwSemaphore(f"&idev->info_lock (uio{minor})", "uio_device.info_lock")
        self.inode = Inode(f"/dev/uio{minor}", 0, dev=(UIO_MAJOR, minor))

    def __repr__(self) -> str:
        return f"<uio_device uio{self.minor}>"


@dataclass
class UioListener:
    """``struct uio_listener``: ``filep->private_data`` of an open /dev/uioN."""

    dev: UioDevice


def uio_mmap(self: UioCore, filep: File, vma: VmAreaStruct) -> int:
    """``uio_mmap()`` (v4 19/21): checks under ``info_lock``, then the driver's
    ``mmap_prepare`` override through the compat layer, or the memtype."""
    idev: UioDevice = filep.private_data.dev
    if vma.vm_end < vma.vm_start:
        return -errno.EINVAL
    vma.vm_private_data = idev
    idev.info_lock.down_write("uio_mmap")
    try:
        info = idev.info
        if info is None:
            return -errno.EINVAL
        mi = self.uio_find_mem_index(vma)
        if mi < 0:
            return -errno.EINVAL
        if not self.size_ok(vma, info.mem[mi]):
            return -errno.EINVAL
        if info.mmap_prepare is not None:
            desc = compat_set_desc_from_vma(filep, vma)
            ret = info.mmap_prepare(info, desc)
            if ret:
                return ret
            return __compat_vma_mmap(desc, vma)
        memtype = info.mem[mi].memtype
        if memtype in (UIO_MEM_IOVA, UIO_MEM_PHYS):
            return self.uio_mmap_physical(vma)
        if memtype in (UIO_MEM_LOGICAL, UIO_MEM_VIRTUAL):
            return self.uio_mmap_logical(vma)
        if memtype == UIO_MEM_DMA_COHERENT:
            return self.uio_mmap_dma_coherent(vma)
        return -errno.EINVAL
    finally:
        idev.info_lock.up_write()


class UioCore:
    """The uio core's file operations, in one variant (``converted`` = after v4 19/21).

    A class (not free functions) only so that mutants can override one step.
    """

    def __init__(self, converted: bool) -> None:
        self.converted = converted
        mmap = self.uio_mmap if converted else self.uio_mmap_legacy
        self.fops = FileOperations(name="uio_fops", mmap=mmap, release=self.uio_release)
        self.physical_vm_ops = VmOperationsStruct(name="uio_physical_vm_ops")
        self.logical_vm_ops = VmOperationsStruct(name="uio_logical_vm_ops",
                                                 fault=self.uio_vma_fault)
        self.warnings: list[str] = []

    # -- open/release --------------------------------------------------------------
    def uio_open(self, idev: UioDevice, mode: FMode) -> File:
        """``uio_open()``: a listener; ``info->open`` may refuse (raises OSError)."""
        file = File(idev.inode, self.fops, mode, private_data=UioListener(idev))
        idev.info_lock.down_write("uio_open")
        try:
            if idev.info is None:
                raise kerr(errno.EINVAL, f"uio{idev.minor}: device was unregistered")
            if idev.info.open is not None:
                ret = call_hook(f"{idev.info.name}->open", idev.info.open, idev.info,
                                idev.inode)
                if ret:
                    raise kerr(-ret, f"{idev.info.name}: open refused")
        finally:
            idev.info_lock.up_write()
        return file

    def uio_release(self, file: File) -> None:
        """``uio_release()``: ``info->release``."""
        idev = file.private_data.dev
        if idev.info is not None and idev.info.release is not None:
            idev.info.release(idev.info, idev.inode)

    # -- mmap ------------------------------------------------------------------------
    @staticmethod
    def uio_find_mem_index(vma: VmAreaStruct) -> int:
        """``uio_find_mem_index()``: ``vm_pgoff`` is the map number (or -1)."""
        idev: UioDevice = vma.vm_private_data
        if vma.vm_pgoff < MAX_UIO_MAPS:
            assert idev.info is not None
            if idev.info.mem[vma.vm_pgoff].size == 0:
                return -1
            return vma.vm_pgoff
        return -1

    def uio_mmap_legacy(self, filep: File, vma: VmAreaStruct) -> int:
        """``uio_mmap()`` before v4 19/21: checks under ``info_lock``, the driver's
        ``->mmap`` override, or the memtype."""
        idev: UioDevice = filep.private_data.dev
        if vma.vm_end < vma.vm_start:
            return -errno.EINVAL
        vma.vm_private_data = idev
        idev.info_lock.down_write("uio_mmap")
        try:
            info = idev.info
            if info is None:
                return -errno.EINVAL
            mi = self.uio_find_mem_index(vma)
            if mi < 0:
                return -errno.EINVAL
            if not self.size_ok(vma, info.mem[mi]):
                return -errno.EINVAL
            if info.mmap is not None:
                return call_hook(f"{info.name}->mmap", info.mmap, info, vma)
            memtype = info.mem[mi].memtype
            if memtype in (UIO_MEM_IOVA, UIO_MEM_PHYS):
                return self.uio_mmap_physical(vma)
            if memtype in (UIO_MEM_LOGICAL, UIO_MEM_VIRTUAL):
                return self.uio_mmap_logical(vma)
            if memtype == UIO_MEM_DMA_COHERENT:
                return self.uio_mmap_dma_coherent(vma)
            return -errno.EINVAL
        finally:
            idev.info_lock.up_write()

    @staticmethod
    def size_ok(vma: VmAreaStruct, mem: UioMem) -> bool:
        """``requested_pages <= actual_pages``, rounding the map up to whole pages."""
        requested = vma_pages(vma)
        actual = ((mem.addr & ~PAGE_MASK) + mem.size + PAGE_SIZE - 1) >> PAGE_SHIFT
        return requested <= actual

    #: ``uio_mmap()`` after v4 19/21 (written at module level, where ``__compat_vma_mmap``
    #: is not name-mangled): the one reference answer of exercise 12.
    uio_mmap = uio_mmap

    def uio_mmap_physical(self, vma: VmAreaStruct) -> int:
        """``uio_mmap_physical()``: page-aligned map, byte size check, (uncached) remap."""
        idev: UioDevice = vma.vm_private_data
        mi = self.uio_find_mem_index(vma)
        if mi < 0:
            return -errno.EINVAL
        assert idev.info is not None
        mem = idev.info.mem[mi]
        if mem.addr & ~PAGE_MASK:
            return -errno.ENODEV
        if not self.byte_size_ok(vma, mem):
            return -errno.EINVAL
        vma.vm_ops = self.physical_vm_ops
        if mem.memtype == UIO_MEM_PHYS:
            vma.vm_page_prot = pgprot_noncached(vma.vm_page_prot)
        return remap_pfn_range(vma, vma.vm_start, mem.addr >> PAGE_SHIFT,
                               vma.vm_end - vma.vm_start, vma.vm_page_prot)

    @staticmethod
    def byte_size_ok(vma: VmAreaStruct, mem: UioMem) -> bool:
        """``vma->vm_end - vma->vm_start > mem->size`` is refused (bytes, no rounding)."""
        return vma.vm_end - vma.vm_start <= mem.size


    def uio_mmap_logical(self, vma: VmAreaStruct) -> int:
        """``uio_mmap_logical()``: VM_DONTEXPAND|VM_DONTDUMP; pages come from the fault."""
        vma.vm_flags |= VMFlag.DONTEXPAND | VMFlag.DONTDUMP
        vma.vm_ops = self.logical_vm_ops
        return 0

    def uio_vma_fault(self, vmf: VmFault) -> int:
        """``uio_vma_fault()``: the kernel page at ``mem[mi].addr + (pgoff - mi) pages``.

        (``get_page()`` is the reference the model's fault path takes when mapping.)
        """
        idev = vmf.vma.vm_private_data
        if not isinstance(idev, UioDevice):
            raise HookError("uio_logical_vm_ops->fault", "BUG: kernel NULL pointer dereference: "
                            "vma->vm_private_data is not the uio_device", errno.EFAULT)
        idev.info_lock.down_write("uio_vma_fault")
        try:
            if idev.info is None:
                return VM_FAULT_SIGBUS
            mi = self.uio_find_mem_index(vmf.vma)
            if mi < 0:
                return VM_FAULT_SIGBUS
            offset = (vmf.pgoff - mi) << PAGE_SHIFT
            mem = idev.info.mem[mi]
            addr = mem.addr + offset
            try:
                page = virt_to_page(addr) if mem.memtype == UIO_MEM_LOGICAL else \
                    vmalloc_to_page(addr)
            except KeyError:
                raise HookError("uio_logical_vm_ops->fault", f"BUG: unable to handle page "
                                f"fault for kernel address {addr:#x} (beyond mem[{mi}])",
                                errno.EFAULT) from None
            vmf.page = page
            return 0
        finally:
            idev.info_lock.up_write()

    def uio_mmap_dma_coherent(self, vma: VmAreaStruct) -> int:
        """``uio_mmap_dma_coherent()``: alignment/device checks, then ``dma_mmap_coherent()``
        with ``vm_pgoff`` temporarily 0."""
        idev: UioDevice = vma.vm_private_data
        mi = self.uio_find_mem_index(vma)
        if mi < 0:
            return -errno.EINVAL
        assert idev.info is not None
        mem = idev.info.mem[mi]
        if mem.addr & ~PAGE_MASK:
            return -errno.ENODEV
        if mem.dma_addr & ~PAGE_MASK:
            return -errno.ENODEV
        if not mem.dma_device:
            return -errno.ENODEV
        if vma.vm_end - vma.vm_start > mem.size:
            return -errno.EINVAL
        self.warnings.append(f"{mem.dma_device}: use of DMA coherent memory (highly "
                             "discouraged)")
        mi = vma.vm_pgoff
        vma.vm_pgoff = 0
        ret = dma_mmap_coherent(vma, mem.addr, mem.dma_addr, vma.vm_end - vma.vm_start)
        vma.vm_pgoff = mi
        return ret


def dma_mmap_coherent(vma: VmAreaStruct, cpu_addr: int, dma_addr: int, size: int) -> int:
    """``dma_direct_mmap()`` (kernel/dma/direct.c) for a cache-coherent x86 device without
    an IOMMU: dma address == physical address; ENXIO if the VMA exceeds the buffer."""
    user_count = vma_pages(vma)
    count = (size + PAGE_SIZE - 1) >> PAGE_SHIFT
    pfn = dma_addr >> PAGE_SHIFT
    if vma.vm_pgoff >= count or user_count > count - vma.vm_pgoff:
        return -errno.ENXIO
    return remap_pfn_range(vma, vma.vm_start, pfn + vma.vm_pgoff, user_count << PAGE_SHIFT,
                           vma.vm_page_prot)


# -- a plain UIO driver (uio_pdrv_genirq-like) --------------------------------------------

#: Physical address of the modelled device registers.
REGS_PHYS = 0xFEB0_0000


class UioPdrv(Driver):
    """A platform UIO device with one map of each kind, like uio_pdrv_genirq/uio_dmem_genirq.

    * ``mem[0]`` PHYS registers: 6 KiB at a page-aligned address (2 pages rounded);
    * ``mem[1]`` LOGICAL: 2 kmalloc'ed pages;
    * ``mem[2]`` VIRTUAL: 2 vzalloc'ed pages;
    * ``mem[3]`` DMA_COHERENT: 2 pages from ``dma_alloc_coherent()``;
    * ``mem[4]`` PHYS at an address that is not page aligned (mmap: ENODEV).

    ``unregistered=True`` models ``uio_unregister_device()`` having run (info NULL)
    after the file was opened.
    """

    name = "uio"

    def __init__(self, variant: str = "prepare", *, core: UioCore | None = None,
                 memtype0: int = UIO_MEM_PHYS) -> None:
        super().__init__(variant)
        self.core = core if core is not None else UioCore(variant == "prepare")
        info = UioInfo("uio_pdrv_genirq")
        info.mem[0] = UioMem("regs", REGS_PHYS, 0x1800, memtype0)
        addr, self.logical_pages = kmalloc_pages(2)
        info.mem[1] = UioMem("logical", addr, 2 * PAGE_SIZE, UIO_MEM_LOGICAL)
        addr, self.virtual_pages = vzalloc_pages(2)
        info.mem[2] = UioMem("virtual", addr, 2 * PAGE_SIZE, UIO_MEM_VIRTUAL)
        addr, self.dma_pages = kmalloc_pages(2, "dma")
        info.mem[3] = UioMem("dma", addr, 2 * PAGE_SIZE, UIO_MEM_DMA_COHERENT,
                             dma_addr=virt_to_phys(addr), dma_device="uio-dma.0")
        info.mem[4] = UioMem("unaligned", REGS_PHYS + 0x10800, 0x800, UIO_MEM_PHYS)
        self.info = info
        self.idev = UioDevice(info, 0)

    def open(self, mode: FMode = FMode.READ | FMode.WRITE) -> File:
        return self.core.uio_open(self.idev, mode)

    def unregister(self) -> None:
        """``uio_unregister_device()``: ``idev->info = NULL`` under ``info_lock``."""
        self.idev.info = None

    def observe(self) -> dict[str, Any]:
        pages = self.logical_pages + self.virtual_pages
        return {"kernel_page_mapcounts": [p.mapcount for p in pages]}
