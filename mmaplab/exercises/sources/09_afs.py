# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
#   mmaplab:
#     exercise: "09"
#     title: "afs: counting mappings when ranges merge"
#     kit: afs
#     catalogue: mmaplab.exercises.ex09_afs
#     chapter: book/case_studies/afs
# ---

# %% [markdown]
# # Exercise 09 — afs: counting mappings when ranges merge
#
# An AFS file is an ordinary page-cache file — but the AFS client must know which vnodes are
# mapped, so that when the server breaks a callback (another client changed the file) it can
# push the change to the mapped pages. Each vnode counts its VMAs in `cb_nr_mmap`; the first one
# puts the vnode on its volume's `open_mmaps` list, the last one takes it off
# (`afs_add_open_mmap()`/`afs_drop_open_mmap()`); `afs_vm_ops.open` counts split and forked
# copies and `.close` drops them.
#
# This conversion has a history. Upstream first converted afs by taking the reference in
# `mmap_prepare` — and leaked it, because `mmap_prepare` runs *before the merge decision*: when
# the new range continues an existing mapping of the same file, the kernel extends that VMA and
# no new VMA (and no `close`) will ever exist for the reference. The series reverts that
# (v4 09/21) and converts again (v4 10/21) with `vm_ops->mapped`, which the kernel calls only
# for a VMA it has really created.
#
# The device state is the driver model `AfsDriver` (`mmaplab/drivers/afs/model.py`):
# `self._vnode(file)` (the `afs_vnode`), `self.afs_add_open_mmap(vnode)`,
# `self.afs_drop_open_mmap(vnode)`, `self.generic_file_mmap_prepare(desc)` (mm/filemap.c: checks
# `read_folio`, installs the generic page-cache vm_ops) and `self.vm_ops` (`afs_vm_ops`, already
# built with `open`, `close`, `fault` and `mapped=self.afs_mapped`).


# %% [markdown]
# ## The legacy hook
#
# Illustrative C in the kernel's style (written for this book):
#
# ```c
# static int afs_file_mmap(struct file *file, struct vm_area_struct *vma)
# {
# 	struct afs_vnode *vnode = AFS_FS_I(file_inode(file));
# 	int ret;
#
# 	afs_add_open_mmap(vnode);		/* this VMA now maps the vnode */
#
# 	ret = generic_file_mmap(file, vma);
# 	if (ret == 0)
# 		vma->vm_ops = &afs_vm_ops;	/* open/close keep the count right */
# 	else
# 		afs_drop_open_mmap(vnode);
# 	return ret;
# }
# ```


# %% [markdown]
# ## Your task
#
# Write the two converted functions, taking the `AfsDriver` as `self`:
#
# * `afs_file_mmap_prepare(self, desc)` — what can be decided before a VMA exists;
# * `afs_mapped(self, start, end, pgoff, file, vm_private_data)` — what needs the new VMA.
#
# The check compares them with the converted driver model on 14 scenarios — faults, EOF,
# a range that merges with the previous or the next mapping, a second `open()`, splits,
# MAP_PRIVATE, fork, and allocation failures injected after `mmap_prepare` ran — and compares
# `cb_nr_mmap` and the `open_mmaps` list after every request.


# %% tags=["setup"]
from mmaplab.drivers.afs import AfsDriver


# %% tags=["answer"]
### SOLUTION: mmaplab.drivers.afs.model:AfsDriver.afs_file_mmap_prepare
### SOLUTION: mmaplab.drivers.afs.model:AfsDriver.afs_mapped
### BEGIN STUB
def afs_file_mmap_prepare(self, desc):
    # TODO: generic_file_mmap_prepare(), then afs_vm_ops
    return self.generic_file_mmap_prepare(desc)


def afs_mapped(self, start, end, pgoff, file, vm_private_data):
    # TODO: the new VMA exists now
    return 0
### END STUB


# %% tags=["check"]
from mmaplab.exercises import check

check("09", afs_file_mmap_prepare, afs_mapped)


# %% [markdown] tags=["hint"]
# A reference that close() drops must be taken for exactly the VMAs close() will run for. mmap_prepare cannot know whether its range will get a VMA of its own (it may merge, or the mmap may fail later); mapped can.


# %% [markdown] tags=["hint"]
# afs_file_mmap_prepare() still lets generic_file_mmap_prepare() do the generic work and fail if it fails, then installs afs's own vm_ops; it takes no reference. The reference (afs_add_open_mmap() on the file's vnode) moves to afs_mapped().


# %% [markdown] tags=["hint"]
# prepare: run the generic prepare, pass on its error, then replace the descriptor's operations with the driver's, and succeed. mapped: add the vnode of the mapped file (the driver's _vnode() helper) to the open mappings, and succeed.
