# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
#   mmaplab:
#     exercise: "05"
#     title: "hpet: one page of timer registers"
#     kit: hpet
#     catalogue: mmaplab.exercises.ex05_hpet
#     chapter: book/case_studies/hpet
# ---

# %% [markdown]
# # Exercise 05 — hpet: one page of timer registers
#
# `/dev/hpet` lets a process read the HPET counter directly: with `CONFIG_HPET_MMAP` (and the
# boot option `hpet_mmap` not set to 0) mapping the device maps the **one page** of MMIO
# registers of the HPET block, uncached. There is no per-mapping state — no `vm_ops`, no
# reference counts — which makes it the smallest conversion of the series: everything the
# legacy hook did becomes an edit of the descriptor plus one *action*.
#
# The device state is the driver model `HpetDriver` (`mmaplab/drivers/hpet/model.py`):
#
# * `self.hpet_mmap_enabled` — the boot option (`False`: mapping is refused with `EACCES`);
# * `file.private_data` — the `HpetDev` (one timer) `hpet_open()` assigned; its
#   `hd_hpets.hp_hpet_phys` is the physical base of the whole block (every timer maps the same
#   page);
# * `pgprot_noncached(prot)`, the kernel's function.
#
# `/dev/hpet` can only be opened read-only (`hpet_open()` refuses `O_RDWR` with `EINVAL`).


# %% [markdown]
# ## The legacy hook
#
# Illustrative C in the kernel's style (written for this book):
#
# ```c
# static int hpet_mmap(struct file *file, struct vm_area_struct *vma)
# {
# 	struct hpet_dev *devp = file->private_data;
# 	unsigned long addr;
#
# 	if (!hpet_mmap_enabled)
# 		return -EACCES;
#
# 	addr = devp->hd_hpets->hp_hpet_phys;
# 	if (addr & (PAGE_SIZE - 1))		/* the block must start on a page */
# 		return -ENOSYS;
#
# 	vma->vm_page_prot = pgprot_noncached(vma->vm_page_prot);
# 	/* maps exactly one page; checks the VMA size and vm_pgoff against it */
# 	return vm_iomap_memory(vma, addr, PAGE_SIZE);
# }
# ```


# %% [markdown]
# ## Your task
#
# Write `hpet_mmap_prepare(self, desc)`, the converted hook, as a plain function taking the
# `HpetDriver` as `self`. The file is `desc.file`; set `desc.page_prot`; replace
# `vm_iomap_memory()` by the action that does the same checks and the same remap once the VMA
# exists. Keep the errnos.
#
# The check plugs it into an `HpetDriver` and compares it with the converted driver model on
# 14 scenarios (one page, two pages, an offset, MAP_PRIVATE, mprotect, fork, two timers side by
# side, injected failures, a timer of a second block), then on a device booted with
# `hpet_mmap=0`, on a block whose address is not page aligned, and on a machine with two HPET
# blocks (each timer maps the registers of its own block).


# %% tags=["setup"]
import errno

from mmaplab.kernel.flags import PAGE_SHIFT, PAGE_SIZE
from mmaplab.kernel.mm_types import vma_desc_size
from mmaplab.kernel.pgtable import pgprot_noncached
from mmaplab.drivers.hpet import HpetDriver
from mmaplab.kernel.mmap_action import (mmap_action_ioremap_full, mmap_action_remap_full,
                                        mmap_action_simple_ioremap)


# %% tags=["answer"]
### SOLUTION: mmaplab.drivers.hpet.model:HpetDriver.hpet_mmap_prepare
### BEGIN STUB
def hpet_mmap_prepare(self, desc):
    # TODO: the checks of hpet_mmap(), an uncached desc.page_prot, then the action
    return 0
### END STUB


# %% tags=["check"]
from mmaplab.exercises import check

check("05", hpet_mmap_prepare)


# %% [markdown] tags=["hint"]
# Nothing here needs the VMA to exist: the checks read the device state, the caching is a field of the descriptor, and vm_iomap_memory() has an mmap_action_*() twin that takes the same (physical address, size) pair.


# %% [markdown] tags=["hint"]
# vm_iomap_memory() becomes mmap_action_simple_ioremap(): same physical address, same length (one page), so its size and offset checks stay. The uncached protection is pgprot_noncached() applied to desc.page_prot instead of vma->vm_page_prot.


# %% [markdown] tags=["hint"]
# Keep the two early returns of hpet_mmap() in their order: the boot option first (EACCES), then the alignment of the block's physical base (ENOSYS). Then make the descriptor's protection uncached, and describe a simple ioremap of one page at that base.
