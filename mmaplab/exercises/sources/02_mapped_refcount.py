# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
#   mmaplab:
#     exercise: "02"
#     title: "Count mappings in mapped"
#     kit: mapped_refcount
#     catalogue: mmaplab.exercises.ex02_mapped_refcount
#     chapter: book/05_vm_operations
# ---

# %% [markdown]
# # Exercise 02 — count mappings in `mapped`, not in `mmap_prepare`
#
# Some files track how many VMAs map them (afs does, to know whether third-party changes must be
# pushed into mapped pages). The legacy `->mmap` counts the new VMA; `vm_ops->open` counts each
# copy made by split or fork; `vm_ops->close` uncounts each VMA that goes away. The invariant:
# **`nr_mmaps` == number of live VMAs mapping the file**.
#
# `mmap_prepare` runs **before** the kernel decides whether the new range merges into a
# neighbour, and before the VMA is allocated. The series adds `vm_ops->mapped(start, end, pgoff,
# file, vm_private_data)`, called **only when a new VMA was established and not merged**, after
# the action completed. It returns 0 or a negative errno (an error unmaps the new VMA and fails
# the mmap). Its last argument is an out-parameter: setting `vm_private_data.value` sets the new
# VMA's `vm_private_data`.
#
# One more path: a mapping that fails *after* its VMA exists (the action, or `mapped` itself) is
# unmapped with its `vm_ops` already installed, so **`close` runs for a VMA that `mapped` never
# counted**. The legacy `close` drops a count unconditionally; the converted one must not.


# %% [markdown]
# ## The legacy hook
#
# Illustrative C in the kernel's style (written for this book):
#
# ```c
# static void trk_vm_open(struct vm_area_struct *vma)
# {
# 	trk_add_open_mmap(vma->vm_file->private_data);
# }
#
# static void trk_vm_close(struct vm_area_struct *vma)
# {
# 	trk_drop_open_mmap(vma->vm_file->private_data);
# }
#
# static const struct vm_operations_struct trk_vm_ops = {
# 	.open	= trk_vm_open,
# 	.close	= trk_vm_close,
# 	.fault	= trk_fault,
# };
#
# static int trk_mmap(struct file *file, struct vm_area_struct *vma)
# {
# 	struct trk_dev *dev = file->private_data;
#
# 	if (vma->vm_pgoff + vma_pages(vma) > dev->nr_pages)
# 		return -EINVAL;
# 	trk_add_open_mmap(dev);
# 	vma->vm_ops = &trk_vm_ops;
# 	return 0;
# }
# ```


# %% [markdown]
# ## Your task
#
# Define `trk_mmap_prepare(desc)` and `trk_vm_ops` (a `VmOperationsStruct`) so that the count
# stays right through merges with neighbouring mappings, splits, fork, MAP_FIXED replacement,
# exit, a VMA allocation that fails after `mmap_prepare` ran, and a `mapped` that fails.
#
# * The device is `desc.file.private_data` (in `mapped`: `file.private_data`; in `open`/`close`:
#   `vma.vm_file.private_data`): a `TrkDev` with `nr_pages`, `add_open_mmap()`,
#   `drop_open_mmap()` and `nr_mmaps`.
# * `trk_fault` (given) is the fault handler to keep in the operations.
# * `mapped` marks the VMA it counted by publishing the device as its private data
#   (`vm_private_data.value = dev`); `open` and `close` then find the device in
#   `vma.vm_private_data`, and `close` drops a count only when it is set.
# * `VmOperationsStruct(name="trk_vm_ops", mapped=..., open=..., close=..., fault=trk_fault)`.


# %% tags=["setup"]
import errno

from mmaplab.kernel.mm_types import VmOperationsStruct, vma_desc_pages
from mmaplab.drivers.mapped_refcount import TrkDev, trk_fault


# %% tags=["answer"]
### SOLUTION: mmaplab.drivers.mapped_refcount.model:trk_mapped
### SOLUTION: mmaplab.drivers.mapped_refcount.model:trk_vm_open
### SOLUTION: mmaplab.drivers.mapped_refcount.model:trk_vm_close
### SOLUTION: mmaplab.drivers.mapped_refcount.model:trk_vm_ops
### SOLUTION: mmaplab.drivers.mapped_refcount.model:trk_mmap_prepare
### BEGIN STUB
def trk_vm_open(vma):
    vma.vm_file.private_data.add_open_mmap()


def trk_vm_close(vma):
    vma.vm_file.private_data.drop_open_mmap()


trk_vm_ops = VmOperationsStruct(name="trk_vm_ops", open=trk_vm_open, close=trk_vm_close,
                                fault=trk_fault)


def trk_mmap_prepare(desc):
    # TODO: convert trk_mmap() above
    desc.vm_ops = trk_vm_ops
    return 0
### END STUB


# %% tags=["check"]
from mmaplab.exercises import check

check("02", trk_mmap_prepare, trk_vm_ops)


# %% [markdown] tags=["hint"]
# mmap_prepare runs before the kernel knows whether a new VMA will exist: the range may merge into a neighbour, or a later step may fail. Per-VMA accounting belongs in a hook that runs only for a real, new VMA; and close runs for every VMA that goes away, counted or not.


# %% [markdown] tags=["hint"]
# vm_ops->mapped runs once for each new, unmerged VMA, after the action: count there, not in mmap_prepare. open still counts the copies that split and fork make. Because a late failure unmaps a VMA that mapped never counted, mapped leaves a mark on the VMA through its vm_private_data out-parameter, and close looks for it.


# %% [markdown] tags=["hint"]
# mmap_prepare keeps only the size check (-EINVAL past the end of the file, in pages) and installs the operations. mapped adds one to the device's count and publishes the device as the VMA's private data. open adds one for the device found in the VMA's private data; close returns at once when that private data is empty, and drops one otherwise.
