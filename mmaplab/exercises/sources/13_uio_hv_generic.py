# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
#   mmaplab:
#     exercise: "13"
#     title: "uio_hv_generic: the ring-buffer callback"
#     kit: uio_hv_generic
#     catalogue: mmaplab.exercises.ex13_uio_hv_generic
#     chapter: book/case_studies/uio_hv_generic
# ---

# %% [markdown]
# # Exercise 13 — uio_hv_generic: the ring-buffer callback
#
# `uio_hv_generic` hands a Hyper-V VMBus device to a userspace driver. For every channel
# (the primary one from `hv_uio_probe()`, each subchannel from `hv_uio_new_channel()`) it
# registers the callback behind the channel's sysfs `ring` file — the one
# `hv_mmap_ring_buffer_wrapper()` calls (exercise 11). The callback maps the channel's ring
# buffer: `ringbuffer_pagecount` pages (send ring, then receive ring) that `vmbus_open()`
# allocated in one contiguous block of ordinary RAM; the mmap offset is a page offset into
# the ring. A channel that is not open refuses with `ENODEV`.
#
# Here you write the other half of v4 18/21: the callback itself, converted from
# `mmap_ring_buffer(channel, vma)` to `mmap_prepare_ring_buffer(channel, desc)`. It is a plain
# function (no `self`): the device state is the `VmbusChannel` (`mmaplab/drivers/hv_vmbus/model.py`):
# `channel.state` (compare with `VmbusChannelState.CHANNEL_OPENED_STATE`),
# `channel.ringbuffer_page` (the first page), `channel.ringbuffer_pagecount`. Kernel addresses:
# `page_address(page)` and `virt_to_phys(addr)` (from `mmaplab.drivers.uio`).


# %% [markdown]
# ## The legacy hook
#
# Illustrative C in the kernel's style (written for this book):
#
# ```c
# static int hv_uio_ring_mmap(struct vmbus_channel *channel, struct vm_area_struct *vma)
# {
# 	void *ring_buffer = page_address(channel->ringbuffer_page);
#
# 	if (channel->state != CHANNEL_OPENED_STATE)
# 		return -ENODEV;
#
# 	/* the whole ring, as I/O memory; vm_pgoff is a page offset into it */
# 	return vm_iomap_memory(vma, virt_to_phys(ring_buffer),
# 				channel->ringbuffer_pagecount << PAGE_SHIFT);
# }
# ```


# %% [markdown]
# ## Your task
#
# Write `hv_uio_ring_mmap_prepare(channel, desc)`: the same check and errno, and the action
# that replaces `vm_iomap_memory()` with its size and offset checks.
#
# The check registers your callback on a uio_hv_generic device and maps the subchannel's `ring`
# file through kernfs and the vmbus wrapper, on 12 scenarios (the whole ring, the receive ring
# alone, too big, offsets past the end, two mappings, MAP_PRIVATE, fork, a split, mprotect,
# injected failures), then on a subchannel that was closed.


# %% tags=["setup"]
import errno

from mmaplab.drivers.hv_vmbus import VmbusChannelState
from mmaplab.drivers.uio import page_address, virt_to_phys
from mmaplab.kernel.flags import PAGE_SHIFT, PAGE_SIZE
from mmaplab.kernel.mmap_action import mmap_action_ioremap_full, mmap_action_simple_ioremap
from mmaplab.kernel.pgtable import pgprot_noncached


# %% tags=["answer"]
### SOLUTION: mmaplab.drivers.uio_hv_generic.model:hv_uio_ring_mmap_prepare
### BEGIN STUB
def hv_uio_ring_mmap_prepare(channel, desc):
    ring_buffer = page_address(channel.ringbuffer_page)
    # TODO: the channel-state check, then describe the remap of the ring
    return 0
### END STUB


# %% tags=["check"]
from mmaplab.exercises import check

check("13", hv_uio_ring_mmap_prepare)


# %% [markdown] tags=["hint"]
# vm_iomap_memory() has a descriptor twin that takes the same two numbers and keeps the same checks (the size of the VMA plus its offset must fit in the length).


# %% [markdown] tags=["hint"]
# The twin is mmap_action_simple_ioremap(), given the ring's physical address (virt_to_phys() of the ring's kernel address) and its length from the channel, in bytes. Keep only what the legacy callback did: it did not change the page protection.


# %% [markdown] tags=["hint"]
# Look up the ring's kernel address first, as the legacy callback did; refuse a channel that is not open with ENODEV; then describe a simple ioremap of the ring's physical address over the channel's page count converted to bytes, and succeed.
