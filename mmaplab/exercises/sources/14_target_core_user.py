# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
#   mmaplab:
#     exercise: "14"
#     title: "target_core_user: the last uio override"
#     kit: target_core_user
#     catalogue: mmaplab.exercises.ex14_target_core_user
#     chapter: book/case_studies/target_core_user
# ---

# %% [markdown]
# # Exercise 14 — target_core_user: the last uio override
#
# tcmu (`drivers/target/target_core_user.c`) is the SCSI target backend that forwards commands
# to a userspace daemon (tcmu-runner). The daemon maps `/dev/uioN` — exactly `mmap_pages`
# pages: a mailbox, the command ring and the data area — and the kernel and the daemon exchange
# commands through it. The region is described as `UIO_MEM_NONE`, so the uio core cannot map it
# itself; tcmu is the one driver with a `uio_info` mapping hook. Its pages come from
# `tcmu_vm_ops.fault`; each VMA holds a reference on the `tcmu_dev` (`kref`) so that the device
# outlives its mappings.
#
# The legacy hook took that reference by calling `tcmu_vma_open()` itself at the end. After
# v4 19/21 the hook is `tcmu_mmap_prepare(info, desc)`, called by `uio_mmap()` through the
# compat layer (exercise 12) — and the reference moves to a new `tcmu_vma_mapped()`. The uio
# core sets `vma->vm_private_data = idev` before calling the hook; the compat layer copies the
# descriptor's `private_data` into the VMA, so the descriptor must carry tcmu's own pointer.
#
# The device state is the driver model `TcmuDev` (`mmaplab/drivers/target_core_user/model.py`), `self`
# in your functions (`info` is `self.uio_info`): `self.mmap_pages`, `self.vm_ops`
# (`tcmu_vm_ops`, already built with `open`, `close`, `fault` and
# `mapped=self.tcmu_vma_mapped`), `udev.kref_get()`. `tcmu_vma_open()`/`close()` are unchanged.


# %% [markdown]
# ## The legacy hook
#
# Illustrative C in the kernel's style (written for this book):
#
# ```c
# static int tcmu_mmap(struct uio_info *info, struct vm_area_struct *vma)
# {
# 	struct tcmu_dev *udev = container_of(info, struct tcmu_dev, uio_info);
#
# 	vm_flags_set(vma, VM_DONTEXPAND | VM_DONTDUMP);
# 	vma->vm_ops = &tcmu_vm_ops;
#
# 	vma->vm_private_data = udev;
#
# 	/* the daemon must map the whole area, no more, no less */
# 	if (vma_pages(vma) != udev->mmap_pages)
# 		return -EINVAL;
#
# 	tcmu_vma_open(vma);		/* kref_get(&udev->kref) */
#
# 	return 0;
# }
# ```


# %% [markdown]
# ## Your task
#
# Write the two converted functions, taking the `TcmuDev` as `self`:
#
# * `tcmu_mmap_prepare(self, info, desc)` — the flags (`vma_desc_set_flags`), the vm_ops, the
#   private data and the exact-size check, on the descriptor (`vma_desc_pages(desc)` or
#   `(desc.end - desc.start) >> PAGE_SHIFT`);
# * `tcmu_vma_mapped(self, start, end, pgoff, file, vm_private_data)` — the device reference
#   for the new VMA (`vm_private_data.value` is what the descriptor's `private_data` became).
#
# The check compares them with the converted driver model on 12 scenarios (the exact size, one
# page short, one page more, a wrong offset, an unallocated data page, two mappings, fork,
# splits, MAP_PRIVATE, a failing `mapped`, a failing `uio_mmap`) and compares `kref` after
# every request.


# %% tags=["setup"]
import errno

from mmaplab.kernel.flags import PAGE_SHIFT
from mmaplab.kernel.mm_types import vma_desc_pages, vma_desc_set_flags
from mmaplab.kernel.vma_flags import VMA_DONTDUMP_BIT, VMA_DONTEXPAND_BIT
from mmaplab.drivers.target_core_user import TcmuDev


# %% tags=["answer"]
### SOLUTION: mmaplab.drivers.target_core_user.model:TcmuDev.tcmu_mmap_prepare
### SOLUTION: mmaplab.drivers.target_core_user.model:TcmuDev.tcmu_vma_mapped
### BEGIN STUB
def tcmu_mmap_prepare(self, info, desc):
    udev = self
    vma_desc_set_flags(desc, VMA_DONTEXPAND_BIT, VMA_DONTDUMP_BIT)
    desc.vm_ops = udev.vm_ops
    # TODO: private data, the exact-size check
    return 0


def tcmu_vma_mapped(self, start, end, pgoff, file, vm_private_data):
    # TODO: the reference tcmu_vma_open() used to take
    return 0
### END STUB


# %% tags=["check"]
from mmaplab.exercises import check

check("14", tcmu_mmap_prepare, tcmu_vma_mapped)


# %% [markdown] tags=["hint"]
# Everything the legacy hook wrote into the VMA now goes into the descriptor, including vm_private_data, which the compat layer overwrites with desc.private_data. The kref is undone by close(), so it belongs where the VMA is certain to exist.


# %% [markdown] tags=["hint"]
# The flags go on with vma_desc_set_flags() and their VMA_*_BIT numbers; the driver's vm_ops and the tcmu_dev itself go into the descriptor's vm_ops and private_data; the exact-size check compares the descriptor's length in pages with mmap_pages. The kref_get() moves to tcmu_vma_mapped(), which finds the device in vm_private_data.value; mmap_prepare takes no reference.


# %% [markdown] tags=["hint"]
# prepare, in the legacy order: the two flags, the operations, the device as private data, then EINVAL unless the request is exactly mmap_pages pages long. mapped: take a reference on the device found in the out-parameter's value, and succeed.
