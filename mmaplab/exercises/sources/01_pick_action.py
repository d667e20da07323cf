# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
#   mmaplab:
#     exercise: "01"
#     title: "Pick the right action"
#     kit: pick_action
#     catalogue: mmaplab.exercises.ex01_pick_action
#     chapter: book/04_mmap_actions
# ---

# %% [markdown]
# # Exercise 01 — pick the right action
#
# A deprecated `f_op->mmap` hook receives a **VMA that already exists** and fills its page
# tables itself, with helpers such as `remap_pfn_range()`, `vm_iomap_memory()` or
# `vm_map_pages()`. An `f_op->mmap_prepare` hook runs **before** the VMA exists: it receives a
# `struct vm_area_desc` and can only *describe* the work. The series gives each helper a
# counterpart that records an **action** in `desc->action`; the kernel performs it once the
# VMA is in the tree (`mmap_action_complete()`).
#
# | legacy helper (on a VMA) | action (on the descriptor) |
# |---|---|
# | `remap_pfn_range()` | `mmap_action_remap(desc, start, pfn, size)`, `..._remap_full(desc, pfn)` |
# | `io_remap_pfn_range()` | `mmap_action_ioremap(...)`, `mmap_action_ioremap_full(desc, pfn)` |
# | `vm_iomap_memory(vma, phys, len)` | `mmap_action_simple_ioremap(desc, phys, len)` |
# | `vm_insert_pages()`, `vm_map_pages()` | `mmap_action_map_kernel_pages(desc, start, pages, nr)` |
#
# Three small devices below each use one helper. Convert all three.


# %% [markdown]
# ## The legacy hook
#
# Illustrative C in the kernel's style (written for this book):
#
# ```c
# /* A frame buffer: nr_pages of physical memory starting at base_pfn. */
# static int fb_mmap(struct file *file, struct vm_area_struct *vma)
# {
# 	struct fb_dev *dev = file->private_data;
# 	unsigned long pages = vma_pages(vma);
#
# 	if (vma->vm_pgoff >= dev->nr_pages || pages > dev->nr_pages - vma->vm_pgoff)
# 		return -EINVAL;
# 	return remap_pfn_range(vma, vma->vm_start, dev->base_pfn + vma->vm_pgoff,
# 				pages << PAGE_SHIFT, vma->vm_page_prot);
# }
#
# /* A register block: len bytes of MMIO at physical address phys, mapped uncached. */
# static int regs_mmap(struct file *file, struct vm_area_struct *vma)
# {
# 	struct regs_dev *dev = file->private_data;
#
# 	vma->vm_page_prot = pgprot_noncached(vma->vm_page_prot);
# 	return vm_iomap_memory(vma, dev->phys, dev->len);
# }
#
# /* A kernel buffer of nr_pages pages. */
# static int buf_mmap(struct file *file, struct vm_area_struct *vma)
# {
# 	struct buf_dev *dev = file->private_data;
#
# 	return vm_map_pages(vma, dev->pages, dev->nr_pages);
# }
# ```


# %% [markdown]
# ## Your task
#
# Write `fb_mmap_prepare(desc)`, `regs_mmap_prepare(desc)` and `buf_mmap_prepare(desc)` so that
# every `mmap()` of these devices — valid or not, private or shared, followed by faults, `fork()`,
# partial `munmap()`, or a page-table allocation failure — behaves exactly as with the legacy
# hooks above.
#
# * The device is `desc.file.private_data`: `FbDev(base_pfn, nr_pages)`, `RegsDev(phys, len)`,
#   `BufDev(nr_pages, pages)`. The check also tries other sizes and addresses of each device.
# * `desc.start`, `desc.end`, `desc.pgoff`, `desc.page_prot`; `vma_desc_pages(desc)` is the length in
#   pages (`vma_pages(vma)` in the legacy hook), `vma_desc_size(desc)` in bytes.
# * Return `0` or a negative errno (`-errno.EINVAL`).
#
# Remember what `vm_map_pages()` checks before it maps anything (mm/memory.c,
# `__vm_map_pages()`): an offset at or past the end of the buffer, or a mapping longer than
# what remains after the offset, is `-ENXIO`.


# %% tags=["setup"]
import errno

from mmaplab.kernel.mm_types import vma_desc_pages, vma_desc_size
from mmaplab.kernel.pgtable import pgprot_noncached
from mmaplab.kernel.mmap_action import (mmap_action_ioremap, mmap_action_ioremap_full,
                                        mmap_action_map_kernel_pages, mmap_action_remap,
                                        mmap_action_remap_full, mmap_action_simple_ioremap)
from mmaplab.kernel.memory import remap_pfn_range, vm_iomap_memory, vm_map_pages  # legacy helpers


# %% tags=["answer"]
### SOLUTION: mmaplab.drivers.pick_action.model:fb_mmap_prepare
### SOLUTION: mmaplab.drivers.pick_action.model:regs_mmap_prepare
### SOLUTION: mmaplab.drivers.pick_action.model:buf_mmap_prepare
### BEGIN STUB
def fb_mmap_prepare(desc):
    # TODO: bounds check, then describe the pfn remap
    return 0


def regs_mmap_prepare(desc):
    # TODO: uncached, then the guarded I/O remap
    return 0


def buf_mmap_prepare(desc):
    # TODO: vm_map_pages()'s checks, then map the kernel pages
    return 0
### END STUB


# %% tags=["check"]
from mmaplab.exercises import check

check("01", fb_mmap_prepare, regs_mmap_prepare, buf_mmap_prepare)


# %% [markdown] tags=["hint"]
# Each legacy helper has a twin that only records what to map; the kernel does the mapping once the VMA exists. Everything else the legacy hook did (its checks, its errnos, the page protection) stays in your hook, on the descriptor.


# %% [markdown] tags=["hint"]
# fb: remap_pfn_range() becomes mmap_action_remap_full(), which takes a pfn. regs: vm_iomap_memory() becomes mmap_action_simple_ioremap(), which keeps the size and offset checks against the block; pgprot_noncached() applies to desc.page_prot. buf: mmap_action_map_kernel_pages() does not check the range, so vm_map_pages()'s two checks are yours.


# %% [markdown] tags=["hint"]
# fb: keep the bounds check with its -EINVAL, then remap from the frame buffer's first pfn plus the file offset. regs: make the protection uncached first, then hand the block's physical address and its length (not the request's) to the simple ioremap. buf: refuse with -ENXIO an offset at or past nr_pages, or more pages than remain after it; then map the buffer's pages from the offset on, starting at desc.start.
