# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
#   mmaplab:
#     exercise: "06"
#     title: "open-dice: secrets that must not leak"
#     kit: open_dice
#     catalogue: mmaplab.exercises.ex06_open_dice
#     chapter: book/case_studies/open_dice
# ---

# %% [markdown]
# # Exercise 06 — open-dice: secrets that must not leak
#
# `/dev/open-dice0` exposes a small reserved-memory region holding DICE secrets (firmware
# measurements and derived keys). A client may map it to read them; it must never be able to
# *write* them through a shared mapping, not even later with `mprotect()`, a fork child must not
# inherit the mapping, and a core dump must not contain it. The region is mapped
# write-combined so that a wipe (`write()` to the device) is seen by every client.
#
# Compared with hpet, the hook also edits the VMA **flags**: it refuses one combination, clears
# one flag and sets two. On a descriptor flags are changed with the accessors of
# `mmaplab.kernel.mm_types`: `vma_desc_test(desc, flag)`, `vma_desc_set_flags(desc, flags)`,
# `vma_desc_clear_flags(desc, flags)` (the kernel's `vma_desc_test()`/`vma_desc_set_flags()`/
# `vma_desc_clear_flags()`), which take bit numbers: `VMA_MAYSHARE_BIT`, `VMA_WRITE_BIT`,
# `VMA_MAYWRITE_BIT`, `VMA_DONTCOPY_BIT`, `VMA_DONTDUMP_BIT`.
#
# The device state is the driver model `OpenDiceDriver` (`mmaplab/drivers/open_dice/model.py`):
# `file.private_data` is the driver (`drvdata`), whose `rmem.base`/`rmem.size` describe the
# page-aligned region (2 pages); `pgprot_writecombine(prot)` is the kernel's function.


# %% [markdown]
# ## The legacy hook
#
# Illustrative C in the kernel's style (written for this book):
#
# ```c
# static int open_dice_mmap(struct file *filp, struct vm_area_struct *vma)
# {
# 	struct open_dice_drvdata *drvdata = to_open_dice_drvdata(filp);
#
# 	if (vma->vm_flags & VM_MAYSHARE) {
# 		/* a shared mapping may read the secrets, never write them */
# 		if (vma->vm_flags & VM_WRITE)
# 			return -EPERM;
# 		/* ...not even after a later mprotect(PROT_WRITE) */
# 		vm_flags_clear(vma, VM_MAYWRITE);
# 	}
#
# 	vma->vm_page_prot = pgprot_writecombine(vma->vm_page_prot);
# 	/* not inherited by fork children, not in core dumps */
# 	vm_flags_set(vma, VM_DONTCOPY | VM_DONTDUMP);
# 	return vm_iomap_memory(vma, drvdata->rmem->base, drvdata->rmem->size);
# }
# ```


# %% [markdown]
# ## Your task
#
# Write `open_dice_mmap_prepare(self, desc)` (the `OpenDiceDriver` is `self`, the file is
# `desc.file`): the same decisions taken on the descriptor, the same errno, and the action
# that replaces `vm_iomap_memory()` — one that keeps its size and offset checks.
#
# The check compares your hook with the converted driver model on 14 scenarios: read-only and
# writable shared mappings, `mprotect(PROT_WRITE)` afterwards, too big, offsets, MAP_PRIVATE,
# fork, neighbours, a split, and injected failures.


# %% tags=["setup"]
import errno

from mmaplab.kernel.flags import PAGE_SHIFT
from mmaplab.kernel.mm_types import vma_desc_clear_flags, vma_desc_set_flags, vma_desc_test
from mmaplab.kernel.pgtable import pgprot_writecombine
from mmaplab.kernel.vma_flags import (VMA_DONTCOPY_BIT, VMA_DONTDUMP_BIT, VMA_MAYSHARE_BIT,
    VMA_MAYWRITE_BIT, VMA_WRITE_BIT)
from mmaplab.drivers.open_dice import OpenDiceDriver
from mmaplab.kernel.mmap_action import mmap_action_ioremap_full, mmap_action_simple_ioremap


# %% tags=["answer"]
### SOLUTION: mmaplab.drivers.open_dice.model:OpenDiceDriver.open_dice_mmap_prepare
### BEGIN STUB
def open_dice_mmap_prepare(self, desc):
    drvdata = desc.file.private_data
    # TODO: the flag checks and changes of open_dice_mmap(), write-combine, the action
    mmap_action_simple_ioremap(desc, drvdata.rmem.base, drvdata.rmem.size)
    return 0
### END STUB


# %% tags=["check"]
from mmaplab.exercises import check

check("06", open_dice_mmap_prepare)


# %% [markdown] tags=["hint"]
# Every line of the legacy hook has a descriptor twin: the flag tests and edits become vma_desc_*() accessors on desc, the page protection is desc.page_prot, and vm_iomap_memory() becomes an action with the same arguments.


# %% [markdown] tags=["hint"]
# The accessors take VMA_*_BIT numbers: vma_desc_test() for VM_MAYSHARE and VM_WRITE, vma_desc_clear_flags() for VM_MAYWRITE (or mprotect could add PROT_WRITE later), vma_desc_set_flags() for VM_DONTCOPY and VM_DONTDUMP. The memory is write-combined (pgprot_writecombine()), and the action is mmap_action_simple_ioremap() on the reserved region.


# %% [markdown] tags=["hint"]
# Only for a shared mapping: refuse a writable one with EPERM, and take away the right to become writable. Then, for every mapping: write-combined protection, the two flags that keep the region out of fork and core dumps, and a simple ioremap of the whole reserved region (its base and its size).
