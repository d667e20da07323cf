# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
#   mmaplab:
#     exercise: "07"
#     title: "mtdchar: converting what is really there"
#     kit: mtdchar
#     catalogue: mmaplab.exercises.ex07_mtdchar
#     chapter: book/case_studies/mtdchar
# ---

# %% [markdown]
# # Exercise 07 — mtdchar: converting what is really there
#
# `/dev/mtdN` gives userspace raw access to flash and RAM/ROM chips. Its legacy `mmap` hook
# looks substantial — a branch that would map MTD RAM/ROM directly from the chip's physical
# address — but that branch sits under a literal `if (0 && ...)`: it was switched off on MMU
# kernels years ago. On an MMU kernel the hook always refuses with `ENODEV`; on a kernel without
# an MMU (`!CONFIG_MMU`) the core has already placed the mapping
# (`mtdchar_get_unmapped_area()`), and the hook only insists that it is shared.
#
# A conversion is a good moment to read the old hook closely: convert the behaviour, not the
# dead code.
#
# The device state is the driver model `MtdcharDriver` (`mmaplab/drivers/mtdchar/model.py`):
# `self.mmu` (`True` for an MMU kernel, standing for `#ifdef CONFIG_MMU`), `self.mtd`
# (`type`, `size`, `priv`, whose `phys` is the chip's window). The flag test on a descriptor is
# `vma_desc_test(desc, VMA_SHARED_BIT)`.


# %% [markdown]
# ## The legacy hook
#
# Illustrative C in the kernel's style (written for this book):
#
# ```c
# static int mtdchar_mmap(struct file *file, struct vm_area_struct *vma)
# {
# #ifdef CONFIG_MMU
# 	struct mtd_file_info *mfi = file->private_data;
# 	struct mtd_info *mtd = mfi->mtd;
# 	struct map_info *map = mtd->priv;
#
# 	/* switched off on purpose: RAM/ROM chips are not mapped on MMU kernels */
# 	if (0 && (mtd->type == MTD_RAM || mtd->type == MTD_ROM)) {
# 		vma->vm_page_prot = pgprot_noncached(vma->vm_page_prot);
# 		return vm_iomap_memory(vma, map->phys, map->size);
# 	}
# 	return -ENODEV;
# #else
# 	/* no MMU: the mapping was placed for us; it must be shared */
# 	return vma->vm_flags & VM_SHARED ? 0 : -EACCES;
# #endif
# }
# ```


# %% [markdown]
# ## Your task
#
# Write `mtdchar_mmap_prepare(self, desc)` with the behaviour of `mtdchar_mmap()` on both
# configurations (use `if self.mmu:` where the C has `#ifdef CONFIG_MMU`).
#
# The check compares it with the converted driver model on 10 scenarios on an MMU kernel
# (shared and private, read and write, offsets, next to and over existing mappings, fork, an
# injected allocation failure), then on a `!CONFIG_MMU` device (shared and private requests).


# %% tags=["setup"]
import errno

from mmaplab.kernel.mm_types import vma_desc_test
from mmaplab.kernel.vma_flags import VMA_SHARED_BIT
from mmaplab.drivers.mtdchar import MTD_RAM, MTD_ROM, MtdcharDriver
from mmaplab.kernel.mmap_action import mmap_action_simple_ioremap


# %% tags=["answer"]
### SOLUTION: mmaplab.drivers.mtdchar.model:MtdcharDriver.mtdchar_mmap_prepare
### BEGIN STUB
def mtdchar_mmap_prepare(self, desc):
    # TODO: what does mtdchar_mmap() really do on each configuration?
    if self.mtd.type in (MTD_RAM, MTD_ROM):
        mmap_action_simple_ioremap(desc, self.mtd.priv.phys, self.mtd.size)
        return 0
    return -errno.ENODEV
### END STUB


# %% tags=["check"]
from mmaplab.exercises import check

check("07", mtdchar_mmap_prepare)


# %% [markdown] tags=["hint"]
# Read the condition of the big branch again: can it ever be true? Then look at what is left on each side of the #ifdef.


# %% [markdown] tags=["hint"]
# On an MMU kernel nothing is ever mapped by this hook: the only live return is an errno. Without an MMU the hook only tests whether the mapping is shared, with vma_desc_test() and VMA_SHARED_BIT. No action and no page_prot.


# %% [markdown] tags=["hint"]
# Branch on self.mmu. With an MMU, refuse every request with ENODEV. Without one, accept a shared mapping and refuse any other with EACCES.
