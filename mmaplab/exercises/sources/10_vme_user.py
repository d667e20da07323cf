# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
#   mmaplab:
#     exercise: "10"
#     title: "vme_user: a VME master window"
#     kit: vme_user
#     catalogue: mmaplab.exercises.ex10_vme_user
#     chapter: book/case_studies/vme_user
# ---

# %% [markdown]
# # Exercise 10 — vme_user: a VME master window
#
# `vme_user` exposes VME bus master windows as `/dev/bus/vme/m0`…`m3`. Mapping one maps the
# window's I/O memory (uncached) and allocates a small per-mapping object, `vme_user_vma_priv`,
# shared by the VMAs that split and fork make from the mapping (`open` takes a reference, the last
# `close` frees it and decrements `image[minor].mmap_count`, which keeps the window from being
# reconfigured while mapped).
#
# The device state is the driver model `VmeUser` (`mmaplab/drivers/vme_user/model.py`): `self.image[minor]`
# (`mutex`, `resource`, `mmap_count`), `self.vm_ops` (already built with `open`, `close` and —
# in the converted driver — `mapped=self.vme_user_vm_mapped`), `self._kmalloc_priv(minor)` and
# `pgprot_noncached(prot)` (the kernel's function). `open`/`close` are given and unchanged.


# %% [markdown]
# ## The legacy hook
#
# Illustrative C in the kernel's style (written for this book):
#
# ```c
# int vme_master_mmap(struct vme_resource *resource, struct vm_area_struct *vma)
# {
# 	struct vme_master_resource *image = to_master(resource);
# 	phys_addr_t phys_addr;
# 	unsigned long vma_size;
#
# 	if (resource->type != VME_MASTER)
# 		return -EINVAL;			/* "Not a master resource" */
# 	phys_addr = image->bus_resource.start + (vma->vm_pgoff << PAGE_SHIFT);
# 	vma_size = vma->vm_end - vma->vm_start;
# 	if (phys_addr + vma_size > image->bus_resource.end + 1)
# 		return -EFAULT;			/* "Map size cannot exceed the window size" */
# 	vma->vm_page_prot = pgprot_noncached(vma->vm_page_prot);
# 	return vm_iomap_memory(vma, phys_addr, vma->vm_end - vma->vm_start);
# }
#
# static int vme_user_master_mmap(unsigned int minor, struct vm_area_struct *vma)
# {
# 	struct vme_user_vma_priv *vma_priv;
# 	int err;
#
# 	mutex_lock(&image[minor].mutex);
# 	err = vme_master_mmap(image[minor].resource, vma);
# 	if (err)
# 		goto out;
# 	vma_priv = kmalloc(sizeof(*vma_priv), GFP_KERNEL);
# 	if (!vma_priv) {
# 		err = -ENOMEM;
# 		goto out;
# 	}
# 	vma_priv->minor = minor;
# 	refcount_set(&vma_priv->refcnt, 1);
# 	vma->vm_ops = &vme_user_vm_ops;
# 	vma->vm_private_data = vma_priv;
# 	image[minor].mmap_count++;
# out:
# 	mutex_unlock(&image[minor].mutex);
# 	return err;
# }
# ```


# %% [markdown]
# ## Your task
#
# Write the three converted functions as plain functions taking `self` (the `VmeUser`) first:
#
# * `vme_master_mmap_prepare(self, resource, desc)` — the checks of `vme_master_mmap()` on the
#   descriptor (same errnos, `desc.pgoff`, `vma_desc_size(desc)`), `desc.page_prot =
#   pgprot_noncached(desc.page_prot)`, then the action that replaces `vm_iomap_memory()`;
# * `vme_user_master_mmap_prepare(self, minor, desc)` — under `self.image[minor].mutex`
#   (`down_write(where)` / `up_write()`), call it and on success install `self.vm_ops`;
# * `vme_user_vm_mapped(self, start, end, pgoff, file, vm_private_data)` — what the legacy hook did
#   once the mapping existed: allocate the `vme_user_vma_priv` (`self._kmalloc_priv(minor)`, with
#   `minor = file.f_inode.dev[1]`), publish it through `vm_private_data.value`, count the mapping.
#
# The check plugs them into a `VmeUser` and compares it with the converted driver model on
# 13 scenarios (splits, fork, MAP_PRIVATE, offsets, a failing remap and a failing `mapped`),
# then on a slave resource, on a 6-page window and on another master minor. Every return
# between `down_write()` and `up_write()` must release the mutex: the model reports a lock
# still held when the system call returns, even when it fails.


# %% tags=["setup"]
import errno

from mmaplab.kernel.flags import PAGE_SHIFT
from mmaplab.kernel.mm_types import vma_desc_size
from mmaplab.kernel.pgtable import pgprot_noncached
from mmaplab.drivers.vme_user import VME_MASTER, VmeUser
from mmaplab.kernel.mmap_action import mmap_action_simple_ioremap


# %% tags=["answer"]
### SOLUTION: mmaplab.drivers.vme_user.model:VmeUser.vme_master_mmap_prepare
### SOLUTION: mmaplab.drivers.vme_user.model:VmeUser.vme_user_master_mmap_prepare
### SOLUTION: mmaplab.drivers.vme_user.model:VmeUser.vme_user_vm_mapped
### BEGIN STUB
def vme_master_mmap_prepare(self, resource, desc):
    # TODO: vme_master_mmap()'s checks on the descriptor, uncached, then the action
    return 0


def vme_user_master_mmap_prepare(self, minor, desc):
    # TODO: under image[minor].mutex, call vme_master_mmap_prepare; install self.vm_ops
    return self.vme_master_mmap_prepare(self.image[minor].resource, desc)


def vme_user_vm_mapped(self, start, end, pgoff, file, vm_private_data):
    # TODO: allocate and publish the vme_user_vma_priv, count the mapping
    return 0
### END STUB


# %% tags=["check"]
from mmaplab.exercises import check

check("10", vme_master_mmap_prepare, vme_user_master_mmap_prepare, vme_user_vm_mapped)


# %% [markdown] tags=["hint"]
# Split what the legacy hook did into what describes the mapping (checks, caching, the remap) and what needs the VMA to exist (the per-VMA private data and the count that close() undoes).


# %% [markdown] tags=["hint"]
# vm_iomap_memory() becomes mmap_action_simple_ioremap() with the same physical address and size; pgprot_noncached() goes on desc.page_prot. The allocation of vme_user_vma_priv and mmap_count move to vme_user_vm_mapped(), which publishes the private data through vm_private_data.value. Both take the image's mutex, and release it on every path (try/finally).


# %% [markdown] tags=["hint"]
# vme_master_mmap_prepare: refuse a resource that is not a master (EINVAL), compute the physical address from the bus start plus the offset in bytes, refuse a mapping past the bus end (EFAULT), then uncached and the ioremap. The outer prepare: under the image's mutex, call it and install the vm_ops only on success. mapped: under the mutex of the file's minor, allocate and publish the private data, count the mapping.
