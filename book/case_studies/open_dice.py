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
# # open-dice: a secret region, write-combined and never inherited
#
# **The device.** Open Profile for DICE hands firmware-derived secrets (CDIs) to the
# operating system in a reserved-memory region described by the device tree.
# `/dev/open-dice0` lets userspace map that region read-only (and wipe it through a
# `write()` of the driver, not through the mapping).
#
# **The state the hook depends on**: the device's `struct reserved_mem` — a page-aligned
# `base` and `size` checked at probe time — reached through `file->private_data`. No
# `vm_ops`, no counters. The hook's policy lives in flags: a *shared* mapping may not be
# writable, and it loses `VM_MAYWRITE` so `mprotect()` cannot add write access later;
# `VM_DONTCOPY` keeps the secrets out of fork children, `VM_DONTDUMP` out of core dumps.
#
# Converted in [v4 12/21](https://lore.kernel.org/all/5a83ab00195dc8d0609fa6cc525493010ac4ead1.1774045440.git.ljs@kernel.org/), with `mmap_action_simple_ioremap()` ([v4 11/21](https://lore.kernel.org/all/a08ef1c4542202684da63bb37f459d5dbbeddd91.1774045440.git.ljs@kernel.org/)).

# %%
from mmaplab.drivers import open_dice
from mmaplab.lab.compare import compare
from mmaplab.widgets import mutant_text, scenario_text, spec_citation

SPEC = open_dice.SPEC
print(spec_citation(SPEC))

# %% [markdown]
# ## The hook, before and after
#
# **Before**: our own sketch of the legacy hook, in kernel C. The cell below compiles it
# with our C front end (`mmaplab.kernel_c`) and runs it in place of the legacy driver
# model's own `open_dice_mmap()`, on every device configuration of exercise 06: the C
# shown is the C that ran.

# %%
from mmaplab.widgets import c_legacy_text

print(c_legacy_text("06"))

# %% [markdown]
# **After ([v4 12/21](https://lore.kernel.org/all/5a83ab00195dc8d0609fa6cc525493010ac4ead1.1774045440.git.ljs@kernel.org/))**:
#
# The hook as the series writes it is exercise 06's C reference: the cell
# below compiles it with our C front end (`mmaplab.kernel_c`) and runs it against
# the driver model through the exercise's check, so the C shown is the C that ran.

# %%
from mmaplab.widgets import c_hook_text

print(c_hook_text("06"))

# %% [markdown]
#
# What changed, and why:
#
# * **Flag tests and updates go through the descriptor accessors**: `vma_desc_test()`,
#   `vma_desc_clear_flags()`, `vma_desc_set_flags()` instead of reading `vma->vm_flags`
#   and calling `vm_flags_clear()`/`vm_flags_set()` (which need the VMA write lock).
# * **`vm_iomap_memory()` → `mmap_action_simple_ioremap()`** with the same `(base, size)`:
#   the size and offset checks now run in the action's prepare step, before the VMA
#   exists; the remap itself happens when the action completes.
# * **`pgprot_writecombine()`** is applied to `desc->page_prot`.
#
# ## A valid mapping, in both variants
#
# The whole two-page region, shared and read-only: `VM_MAYWRITE` is gone, `DONTCOPY` and
# `DONTDUMP` are set, and both PTEs are write-combined (`wc`) PFN entries.

# %%
print(scenario_text(SPEC, "map-read-only", at=2))

# %% [markdown]
# ## Rejections
#
# A shared writable mapping is refused by the driver (`EPERM`); adding write access later
# is refused by `mprotect()` (`EACCES`), because the hook cleared `VM_MAYWRITE`.

# %%
print(scenario_text(SPEC, "shared-writable", at=None))
print()
print(scenario_text(SPEC, "mprotect-add-write", at=None))

# %% [markdown]
# ## The equivalence harness
#
# No difference in fourteen scenarios (oversized requests, offsets, private mappings,
# `fork()` with `VM_DONTCOPY`, splits, failures injected before and after insertion):

# %%
print(compare(SPEC).render())

# %% [markdown]
# ## A wrong conversion, caught
#
# A conversion that keeps the `EPERM` check but forgets to clear `VM_MAYWRITE` passes every
# "does mmap work" test — and lets `mprotect(PROT_WRITE)` make the secrets writable:

# %%
print(mutant_text(SPEC, "keeps-maywrite", limit=2, keys=["errno"]))

# %% [markdown]
# :::{admonition} Try it
# :class: seealso
# {doc}`Exercise 06 <../../exercises/06_open_dice>`: convert this driver's hook yourself; the
# check runs it through the scenarios above and names the mistake behind a wrong answer.
# :::
