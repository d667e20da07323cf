"""Exercise 01's devices: three made-up drivers, each mapped by one classic helper.

Not drivers of the series: kernel-shaped devices for the first exercise.  A frame
buffer maps physical memory with ``remap_pfn_range()``, a register block maps MMIO with
``vm_iomap_memory()``, a kernel buffer maps its pages with ``vm_map_pages()``
(mm/memory.c, v6.18).  Converted, each describes the same work with the matching
``mmap_action_*()`` helper (include/linux/mm.h, mm/util.c; v4 series 01-07/21).

Each device is a :class:`~mmaplab.drivers.base.CharDevice`: ``legacy`` installs the
``->mmap`` hook, ``prepare`` the converted ``->mmap_prepare`` (the exercise's
reference answer, written once here).
"""

from __future__ import annotations

import errno

from ...kernel.flags import PAGE_SHIFT
from ...kernel.fs import File, FileOperations
from ...kernel.memory import remap_pfn_range, vm_iomap_memory, vm_map_pages
from ...kernel.mm_types import VmAreaDesc, VmAreaStruct, vma_desc_pages, vma_pages
from ...kernel.mmap_action import (
    mmap_action_map_kernel_pages,
    mmap_action_remap_full,
    mmap_action_simple_ioremap,
)
from ...kernel.page_alloc import alloc_pages
from ...kernel.pgtable import pgprot_noncached
from ..base import CharDevice

__all__ = ["FbDev", "RegsDev", "BufDev", "fb_mmap", "regs_mmap", "buf_mmap",
           "fb_mmap_prepare", "regs_mmap_prepare", "buf_mmap_prepare", "FB_BASE_PFN",
           "REGS_PHYS", "REGS_LEN"]

FB_BASE_PFN = 0xC0000
REGS_PHYS = 0xFED00000
#: The register block is smaller than a page: vm_iomap_memory() maps one page of it.
REGS_LEN = 0x400


class FbDev(CharDevice):
    """A frame buffer: ``nr_pages`` of physical memory starting at ``base_pfn``."""

    name = "fb"
    path = "/dev/fb0"
    devno = (29, 0)

    def __init__(self, variant: str = "prepare", fops: FileOperations | None = None, *,
                 base_pfn: int = FB_BASE_PFN, nr_pages: int = 4) -> None:
        self.base_pfn = base_pfn
        self.nr_pages = nr_pages
        super().__init__(variant, fops)

    def file_operations(self, variant: str) -> FileOperations:
        if variant == "legacy":
            return FileOperations(name="fb_fops", mmap=fb_mmap)
        return FileOperations(name="fb_fops", mmap_prepare=fb_mmap_prepare)


class RegsDev(CharDevice):
    """A register block: ``len`` bytes of MMIO at physical address ``phys``."""

    name = "regs"
    path = "/dev/regs0"
    devno = (240, 0)

    def __init__(self, variant: str = "prepare", fops: FileOperations | None = None, *,
                 phys: int = REGS_PHYS, len: int = REGS_LEN) -> None:  # noqa: A002 - dev->len
        self.phys = phys
        self.len = len
        super().__init__(variant, fops)

    def file_operations(self, variant: str) -> FileOperations:
        if variant == "legacy":
            return FileOperations(name="regs_fops", mmap=regs_mmap)
        return FileOperations(name="regs_fops", mmap_prepare=regs_mmap_prepare)


class BufDev(CharDevice):
    """A kernel buffer of ``nr_pages`` pages (``pages``: a list of struct page)."""

    name = "buf"
    path = "/dev/buf0"
    devno = (241, 0)

    def __init__(self, variant: str = "prepare", fops: FileOperations | None = None, *,
                 nr_pages: int = 4) -> None:
        self.nr_pages = nr_pages
        self.pages = alloc_pages(nr_pages, kind="kernel")
        super().__init__(variant, fops)

    def file_operations(self, variant: str) -> FileOperations:
        if variant == "legacy":
            return FileOperations(name="buf_fops", mmap=buf_mmap)
        return FileOperations(name="buf_fops", mmap_prepare=buf_mmap_prepare)

    def observe(self) -> dict[str, object]:
        return {"page refcount/mapcount": [(p.refcount, p.mapcount) for p in self.pages]}


# -- legacy (->mmap, on a VMA that exists) ----------------------------------------------------

def fb_mmap(file: File, vma: VmAreaStruct) -> int:
    """``fb_mmap()``: bounds-checked ``remap_pfn_range()`` from ``vm_pgoff`` on."""
    dev: FbDev = file.private_data
    pages = vma_pages(vma)
    if vma.vm_pgoff >= dev.nr_pages or pages > dev.nr_pages - vma.vm_pgoff:
        return -errno.EINVAL
    return remap_pfn_range(vma, vma.vm_start, dev.base_pfn + vma.vm_pgoff,
                           pages << PAGE_SHIFT, vma.vm_page_prot)


def regs_mmap(file: File, vma: VmAreaStruct) -> int:
    """``regs_mmap()``: uncached, and ``vm_iomap_memory()`` checks size and offset."""
    dev: RegsDev = file.private_data
    vma.vm_page_prot = pgprot_noncached(vma.vm_page_prot)
    return vm_iomap_memory(vma, dev.phys, dev.len)


def buf_mmap(file: File, vma: VmAreaStruct) -> int:
    """``buf_mmap()``: ``vm_map_pages()`` refuses an offset or length past the buffer
    with -ENXIO (``__vm_map_pages()``)."""
    dev: BufDev = file.private_data
    return vm_map_pages(vma, dev.pages)


# -- converted (->mmap_prepare, on a descriptor): the reference answer -------------------------

def fb_mmap_prepare(desc: VmAreaDesc) -> int:
    dev = desc.file.private_data
    pages = vma_desc_pages(desc)
    if desc.pgoff >= dev.nr_pages or pages > dev.nr_pages - desc.pgoff:
        return -errno.EINVAL
    mmap_action_remap_full(desc, dev.base_pfn + desc.pgoff)
    return 0


def regs_mmap_prepare(desc: VmAreaDesc) -> int:
    dev = desc.file.private_data
    desc.page_prot = pgprot_noncached(desc.page_prot)
    mmap_action_simple_ioremap(desc, dev.phys, dev.len)
    return 0


def buf_mmap_prepare(desc: VmAreaDesc) -> int:
    dev = desc.file.private_data
    pages = vma_desc_pages(desc)
    if desc.pgoff >= dev.nr_pages or pages > dev.nr_pages - desc.pgoff:
        return -errno.ENXIO
    mmap_action_map_kernel_pages(desc, desc.start, dev.pages[desc.pgoff:], pages)
    return 0
