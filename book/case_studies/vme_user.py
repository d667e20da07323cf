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
# # vme_user: per-mapping private data allocated in `mapped`
#
# **The device.** `vme_user` (staging) exposes VME bus windows of a VMEbus bridge as
# character devices: minors 0–3 are *master* windows (the CPU reaches VME address space
# through them), 4–7 slave windows, 8 the control device. Only master windows can be
# mapped.
#
# **The state the hook depends on**: per minor, an `image_desc` with a mutex, the window's
# `vme_resource` (bus start and end) and `mmap_count` — the number of live mappings, which
# makes `VME_SET_MASTER` refuse to move the window under a mapping. Per `mmap()` call, a
# `vme_user_vma_priv` (minor, refcount) in `vm_private_data`, shared by split and forked
# copies: `open` increments it, `close` decrements it and, at zero, frees it and decrements
# `mmap_count`.
#
# Converted in [v4 16/21](https://lore.kernel.org/all/08ecc1e1d319564fd49b9e9012f994edaff921db.1774045440.git.ljs@kernel.org/) (identical to upstream `334fbe734e68`).

# %%
from mmaplab.drivers import vme_user
from mmaplab.lab.compare import compare
from mmaplab.widgets import mutant_text, scenario_text, spec_citation

SPEC = vme_user.SPEC
print(spec_citation(SPEC))

# %% [markdown]
# ## The hook, before and after
#
# **Before**: our own sketch of the legacy hooks, in kernel C: the bus-level helper
# `vme_master_mmap()` in `vme.c` and the char-device side in `vme_user.c`. The cell below
# compiles it with our C front end (`mmaplab.kernel_c`) and runs it in place of the legacy
# driver model's own two functions, on every device configuration of exercise 10: the C
# shown is the C that ran.

# %%
from mmaplab.widgets import c_legacy_text

print(c_legacy_text("10"))

# %% [markdown]
# **After ([v4 16/21](https://lore.kernel.org/all/08ecc1e1d319564fd49b9e9012f994edaff921db.1774045440.git.ljs@kernel.org/))**:
#
# The hook as the series writes it is exercise 10's C reference: the cell
# below compiles it with our C front end (`mmaplab.kernel_c`) and runs it against
# the driver model through the exercise's check, so the C shown is the C that ran.

# %%
from mmaplab.widgets import c_hook_text

print(c_hook_text("10"))

# %% [markdown]
#
# What changed, and why:
#
# * **The allocation and the count moved to `vm_ops->mapped`**, which writes the new
#   object through its `vm_private_data` argument (the kernel stores it in the VMA).
#   Allocated in `mmap_prepare`, the object would leak when the mapping fails later.
# * **`vm_iomap_memory()` → `mmap_action_simple_ioremap()`**, page protection on
#   `desc->page_prot`.
# * A consequence worth knowing: the VMA carries `vme_user_vm_ops` (with `close`) *before*
#   `mapped` has run. If the remap fails after insertion, or `mapped` itself fails, the
#   kernel unmaps the VMA and `close` sees a NULL `vm_private_data`.
#
# ## A valid mapping, in both variants
#
# Two pages of the four-page master window, shared and writable: uncached PFN entries at
# the window's physical base, one `vme_user_vma_priv`, `mmap_count` 1.

# %%
print(scenario_text(SPEC, "map-window", at=2))

# %% [markdown]
# ## Rejections
#
# Five pages of a four-page window fail the window check (`EFAULT`). Any nonzero offset
# fails too, with `EINVAL`: the driver adds the offset to the physical address *and* passes
# it on to `vm_iomap_memory()` / `simple_ioremap`, which apply it again — a quirk kept by
# the conversion.

# %%
print(scenario_text(SPEC, "too-big", at=None))
print()
print(scenario_text(SPEC, "nonzero-offset", at=None))

# %% [markdown]
# ## The equivalence harness
#
# :::{admonition} Bug found: a defect of the upstream conversion
# :class: danger
# The converted driver, as posted in v4 16/21 (and as merged: torvalds/linux
# @334fbe734e68), installs `vme_user_vm_ops` — with `close` — on the descriptor, but
# allocates the `vme_user_vma_priv` that `close` dereferences only in `mapped`. When the
# remap fails after the VMA is inserted, or `mapped` itself fails, `mmap_action_finish()`
# (mm/util.c) unmaps the VMA; `do_munmap()` → `remove_vma()` → `vma_close()` then runs
# `vme_user_vm_close()` on a VMA whose `vm_private_data` is NULL: a NULL-pointer oops. The
# legacy driver had no such path (its `->mmap` failed before `vm_ops` were set). The
# harness files these two scenarios under **DEFECTS of the upstream conversion**, not under
# intended differences; the model reports the dereference as a readable `HookError`
# instead of crashing. A fix would make `close` tolerate a NULL `vm_private_data`.
# :::
#
# The one intended difference is the new `mapped` call.

# %%
print(compare(SPEC).render())

# %% [markdown]
# ## A wrong conversion, caught
#
# Allocating the `vme_user_vma_priv` and counting the mapping in `mmap_prepare`: when the
# action then fails (a nonzero offset), nothing frees the object and `mmap_count` stays up,
# so the window can never be reconfigured:

# %%
print(mutant_text(SPEC, "alloc-in-mmap_prepare", limit=2, keys=["state"]))

# %% [markdown]
# :::{admonition} Try it
# :class: seealso
# {doc}`Exercise 10 <../../exercises/10_vme_user>`: convert this driver's hook yourself; the
# check runs it through the scenarios above and names the mistake behind a wrong answer.
# :::
