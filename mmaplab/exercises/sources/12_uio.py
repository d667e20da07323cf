# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
#   mmaplab:
#     exercise: "12"
#     title: "uio: a driver override behind a legacy hook"
#     kit: uio
#     catalogue: mmaplab.exercises.ex12_uio
#     chapter: book/case_studies/uio
# ---

# %% [markdown]
# # Exercise 12 — uio: a driver override behind a legacy hook
#
# The userspace-I/O core (`drivers/uio/uio.c`) maps `/dev/uioN` for many small drivers: each
# describes up to `MAX_UIO_MAPS` regions in its `struct uio_info` (`info->mem[i]`, with a
# `memtype`: PHYS, LOGICAL, VIRTUAL, IOVA, DMA_COHERENT), and userspace picks region *i* with
# the mmap offset `i * PAGE_SIZE` — **`vm_pgoff` is an index here, not an offset**. A driver may
# instead map its region itself with a `uio_info` hook; before the series that hook took the VMA,
# `info->mmap(info, vma)`.
#
# v4 19/21 replaces it with `info->mmap_prepare(info, desc)`. The core's own `uio_fops` keeps its
# legacy `.mmap = uio_mmap` — so, as in exercise 11, the core calls the converted driver hook
# through the compat layer: `compat_set_desc_from_vma()`, the hook, `__compat_vma_mmap()`.
# Everything else in `uio_mmap()` stays as it was: its checks run first, under
# `idev->info_lock`.
#
# The device state is the driver model `UioCore` (`mmaplab/drivers/uio/model.py`), `self` in your
# function: `filep.private_data.dev` is the `uio_device` (`idev.info`, `idev.info_lock`),
# `self.uio_find_mem_index(vma)`, `self.size_ok(vma, mem)` (the page-rounded size check),
# `self.uio_mmap_physical(vma)`, `self.uio_mmap_logical(vma)`,
# `self.uio_mmap_dma_coherent(vma)`. Constants: `UIO_MEM_PHYS`, `UIO_MEM_IOVA`, ….


# %% [markdown]
# ## The legacy hook
#
# Illustrative C in the kernel's style (written for this book):
#
# ```c
# static int uio_mmap(struct file *filep, struct vm_area_struct *vma)
# {
# 	struct uio_listener *listener = filep->private_data;
# 	struct uio_device *idev = listener->dev;
# 	struct uio_mem *mem;
# 	int mi, ret;
#
# 	if (vma->vm_end < vma->vm_start)
# 		return -EINVAL;
# 	vma->vm_private_data = idev;		/* the fault handler needs it */
#
# 	mutex_lock(&idev->info_lock);
# 	ret = -EINVAL;
# 	if (!idev->info)			/* the device went away */
# 		goto unlock;
# 	mi = uio_find_mem_index(vma);		/* vm_pgoff is the region number */
# 	if (mi < 0)
# 		goto unlock;
# 	mem = &idev->info->mem[mi];
# 	/* no more pages than the region spans (it may start inside a page) */
# 	if (vma_pages(vma) > DIV_ROUND_UP(offset_in_page(mem->addr) + mem->size, PAGE_SIZE))
# 		goto unlock;
#
# 	if (idev->info->mmap) {			/* the driver maps the region itself */
# 		ret = idev->info->mmap(idev->info, vma);
# 		goto unlock;
# 	}
#
# 	switch (mem->memtype) {
# 	case UIO_MEM_IOVA:
# 	case UIO_MEM_PHYS:
# 		ret = uio_mmap_physical(vma);	/* remap_pfn_range() */
# 		break;
# 	case UIO_MEM_LOGICAL:
# 	case UIO_MEM_VIRTUAL:
# 		ret = uio_mmap_logical(vma);	/* pages come from ->fault */
# 		break;
# 	case UIO_MEM_DMA_COHERENT:
# 		ret = uio_mmap_dma_coherent(vma);
# 		break;
# 	}
# unlock:
# 	mutex_unlock(&idev->info_lock);
# 	return ret;
# }
# ```


# %% [markdown]
# ## Your task
#
# The answer cell holds `uio_mmap(self, filep, vma)` with everything but the driver override
# already written (in Python). Add the override for the converted hook,
# `info.mmap_prepare(info, desc)`, at the place where the legacy code called `info->mmap`.
#
# The check mounts your `uio_mmap` in the uio core and compares it with the converted model on
# two devices: a uio_pdrv_genirq-like device with one region of each memory type (14 scenarios:
# those paths must not change), and tcmu (12 scenarios: exact size, too small, too big, wrong
# index, faults, fork, splits, MAP_PRIVATE, a failing `mapped`).


# %% tags=["setup"]
import errno

from mmaplab.kernel.compat import __compat_vma_mmap, compat_set_desc_from_vma
from mmaplab.drivers.uio import (UIO_MEM_DMA_COHERENT, UIO_MEM_IOVA, UIO_MEM_LOGICAL,
                                 UIO_MEM_PHYS, UIO_MEM_VIRTUAL, UioCore)


# %% tags=["answer"]
### SOLUTION: mmaplab.drivers.uio.model:uio_mmap
### BEGIN STUB
def uio_mmap(self, filep, vma):
    idev = filep.private_data.dev
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
        # TODO: the driver's override, info.mmap_prepare(info, desc)
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
### END STUB


# %% tags=["check"]
from mmaplab.exercises import check

check("12", uio_mmap)


# %% [markdown] tags=["hint"]
# The uio core keeps its legacy ->mmap; only the driver override changes. A driver hook that takes a descriptor needs one built from the VMA, and the descriptor applied afterwards: you are past the point where the mm does that.


# %% [markdown] tags=["hint"]
# compat_set_desc_from_vma() builds the descriptor; info.mmap_prepare(info, desc) fills it; __compat_vma_mmap() prepares and performs its action, copies it into the VMA and calls mapped. All of it under info_lock, which the existing try/finally already releases.


# %% [markdown] tags=["hint"]
# Where the legacy code called the driver's mmap, test for the converted hook instead. When the driver has one: build the descriptor, call the hook, return its error if it fails, and otherwise return the result of applying the descriptor. When it has none, fall through to the memory-type paths as before.
