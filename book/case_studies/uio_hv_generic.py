# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # uio_hv_generic: the ring-buffer callback
#
# **The device.** `uio_hv_generic` binds a Hyper-V VMBus device to the userspace-I/O
# framework, so a userspace program (e.g. DPDK's netvsc PMD, or the `fcopy` daemon) can
# drive it. Besides `/dev/uioN`, each channel's ring buffers are mappable through the
# channel's sysfs "ring" file, whose mmap ends in the driver's callback.
#
# **The state the hook depends on**: the channel — its ring pages (one contiguous block
# allocated by `vmbus_open()`, kernel RAM), `ringbuffer_pagecount` (send + receive), and
# the channel state: a channel that is not open gives `ENODEV`. The offset is a page offset
# into the ring (the receive ring starts after the send ring). No `vm_ops`.
#
# [v4 18/21](https://lore.kernel.org/all/05467cb62267d750e5c770147517d4df0246cda6.1774045440.git.ljs@kernel.org/) converts the callback together with the vmbus wrapper (see {doc}`hv_vmbus`,
# which shows the compatibility layer the wrapper uses). This page maps a *subchannel's*
# ring, registered later by `hv_uio_new_channel()`.

# %%
from mmaplab.drivers import uio_hv_generic
from mmaplab.lab.compare import compare
from mmaplab.widgets import mutant_text, scenario_text, spec_citation

SPEC = uio_hv_generic.SPEC
print(spec_citation(SPEC))

# %% [markdown]
# ## The callback, before and after
#
# **Before**: our own sketch of the channel's ring callback, which maps the ring on the VMA,
# in kernel C. The cell below compiles it with our C front end (`mmaplab.kernel_c`) and runs
# it in place of the callback the legacy driver model registers, on every device
# configuration of exercise 13: the C shown is the C that ran.

# %%
from mmaplab.widgets import c_legacy_text

print(c_legacy_text("13"))

# %% [markdown]
# **After ([v4 18/21](https://lore.kernel.org/all/05467cb62267d750e5c770147517d4df0246cda6.1774045440.git.ljs@kernel.org/))**:
#
# The hook as the series writes it is exercise 13's C reference: the cell
# below compiles it with our C front end (`mmaplab.kernel_c`) and runs it against
# the driver model through the exercise's check, so the C shown is the C that ran.

# %%
from mmaplab.widgets import c_hook_text

print(c_hook_text("13"))

# %% [markdown]
#
# What changed, and why:
#
# * **`vm_iomap_memory()` → `mmap_action_simple_ioremap()`** with the same physical range:
#   the bounds and offset checks move to the action's prepare step, run inside
#   `__compat_vma_mmap()` by the vmbus wrapper; the remap happens at completion.
# * The callback keeps the default (cached) page protection: the ring is RAM, not device
#   memory.
# * Registration passes the new callback to `hv_create_ring_sysfs()`.
#
# ## A valid mapping, in both variants
#
# The receive ring only: offset 2 pages (the send ring's size), 2 pages long. The PTEs
# point at the ring's third and fourth pages:

# %%
print(scenario_text(SPEC, "map-receive-ring", at=1))

# %% [markdown]
# ## Rejections
#
# More pages than the ring, or an offset beyond it: `EINVAL` from the bounds checks.

# %%
print(scenario_text(SPEC, "too-big", at=None))
print()
print(scenario_text(SPEC, "offset-beyond-ring", at=None))

# %% [markdown]
# ## The equivalence harness

# %%
print(compare(SPEC).render())

# %% [markdown]
# ## A wrong conversion, caught
#
# `mmap_action_ioremap_full()` on the ring's first pfn looks like a shortcut — it maps the
# whole VMA from that pfn — but it ignores the offset (the "receive ring" mapping shows the
# send ring) and bounds nothing:

# %%
print(mutant_text(SPEC, "ioremap_full-ignores-offset", limit=2, keys=["pte"]))

# %% [markdown]
# :::{admonition} Try it
# :class: seealso
# {doc}`Exercise 13 <../../exercises/13_uio_hv_generic>`: convert this driver's hook yourself; the
# check runs it through the scenarios above and names the mistake behind a wrong answer.
# :::
