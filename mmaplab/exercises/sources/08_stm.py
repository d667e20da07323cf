# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
#   mmaplab:
#     exercise: "08"
#     title: "stm: a runtime-PM reference per mapping"
#     kit: stm
#     catalogue: mmaplab.exercises.ex08_stm
#     chapter: book/case_studies/stm
# ---

# %% [markdown]
# # Exercise 08 — stm: a runtime-PM reference per mapping
#
# A System Trace Module lets software write trace data straight into per-channel MMIO slots.
# `/dev/stm0`, once a policy assigned it `nr_chans` channels, can map exactly those channels'
# slots (`nr_chans * sw_mmiosz` bytes, offset 0), uncached. While a mapping exists the STM
# device must stay powered: the hook takes a **runtime-PM reference**, `stm_mmap_vmops.open`
# takes one more for every split or forked copy, and `.close` drops one.
#
# That reference is the interesting part of this conversion. `mmap_prepare` runs before the
# kernel has decided that a VMA will exist at all — if `mmap()` fails later, nobody calls
# `close` for a VMA that never was. Work that must be undone by `close` belongs in
# `vm_ops->mapped`, which the kernel calls once the new VMA exists and its action succeeded.
#
# The device state is the driver model `StmDriver` (`mmaplab/drivers/stm/model.py`):
#
# * `self.stm` — the `stm_device`: `stm.data.mmio_addr` (a callback
#   `mmio_addr(data, master, channel, nr_chans) -> phys`, or `None` when the hardware has no
#   MMIO channels), `stm.data.sw_mmiosz`, and `stm.dev`, whose runtime-PM calls are
#   `stm.dev.pm_runtime_get_sync()`;
# * `file.private_data` — the `stm_file`: `stmf.stm`, and `stmf.output`, the policy's
#   `stm_output` (`master`, `channel`, `nr_chans`);
# * `self.vm_ops` — `stm_mmap_vmops`, already built with `open`, `close` and
#   `mapped=self.stm_mmap_mapped`; `pgprot_noncached(prot)` is the kernel's function.


# %% [markdown]
# ## The legacy hook
#
# Illustrative C in the kernel's style (written for this book):
#
# ```c
# static int stm_char_mmap(struct file *file, struct vm_area_struct *vma)
# {
# 	struct stm_file *stmf = file->private_data;
# 	struct stm_output *out = &stmf->output;
# 	struct stm_device *stm = stmf->stm;
# 	unsigned long size = vma->vm_end - vma->vm_start;
# 	unsigned long phys;
#
# 	if (!stm->data->mmio_addr)		/* hardware without MMIO channels */
# 		return -EOPNOTSUPP;
#
# 	/* exactly the channels of the policy, from offset 0 */
# 	if (vma->vm_pgoff || size != out->nr_chans * stm->data->sw_mmiosz)
# 		return -EINVAL;
#
# 	phys = stm->data->mmio_addr(stm->data, out->master, out->channel, out->nr_chans);
# 	if (!phys)
# 		return -EINVAL;
#
# 	pm_runtime_get_sync(&stm->dev);		/* dropped by stm_mmap_vmops.close */
#
# 	vma->vm_page_prot = pgprot_noncached(vma->vm_page_prot);
# 	vm_flags_set(vma, VM_IO | VM_DONTEXPAND | VM_DONTDUMP);
# 	vma->vm_ops = &stm_mmap_vmops;
# 	vm_iomap_memory(vma, phys, size);	/* (its result was ignored) */
# 	return 0;
# }
# ```


# %% [markdown]
# ## Your task
#
# Write the two converted functions, taking the `StmDriver` as `self`:
#
# * `stm_char_mmap_prepare(self, desc)` — the checks and errnos of `stm_char_mmap()` on the
#   descriptor (`desc.pgoff`, `vma_desc_size(desc)`, `desc.file.private_data`), the page
#   protection, the flags (`vma_desc_set_flags`), the vm_ops, and the action that replaces
#   `vm_iomap_memory()`;
# * `stm_mmap_mapped(self, start, end, pgoff, file, vm_private_data)` — what must only happen
#   once the mapping exists.
#
# The check compares them with the converted driver model on 12 scenarios (splits, fork,
# MAP_PRIVATE, wrong sizes and offsets, failures injected after the hook), then on devices
# without `mmio_addr`, without a policy, and with `mmio_addr()` returning 0.


# %% tags=["setup"]
import errno

from mmaplab.kernel.mm_types import vma_desc_set_flags, vma_desc_size
from mmaplab.kernel.pgtable import pgprot_noncached
from mmaplab.kernel.vma_flags import VMA_DONTDUMP_BIT, VMA_DONTEXPAND_BIT, VMA_IO_BIT
from mmaplab.drivers.stm import StmDriver
from mmaplab.kernel.mmap_action import mmap_action_simple_ioremap


# %% tags=["answer"]
### SOLUTION: mmaplab.drivers.stm.model:StmDriver.stm_char_mmap_prepare
### SOLUTION: mmaplab.drivers.stm.model:StmDriver.stm_mmap_mapped
### BEGIN STUB
def stm_char_mmap_prepare(self, desc):
    stm = self.stm
    output = desc.file.private_data.output
    # TODO: the checks of stm_char_mmap(), page_prot, flags, vm_ops, the action
    return -errno.EOPNOTSUPP


def stm_mmap_mapped(self, start, end, pgoff, file, vm_private_data):
    # TODO: what may only happen once the VMA exists?
    return 0
### END STUB


# %% tags=["check"]
from mmaplab.exercises import check

check("08", stm_char_mmap_prepare, stm_mmap_mapped)


# %% [markdown] tags=["hint"]
# The checks, the caching, the flags and the vm_ops describe the mapping: they go to mmap_prepare. The PM reference is undone by close(), so it must be taken where a VMA is certain to exist: vm_ops->mapped.


# %% [markdown] tags=["hint"]
# vm_iomap_memory() becomes mmap_action_simple_ioremap() with the same address and size; pgprot_noncached() goes on desc.page_prot; VM_IO, VM_DONTEXPAND and VM_DONTDUMP are set with vma_desc_set_flags() and their VMA_*_BIT numbers; the runtime-PM get moves to stm_mmap_mapped().


# %% [markdown] tags=["hint"]
# prepare: refuse with EOPNOTSUPP when the device has no mmio_addr callback, with EINVAL for a nonzero offset, for a size other than the output's channels times sw_mmiosz, and when the callback gives no address. Then uncached protection, the three flags, the driver's vm_ops and the ioremap of that address. mapped: take the runtime-PM reference and succeed.
