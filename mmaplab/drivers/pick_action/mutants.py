"""Exercise 01: realistic wrong conversions of the three hooks, each written once.

Each is what a learner might write for one of ``fb_mmap_prepare``,
``regs_mmap_prepare`` and ``buf_mmap_prepare`` (``answer``; the other two stay the
reference's), with the rule of the contract it breaks.  Exercise 01's catalogue and
its diagnoses read :data:`MUTANTS`.
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from typing import Any

from ...kernel.flags import PAGE_SHIFT, PAGE_SIZE
from ...kernel.fs import FileOperations
from ...kernel.memory import vm_iomap_memory
from ...kernel.mm_types import VmAreaDesc, vma_desc_pages, vma_desc_size
from ...kernel.mmap_action import (
    mmap_action_map_kernel_pages,
    mmap_action_remap_full,
    mmap_action_simple_ioremap,
)
from ...kernel.pgtable import pgprot_noncached
from ..base import CharDevice, Mutant
from .model import BufDev, FbDev, RegsDev

__all__ = ["MUTANTS"]


def _dev(desc: VmAreaDesc) -> Any:
    return desc.file.private_data


# -- regs ---------------------------------------------------------------------------------

def _regs_cached(desc: VmAreaDesc) -> int:
    # "an I/O remap is uncached anyway"
    dev = _dev(desc)
    mmap_action_simple_ioremap(desc, dev.phys, dev.len)
    return 0


def _regs_remap_full(desc: VmAreaDesc) -> int:
    dev = _dev(desc)
    desc.page_prot = pgprot_noncached(desc.page_prot)
    mmap_action_remap_full(desc, dev.phys >> PAGE_SHIFT)  # "remap is remap"
    return 0


def _regs_legacy_helper(desc: VmAreaDesc) -> int:
    dev = _dev(desc)
    desc.page_prot = pgprot_noncached(desc.page_prot)
    return vm_iomap_memory(desc, dev.phys, dev.len)  # type: ignore[arg-type]  # the mistake


def _regs_page_as_len(desc: VmAreaDesc) -> int:
    # "a register block is mapped a page at a time"
    dev = _dev(desc)
    desc.page_prot = pgprot_noncached(desc.page_prot)
    mmap_action_simple_ioremap(desc, dev.phys, vma_desc_size(desc))
    return 0


# -- buf ----------------------------------------------------------------------------------

def _buf_no_check(desc: VmAreaDesc) -> int:
    # "map_kernel_pages checks the range like vm_map_pages() did"
    dev = _dev(desc)
    mmap_action_map_kernel_pages(desc, desc.start, dev.pages[desc.pgoff:],
                                 vma_desc_pages(desc))
    return 0


def _buf_einval(desc: VmAreaDesc) -> int:
    dev = _dev(desc)
    pages = vma_desc_pages(desc)
    if desc.pgoff >= dev.nr_pages or pages > dev.nr_pages - desc.pgoff:
        return -errno.EINVAL  # "an invalid range is EINVAL"
    mmap_action_map_kernel_pages(desc, desc.start, dev.pages[desc.pgoff:], pages)
    return 0


def _buf_from_first_page(desc: VmAreaDesc) -> int:
    dev = _dev(desc)
    pages = vma_desc_pages(desc)
    if desc.pgoff >= dev.nr_pages or pages > dev.nr_pages - desc.pgoff:
        return -errno.ENXIO
    mmap_action_map_kernel_pages(desc, desc.start, dev.pages, pages)  # offset forgotten
    return 0


# -- fb -----------------------------------------------------------------------------------

def _fb_no_pgoff(desc: VmAreaDesc) -> int:
    dev = _dev(desc)
    pages = vma_desc_pages(desc)
    if desc.pgoff >= dev.nr_pages or pages > dev.nr_pages - desc.pgoff:
        return -errno.EINVAL
    mmap_action_remap_full(desc, dev.base_pfn)  # "the offset was for the legacy helper"
    return 0


def _fb_bytes_vs_pages(desc: VmAreaDesc) -> int:
    dev = _dev(desc)
    # vma_desc_size() is in bytes, nr_pages in pages
    if desc.pgoff >= dev.nr_pages or vma_desc_size(desc) > dev.nr_pages - desc.pgoff:
        return -errno.EINVAL
    mmap_action_remap_full(desc, dev.base_pfn + desc.pgoff)
    return 0


def _fb_addr_as_pfn(desc: VmAreaDesc) -> int:
    dev = _dev(desc)
    pages = vma_desc_pages(desc)
    if desc.pgoff >= dev.nr_pages or pages > dev.nr_pages - desc.pgoff:
        return -errno.EINVAL
    # "the action takes the start of the memory": a byte address where a pfn goes
    mmap_action_remap_full(desc, (dev.base_pfn + desc.pgoff) * PAGE_SIZE)
    return 0


_DEVICE: dict[str, type[CharDevice]] = {
    "fb_mmap_prepare": FbDev, "regs_mmap_prepare": RegsDev, "buf_mmap_prepare": BufDev}


def _m(name: str, text: str, breaks: str, hook: str,
       fn: Callable[[VmAreaDesc], int]) -> Mutant:
    """``fn`` in place of the reference ``hook``, on the device that hook belongs to."""
    dev = _DEVICE[hook]
    fops = hook.split("_")[0] + "_fops"
    return Mutant(name, text, lambda: dev("prepare", FileOperations(name=fops, mmap_prepare=fn)),
                  breaks, {hook: fn})


MUTANTS: tuple[Mutant, ...] = (
    _m("forgot-noncached",
       "lost the caching attribute: the legacy hook made the registers uncached with "
       "pgprot_noncached() on vma->vm_page_prot; the descriptor has the same field, "
       "desc->page_prot, and the action does not change it", "noncached",
       "regs_mmap_prepare", _regs_cached),
    _m("remap-for-iomem",
       "a raw pfn remap where vm_iomap_memory() did the checking: "
       "mmap_action_remap_full() maps the whole VMA whatever its size and offset, so a "
       "request larger than the block, or at an offset, maps what lies beyond the "
       "registers; mmap_action_simple_ioremap() keeps vm_iomap_memory()'s checks",
       "lost-check", "regs_mmap_prepare", _regs_remap_full),
    _m("legacy-helper-in-prepare",
       "calling a VMA helper from mmap_prepare: vm_iomap_memory() works on a VMA that "
       "exists; mmap_prepare has only a descriptor, so describe the work with the "
       "mmap_action_*() twin and the kernel does it once the VMA is in place",
       "helper-in-prepare", "regs_mmap_prepare", _regs_legacy_helper),
    _m("region-is-the-request",
       "passes the request's size as the region's: vm_iomap_memory() compares the "
       "request with the block (dev->len), so with the VMA's size as the region every "
       "request fits and the size check is gone", "lost-check", "regs_mmap_prepare",
       _regs_page_as_len),
    _m("no-enxio-check",
       "mmap_action_map_kernel_pages() does not check the buffer size: vm_map_pages() "
       "refused an offset past the buffer, or a mapping longer than what is left after "
       "it, with -ENXIO; the converted hook makes both checks itself", "lost-check",
       "buf_mmap_prepare", _buf_no_check),
    _m("wrong-errno",
       "keep the legacy errno: vm_map_pages() refuses an out-of-range request with "
       "-ENXIO, and user space sees the errno, so the converted check returns -ENXIO "
       "too, not -EINVAL", "errno", "buf_mmap_prepare", _buf_einval),
    _m("buf-ignores-pgoff",
       "the file offset selects the first page: vm_map_pages() started vm_pgoff pages "
       "into the buffer, so the pages handed to the action start at desc->pgoff",
       "range", "buf_mmap_prepare", _buf_from_first_page),
    _m("ignores-pgoff",
       "the file offset selects where in the device the mapping starts: the legacy hook "
       "remapped from base_pfn + vm_pgoff; use desc->pgoff the same way", "range",
       "fb_mmap_prepare", _fb_no_pgoff),
    _m("bytes-for-pages",
       "compares a size in bytes with a count of pages: vma_desc_size() is bytes, "
       "nr_pages is pages; vma_desc_pages() is the length in pages, as vma_pages() was",
       "extra-refusal", "fb_mmap_prepare", _fb_bytes_vs_pages),
    _m("address-for-pfn",
       "passes a byte address where the action takes a page frame number: "
       "mmap_action_remap_full(desc, pfn) takes the pfn, as remap_pfn_range() did",
       "range", "fb_mmap_prepare", _fb_addr_as_pfn),
)
