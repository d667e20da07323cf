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
# # stm: a runtime-PM reference per mapping
#
# **The device.** System Trace Module devices (`/dev/stm0`, e.g. Intel Trace Hub) let
# software write trace data to per-channel MMIO. After a trace policy assigned a range of
# channels to the file (`nr_chans` channels from a master/channel pair), userspace can map
# exactly those channels' MMIO and write to it directly.
#
# **The state the hook depends on**: the low-level driver's `mmio_addr()` callback and
# `sw_mmiosz` (bytes per channel), the file's assigned channel range, and the device's
# **runtime-PM usage count**: while a mapping exists the device must stay powered, so each
# stm VMA holds one PM reference. `stm_mmap_vmops` keeps that invariant: `open` takes one
# for a split or forked copy, `close` drops one.
#
# Converted in [v4 15/21](https://lore.kernel.org/all/9f3d559a264a83cf45518fcf35cc7ef1d7dfd500.1774045440.git.ljs@kernel.org/), which adds `vm_ops->mapped` for the first reference.

# %%
from mmaplab.drivers import stm
from mmaplab.lab.compare import compare
from mmaplab.widgets import mutant_text, scenario_text, spec_citation

SPEC = stm.SPEC
print(spec_citation(SPEC))

# %% [markdown]
# ## The hook, before and after
#
# **Before**: our own sketch of the legacy hook, in kernel C. The cell below compiles it
# with our C front end (`mmaplab.kernel_c`) and runs it in place of the legacy driver
# model's own `stm_char_mmap()`, on every device configuration of exercise 08: the C shown
# is the C that ran.

# %%
from mmaplab.widgets import c_legacy_text

print(c_legacy_text("08"))

# %% [markdown]
# **After ([v4 15/21](https://lore.kernel.org/all/9f3d559a264a83cf45518fcf35cc7ef1d7dfd500.1774045440.git.ljs@kernel.org/))**:
#
# The hook as the series writes it is exercise 08's C reference: the cell
# below compiles it with our C front end (`mmaplab.kernel_c`) and runs it against
# the driver model through the exercise's check, so the C shown is the C that ran.

# %%
from mmaplab.widgets import c_hook_text

print(c_hook_text("08"))

# %% [markdown]
#
# What changed, and why:
#
# * **The PM reference moved to `vm_ops->mapped`.** Taken in `mmap_prepare`, it would leak
#   whenever the mmap fails after the hook (VMA allocation, tree preallocation, the remap).
# * **`vm_iomap_memory()` → `mmap_action_simple_ioremap()`**, with `desc->` flag and
#   page-protection updates. A side effect: the old hook ignored the remap's result, so a
#   failed remap gave a "successful" mapping with no page-table entries; now the failure
#   fails `mmap()`.
#
# ## A valid mapping, in both variants
#
# The two pages of channel MMIO (128 channels × 64 bytes), shared and writable: uncached
# PFN entries, and one PM reference while the mapping lives.

# %%
print(scenario_text(SPEC, "map-channels", at=1))

# %% [markdown]
# ## Rejections
#
# The size must match the channel window exactly, and the offset must be 0 — `EINVAL`,
# before and after, with no PM reference taken:

# %%
print(scenario_text(SPEC, "wrong-size", at=None))
print()
print(scenario_text(SPEC, "nonzero-offset", at=None))

# %% [markdown]
# ## The equivalence harness
#
# Two intended differences. The first is the new `mapped` call. The second is the remap
# failing after the VMA was inserted: the converted driver now reports `ENOMEM` where the
# legacy one ignored the error and returned a mapping without page-table entries.
#
# :::{admonition} Bug found: a defect of the upstream conversion
# :class: danger
# In the converted driver (v4 15/21), `pm_runtime_get_sync()` moved into `mapped`, but the
# matching `pm_runtime_put_autosuspend()` stayed in `close`. When the remap fails after the
# VMA is inserted, the VMA already carries `stm_mmap_vmops`: `mmap_action_finish()`
# (mm/util.c) skips `mapped` and unmaps the VMA, and `close` drops a PM reference that was
# never taken. Alone that is a usage-count underflow warning from runtime PM; with a second
# mapping live, it silently steals that mapping's reference (PM usage 0 while a mapping
# exists). The model, following v4, calls `close` without `mapped` here, and the harness
# files the PM-count differences under **DEFECTS of the upstream conversion**, not under
# intended differences.
# :::

# %%
print(compare(SPEC).render())

# %% [markdown]
# ## A wrong conversion, caught
#
# Keeping `pm_runtime_get_sync()` in `mmap_prepare` (and no `mapped`) looks equivalent on
# every successful mmap — the harness finds the failures after the hook, where the
# reference is never dropped and the device can no longer runtime-suspend:

# %%
print(mutant_text(SPEC, "pm-get-in-prepare", limit=2, keys=["state"]))

# %% [markdown]
# :::{admonition} Try it
# :class: seealso
# {doc}`Exercise 08 <../../exercises/08_stm>`: convert this driver's hook yourself; the
# check runs it through the scenarios above and names the mistake behind a wrong answer.
# :::
