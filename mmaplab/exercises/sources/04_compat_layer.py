# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
#   mmaplab:
#     exercise: "04"
#     title: "Call a converted hook from a legacy caller"
#     kit: compat_layer
#     catalogue: mmaplab.exercises.ex04_compat_layer
#     chapter: book/07_compat_layer
# ---

# %% [markdown]
# # Exercise 04 — call a converted callback from a legacy caller
#
# Not every `->mmap` can become `->mmap_prepare` at once. A sysfs binary attribute, for example,
# is mapped through kernfs, which calls the attribute's legacy `->mmap(file, kobj, attr, vma)`;
# the driver behind it has a per-device callback — and *that* callback is what the series
# converts (the hv vmbus ring buffer: `channel->mmap_ring_buffer(channel, vma)` became
# `channel->mmap_prepare_ring_buffer(channel, desc)`; uio did the same with
# `uio_info->mmap_prepare`).
#
# The outer hook keeps receiving a VMA; the inner callback now wants a descriptor. The compat
# layer (mm/util.c) bridges the two:
#
# * `compat_set_desc_from_vma(file, vma)` — a descriptor describing the existing VMA;
# * `__compat_vma_mmap(desc, vma)` — prepare the descriptor's action, copy the permitted fields
#   back into the VMA, perform the action and call `vm_ops->mapped`.
#
# (`compat_vma_mmap(file, vma)` is the all-in-one variant for a file whose **own**
# `f_op->mmap_prepare` should run.)


# %% [markdown]
# ## The legacy hook
#
# Illustrative C in the kernel's style (written for this book):
#
# ```c
# /* Before: the channel callback took the VMA. */
# static int chan_ring_mmap(struct chan *chan, struct vm_area_struct *vma)
# {
# 	if (chan->state != CHAN_OPENED)
# 		return -ENODEV;
# 	vma->vm_ops = &chan_vm_ops;
# 	chan->users++;			/* what chan_vm_ops.mapped now does */
# 	return vm_iomap_memory(vma, chan->ring_phys, chan->ring_pages << PAGE_SHIFT);
# }
#
# /* The attribute's ->mmap, called by kernfs: stays a legacy hook. */
# static int chan_bin_mmap(struct file *filp, struct kobject *kobj,
# 			const struct bin_attribute *attr, struct vm_area_struct *vma)
# {
# 	struct chan *chan = container_of(kobj, struct chan, kobj);
#
# 	return chan->mmap_ring(chan, vma);
# }
#
# /* After: the callback is converted (given to you as chan.mmap_prepare_ring). */
# static int chan_ring_mmap_prepare(struct chan *chan, struct vm_area_desc *desc)
# {
# 	if (chan->state != CHAN_OPENED)
# 		return -ENODEV;
# 	desc->vm_ops = &chan_vm_ops;	/* .mapped counts users, .open/.close too */
# 	mmap_action_simple_ioremap(desc, chan->ring_phys, chan->ring_pages << PAGE_SHIFT);
# 	return 0;
# }
# ```


# %% [markdown]
# ## Your task
#
# Write the legacy wrapper `chan_bin_mmap(file, vma)` so that it calls the converted callback
# `chan.mmap_prepare_ring(chan, desc)` and the mapping behaves exactly as the legacy code did:
# same errnos (closed channel, too large), same VMA flags and PTEs, `users` counted by `mapped`,
# `open` and `close` through fork and split, and the right outcome when the remap or `mapped`
# fails.
#
# * `chan = file.private_data` (a `ChanDev`: `state`, `ring_phys`, `ring_pages`, `users`,
#   `mmap_prepare_ring`). The check also tries a closed channel and a smaller ring.
# * Return 0 or a negative errno.


# %% tags=["setup"]
from mmaplab.kernel.compat import __compat_vma_mmap, compat_set_desc_from_vma, compat_vma_mmap
from mmaplab.drivers.compat_layer import ChanDev, chan_ring_mmap_prepare, chan_vm_ops


# %% tags=["answer"]
### SOLUTION: mmaplab.drivers.compat_layer.model:chan_bin_mmap
### BEGIN STUB
def chan_bin_mmap(file, vma):
    chan = file.private_data
    # TODO: the callback now takes a descriptor: chan.mmap_prepare_ring(chan, desc)
    return 0
### END STUB


# %% tags=["check"]
from mmaplab.exercises import check

check("04", chan_bin_mmap)


# %% [markdown] tags=["hint"]
# The VMA already exists (you are inside a legacy ->mmap), and the callback wants a descriptor. mm/util.c has the steps for exactly this: describe the VMA, let the callback fill the descriptor, apply the descriptor to the VMA. Each step can fail.


# %% [markdown] tags=["hint"]
# compat_set_desc_from_vma() builds the descriptor from the file and the VMA. __compat_vma_mmap() is the apply step: it prepares the descriptor's action, copies the permitted fields back into the VMA, performs the action and calls mapped. compat_vma_mmap() is not it: that one runs the file's own f_op->mmap_prepare, which this file does not have.


# %% [markdown] tags=["hint"]
# Take the channel from the file, build the descriptor from the VMA, and hand both to the channel's converted callback. If the callback returns an error, return that error unchanged without applying anything; otherwise return whatever the apply step returns, since the action or mapped can still fail there.
