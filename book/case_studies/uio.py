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
# # uio: the core keeps `->mmap`, the driver override moves to `mmap_prepare`
#
# **The device.** The userspace-I/O core (`drivers/uio/uio.c`) gives each UIO device a
# `/dev/uioN` whose mmap exposes up to `MAX_UIO_MAPS` memory regions the kernel driver
# described in `struct uio_info`'s `mem[]`. The mmap *offset* selects the region:
# `vm_pgoff` is `N` for `mem[N]`, not a byte offset. Each region has a type: `PHYS`/`IOVA`
# (remapped physical memory, `PHYS` uncached), `LOGICAL`/`VIRTUAL` (kernel pages faulted
# in one at a time), `DMA_COHERENT` (`dma_mmap_coherent()`).
#
# **The state the hook depends on**: `idev->info` (NULL once the device is unregistered),
# protected by `info_lock`, and the `mem[]` table — plus, before the series, an optional
# driver override `uio_info->mmap(info, vma)`.
#
# **What [v4 19/21](https://lore.kernel.org/all/157583e4477705b496896c7acd4ac88a937b8fa6.1774045440.git.ljs@kernel.org/) changes.** `uio_fops` keeps its legacy `.mmap = uio_mmap`: the core's
# built-in region types still use VMA-based helpers. Only the driver override changes:
# `uio_info->mmap` is replaced by `uio_info->mmap_prepare(info, desc)`, which the core
# calls **through the compatibility layer**, still under `info_lock` and after its own
# checks. The only in-tree override is target_core_user's ({doc}`target_core_user`).

# %%
from mmaplab.drivers import uio
from mmaplab.lab.compare import compare
from mmaplab.widgets import mutant_text, scenario_text, spec_citation

SPEC = uio.SPEC
print(spec_citation(SPEC))

# %% [markdown]
# ## The hook, before and after
#
# **Before**: our own rendering of `uio_mmap()` as Linux 7.0 has it, in kernel C: the checks
# under `info_lock`, then the driver's legacy `uio_info->mmap` override, which gets the VMA,
# or the built-in memory types. The cell below compiles it with our C front end
# (`mmaplab.kernel_c`) and runs it in place of the uio core model's own `uio_mmap()`, on
# every device configuration of exercise 12 (tcm-user's legacy `->mmap` is reached through
# the function pointer): the C shown is the C that ran.

# %%
from mmaplab.widgets import c_legacy_text

print(c_legacy_text("12"))

# %% [markdown]
# **After ([v4 19/21](https://lore.kernel.org/all/157583e4477705b496896c7acd4ac88a937b8fa6.1774045440.git.ljs@kernel.org/))**:
#
# The hook as the series writes it is exercise 12's C reference: the cell
# below compiles it with our C front end (`mmaplab.kernel_c`) and runs it against
# the driver model through the exercise's check, so the C shown is the C that ran.

# %%
from mmaplab.widgets import c_hook_text

print(c_hook_text("12"))

# %% [markdown]
#
# What changed, and why:
#
# * **`struct uio_info`** swaps `mmap` for `mmap_prepare`; drivers set up a descriptor
#   (flags, `vm_ops`, `private_data`, optionally an action) instead of a VMA.
# * **The core is a stacked caller**: it has a VMA (it is itself a legacy `->mmap`), so it
#   bridges with `compat_set_desc_from_vma()` + `__compat_vma_mmap()`. The descriptor is
#   copied back whole: `vma->vm_private_data` becomes `desc->private_data`, replacing the
#   `idev` pointer `uio_mmap()` stored earlier — an override that relied on it must now set
#   `private_data` itself.
# * `__compat_vma_mmap()` calls `vm_ops->mapped` — from inside a legacy `->mmap`. v4 as
#   posted refused exactly that (`__vma_check_mmap_hook()`), which broke the only override;
#   see {doc}`target_core_user`.
#
# The harness below drives the built-in region types (no override): they must behave
# exactly as before.
#
# ## Valid mappings, in both variants
#
# `mem[0]`, 6 KiB of device registers (`PHYS`): one uncached PFN page. `mem[1]`, two
# kmalloc'ed pages (`LOGICAL`): no PTEs until the faults bring in the kernel pages, with
# `VM_DONTEXPAND | VM_DONTDUMP`.

# %%
print(scenario_text(SPEC, "map-phys", at=1))
print()
print(scenario_text(SPEC, "map-logical", at=2))

# %% [markdown]
# ## Rejections
#
# Two pages of the 6 KiB register region pass the core's page-rounded check but fail
# `uio_mmap_physical()`'s byte check (`EINVAL`); a `PHYS` region that does not start on a
# page boundary cannot be mapped (`ENODEV`).

# %%
print(scenario_text(SPEC, "phys-beyond-bytes", at=None))
print()
print(scenario_text(SPEC, "unaligned-phys", at=None))

# %% [markdown]
# ## The equivalence harness

# %%
print(compare(SPEC).render())

# %% [markdown]
# ## A wrong conversion, caught
#
# A refactoring of the core that drops `pgprot_noncached()` for `PHYS` regions maps device
# registers cacheable:

# %%
print(mutant_text(SPEC, "phys-cached", limit=2, keys=["page_prot"]))

# %% [markdown]
# :::{admonition} Try it
# :class: seealso
# {doc}`Exercise 12 <../../exercises/12_uio>`: convert this driver's hook yourself; the
# check runs it through the scenarios above and names the mistake behind a wrong answer.
# :::
