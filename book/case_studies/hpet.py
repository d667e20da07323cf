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
# # hpet: one uncached page of MMIO
#
# **The device.** The High Precision Event Timer is a block of memory-mapped registers
# (on x86 usually at physical `0xfed00000`). `/dev/hpet` hands out one timer per `open()`
# and, when the kernel is built with `CONFIG_HPET_MMAP` and mapping is enabled (by default
# if `CONFIG_HPET_MMAP_DEFAULT=y`; the `hpet_mmap=` boot option overrides that), lets
# userspace map the block's register page read-only to read the main counter without a
# system call.
#
# **The state the hook depends on**: `file->private_data`, the `struct hpet_dev` of the
# timer `hpet_open()` assigned, whose `hd_hpets->hp_hpet_phys` is the physical base of the
# whole block (every timer of a block maps the same page), and the global
# `hpet_mmap_enabled`. `hpet_open()` refuses `O_RDWR`/`O_WRONLY` with `EINVAL`. There are
# no `vm_ops`: nothing to count.
#
# The series converts it in [v4 13/21](https://lore.kernel.org/all/094c5fcfb2459a4f6d791b1fb852b01e252a44d4.1774045440.git.ljs@kernel.org/), using the new `mmap_action_simple_ioremap()` of
# [v4 11/21](https://lore.kernel.org/all/a08ef1c4542202684da63bb37f459d5dbbeddd91.1774045440.git.ljs@kernel.org/).

# %%
from mmaplab.drivers import hpet
from mmaplab.lab.compare import compare
from mmaplab.widgets import mutant_text, scenario_text, spec_citation

SPEC = hpet.SPEC
print(spec_citation(SPEC))

# %% [markdown]
# ## The hook, before and after
#
# **Before**: our own sketch of the legacy hook, in kernel C. The cell below compiles it
# with our C front end (`mmaplab.kernel_c`) and runs it in place of the legacy driver
# model's own `hpet_mmap()`, on every device configuration of exercise 05: the C shown is
# the C that ran.

# %%
from mmaplab.widgets import c_legacy_text

print(c_legacy_text("05"))

# %% [markdown]
# **After ([v4 13/21](https://lore.kernel.org/all/094c5fcfb2459a4f6d791b1fb852b01e252a44d4.1774045440.git.ljs@kernel.org/))**:
#
# The hook as the series writes it is exercise 05's C reference: the cell
# below compiles it with our C front end (`mmaplab.kernel_c`) and runs it against
# the driver model through the exercise's check, so the C shown is the C that ran.

# %%
from mmaplab.widgets import c_hook_text

print(c_hook_text("05"))

# %% [markdown]
#
# What changed, and why:
#
# * **`vm_iomap_memory()` → `mmap_action_simple_ioremap()`.** `vm_iomap_memory()` checked
#   the request against the region (size, offset) and then wrote the page tables. The
#   action splits this: its prepare step (`simple_ioremap_prepare()`) runs the same checks
#   on the descriptor, before any VMA exists, and turns the request into a full I/O remap
#   (setting `VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP`); the page tables are written
#   when the action completes, after the VMA is inserted. So a two-page request still fails
#   with `EINVAL`, now before anything was allocated.
# * **`vma->vm_page_prot` → `desc->page_prot`**: same `pgprot_noncached()`.
# * No `vm_ops`, no `mapped`: the driver keeps no per-mapping state.
#
# ## A valid mapping, in both variants
#
# One page at offset 0 through a read-only descriptor: one PTE pointing at the HPET
# block's pfn `0xfed00`, uncached (`uc`), marked as a special PFN mapping.

# %%
print(scenario_text(SPEC, "map-one-page", at=1))

# %% [markdown]
# ## Rejections
#
# The region is one page: a two-page request fails in the size check, in both versions.
# The second refusal happens earlier still: `hpet_open()` rejects a descriptor opened for
# writing, so there is nothing to map.

# %%
print(scenario_text(SPEC, "two-pages", at=None))
print()
print(scenario_text(SPEC, "open-for-write", at=None))

# %% [markdown]
# ## The equivalence harness
#
# Thirteen scenarios — offsets, private writable mappings, `fork()`, adjacent mappings of
# two timers, failures injected in the page-table allocation and after insertion — and no
# difference at all: this conversion is a pure API change.

# %%
print(compare(SPEC).render())

# %% [markdown]
# ## A wrong conversion, caught
#
# Forgetting `pgprot_noncached()` on the descriptor: the counter page becomes cacheable,
# and reads of a running timer may return stale values. The harness sees it in the VMA's
# page protection and in the PTE:

# %%
print(mutant_text(SPEC, "no-noncached", limit=2, keys=["page_prot", "pte"]))

# %% [markdown]
# :::{admonition} Try it
# :class: seealso
# {doc}`Exercise 05 <../../exercises/05_hpet>`: convert this driver's hook yourself; the
# check runs it through the scenarios above and names the mistake behind a wrong answer.
# :::
