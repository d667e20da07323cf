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
# # hv_vmbus: a stacked caller through the compatibility layer
#
# **The object.** Each Hyper-V VMBus channel has a pair of ring buffers (send + receive)
# in guest memory. Userspace drivers (`uio_hv_generic`) map a channel's rings through a
# sysfs binary attribute, `/sys/bus/vmbus/devices/<guid>/channels/<relid>/ring`. The
# attribute's `mmap` is a vmbus wrapper that calls a per-channel callback supplied by the
# device driver.
#
# **The state the hook depends on**: the channel — its ring pages (one contiguous
# allocation from `vmbus_open()`), `ringbuffer_pagecount`, its state (the callback refuses
# a channel that is not open), the callback pointer, and whether the "ring" file is
# visible (`hv_create_ring_sysfs()` / `hv_remove_ring_sysfs()`).
#
# **Why it needs the compatibility layer.** sysfs binary attributes have no
# `mmap_prepare`: kernfs calls the attribute's legacy `mmap(file, kobj, attr, vma)` with a
# real VMA. [v4 18/21](https://lore.kernel.org/all/05467cb62267d750e5c770147517d4df0246cda6.1774045440.git.ljs@kernel.org/) converts the *callback* to `mmap_prepare_ring_buffer(channel, desc)`,
# so the wrapper, still called with a VMA, becomes a **stacked caller** ([v4 17/21](https://lore.kernel.org/all/24aac3019dd34740e788d169fccbe3c62781e648.1774045440.git.ljs@kernel.org/)): it
# builds a descriptor from the VMA, calls the prepare callback, then lets
# `__compat_vma_mmap()` run the action and write the result back into the VMA.
#
# This page drives the vmbus side with uio_hv_generic's callback on the primary channel;
# {doc}`uio_hv_generic` looks at the callback itself.

# %%
from mmaplab.drivers import hv_vmbus
from mmaplab.lab.compare import compare
from mmaplab.widgets import mutant_text, scenario_text, spec_citation

SPEC = hv_vmbus.SPEC
print(spec_citation(SPEC))

# %% [markdown]
# ## The wrapper, before and after
#
# **Before**: our own sketch of the sysfs "ring" attribute's `->mmap`, which hands the VMA
# to the channel's legacy callback, in kernel C. The cell below compiles it with our C front
# end (`mmaplab.kernel_c`) and runs it in place of the vmbus driver model's own wrapper, on
# every device configuration of exercise 11: the C shown is the C that ran.

# %%
from mmaplab.widgets import c_legacy_text

print(c_legacy_text("11"))

# %% [markdown]
# **After ([v4 18/21](https://lore.kernel.org/all/05467cb62267d750e5c770147517d4df0246cda6.1774045440.git.ljs@kernel.org/))** — the callback receives a descriptor built from the VMA:
#
# The hook as the series writes it is exercise 11's C reference: the cell
# below compiles it with our C front end (`mmaplab.kernel_c`) and runs it against
# the driver model through the exercise's check, so the C shown is the C that ran.

# %%
from mmaplab.widgets import c_hook_text

print(c_hook_text("11"))

# %% [markdown]
#
# What changed, and why:
#
# * `struct vmbus_channel`'s callback pointer becomes `mmap_prepare_ring_buffer`, and
#   `hv_create_ring_sysfs()` takes the new type.
# * **The wrapper keeps its legacy signature** (kernfs calls it with a VMA) and uses the
#   compatibility layer: `compat_set_desc_from_vma()` copies start, end, pgoff, file, flags
#   and page protection; `__compat_vma_mmap()` runs the action's prepare step, copies the
#   descriptor back (including `vm_ops` and `private_data`, NULL here) and completes the
#   action on the VMA. An error is returned to kernfs, whose caller unmaps the VMA.
# * The rmap-hiding option is forced off in the compatibility layer (chapter
#   {doc}`../06_locking`): the VMA is not in the tree yet.
#
# ## A valid mapping, in both variants
#
# The whole ring (2 send + 2 receive pages, scaled down from 2 MiB each) — ordinary RAM
# remapped as PFN entries, *not* uncached; kernfs installs its own `kernfs_vm_ops` over the
# VMA:

# %%
print(scenario_text(SPEC, "map-ring", at=2))

# %% [markdown]
# ## Rejections
#
# The callback's `simple_ioremap` checks bound the request by the ring: too many pages, or
# an offset that runs past the end, is `EINVAL` — now from the action's prepare step inside
# `__compat_vma_mmap()`:

# %%
print(scenario_text(SPEC, "too-big", at=None))
print()
print(scenario_text(SPEC, "offset-runs-past-ring", at=None))

# %% [markdown]
# ## The equivalence harness
#
# No difference, including when the compat layer's action step fails (for the legacy
# driver the harness fails its `->mmap` instead): `ENOMEM` and nothing left behind, either
# way.

# %%
print(compare(SPEC).render())

# %% [markdown]
# ## A wrong stacked caller, caught
#
# A wrapper that calls the prepare callback and returns 0 — "the kernel will perform the
# action later" — maps nothing: from a legacy `->mmap`, nobody else will ever run the
# action. Every access faults with `SIGBUS`:

# %%
print(mutant_text(SPEC, "skip-__compat_vma_mmap", limit=2, keys=["errno"]))

# %% [markdown]
# :::{admonition} Try it
# :class: seealso
# {doc}`Exercise 11 <../../exercises/11_hv_vmbus>`: convert this driver's hook yourself; the
# check runs it through the scenarios above and names the mistake behind a wrong answer.
# :::
