# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
#   mmaplab:
#     exercise: "11"
#     title: "hv vmbus: legacy caller, converted callback"
#     kit: hv_vmbus
#     catalogue: mmaplab.exercises.ex11_hv_vmbus
#     chapter: book/case_studies/hv_vmbus
# ---

# %% [markdown]
# # Exercise 11 — hv vmbus: a legacy caller of a converted callback
#
# Each VMBus channel has a sysfs file `/sys/bus/vmbus/devices/<guid>/channels/<relid>/ring`;
# mapping it maps the channel's ring buffer (send + receive rings) so that a userspace driver
# such as DPDK or the fcopy daemon can talk to the host directly. The file is a sysfs *binary
# attribute*: kernfs calls the attribute's legacy `->mmap(file, kobj, attr, vma)` —
# `hv_mmap_ring_buffer_wrapper()` — which finds the channel and calls the callback the
# channel's driver registered.
#
# The series converts that **callback** — `channel->mmap_ring_buffer(channel, vma)` becomes
# `channel->mmap_prepare_ring_buffer(channel, desc)` — but not the attribute: kernfs still hands
# the wrapper a VMA. So the wrapper becomes a *stacked caller* (exercise 04): describe the VMA
# with a descriptor, let the callback fill it, apply it.
#
# The device state is the driver model `VmbusDrv` (`mmaplab/drivers/hv_vmbus/model.py`), `self` in
# your function: `kobj` is the `VmbusChannel` (the C does `container_of(kobj, struct
# vmbus_channel, kobj)`), whose `mmap_prepare_ring_buffer` is the converted callback
# (uio_hv_generic's, exercise 13). The compat layer (mm/util.c) gives
# `compat_set_desc_from_vma(file, vma)` and `__compat_vma_mmap(desc, vma)`.


# %% [markdown]
# ## The legacy hook
#
# Illustrative C in the kernel's style (written for this book):
#
# ```c
# static int hv_mmap_ring_buffer_wrapper(struct file *filp, struct kobject *kobj,
# 					const struct bin_attribute *attr,
# 					struct vm_area_struct *vma)
# {
# 	struct vmbus_channel *channel = container_of(kobj, struct vmbus_channel, kobj);
#
# 	/* before the series the callback took the VMA itself */
# 	return channel->mmap_ring_buffer(channel, vma);
# }
# ```


# %% [markdown]
# ## Your task
#
# Write `hv_mmap_ring_buffer_wrapper(self, filp, kobj, attr, vma)` for the converted channel
# callback: `channel.mmap_prepare_ring_buffer(channel, desc)`.
#
# The check mounts your wrapper in the vmbus driver and compares it with the converted model on
# 13 scenarios through the real kernfs path (the whole ring, the receive half, oversized and
# out-of-range offsets, MAP_PRIVATE, fork, splits, mprotect, injected failures of the remap and
# of the compat layer), then on a channel that was closed (the callback refuses with ENODEV).


# %% tags=["setup"]
from mmaplab.kernel.compat import __compat_vma_mmap, compat_set_desc_from_vma
from mmaplab.kernel.compat import compat_set_vma_from_desc
from mmaplab.drivers.hv_vmbus import VmbusDrv
from mmaplab.kernel.mmap_action import mmap_action_complete


# %% tags=["answer"]
### SOLUTION: mmaplab.drivers.hv_vmbus.model:hv_mmap_ring_buffer_wrapper
### BEGIN STUB
def hv_mmap_ring_buffer_wrapper(self, filp, kobj, attr, vma):
    channel = kobj
    desc = compat_set_desc_from_vma(filp, vma)
    # TODO: the callback fills the descriptor; then apply it to the VMA
    return channel.mmap_prepare_ring_buffer(channel, desc)
### END STUB


# %% tags=["check"]
from mmaplab.exercises import check

check("11", hv_mmap_ring_buffer_wrapper)


# %% [markdown] tags=["hint"]
# The callback only describes the mapping in a descriptor: nothing happens to the VMA until the descriptor is applied, and the mm will not do it for you, because you are inside a legacy ->mmap, after the point where the mm performs actions.


# %% [markdown] tags=["hint"]
# The compat layer has both halves: compat_set_desc_from_vma() builds a descriptor from the file and the VMA; __compat_vma_mmap() prepares its action (here a simple ioremap, with its checks), copies the descriptor into the VMA and performs the action. Its result is the wrapper's.


# %% [markdown] tags=["hint"]
# The channel is the kobject. Build the descriptor from the file and the VMA, hand it to the channel's converted callback, and return the callback's error unchanged if it fails. Otherwise return the result of applying the descriptor to the VMA.
