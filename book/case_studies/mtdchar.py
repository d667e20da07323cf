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
# # mtdchar: a conversion that only deletes dead code
#
# **The device.** `/dev/mtdN` gives raw access to a flash (MTD) partition through
# `read`/`write`/`ioctl`. Its `mmap` hook once mapped MTD RAM/ROM devices directly, but that
# branch was switched off on MMU kernels in 2012 by a literal `if (0 && ...)`.
#
# **The state the hook depends on**: on an MMU kernel, none — the hook always returns
# `ENODEV`. On a `!CONFIG_MMU` kernel (where `mtdchar_get_unmapped_area()` already chose
# the address) it only accepts shared mappings (`EACCES` otherwise).
#
# [v4 14/21](https://lore.kernel.org/all/d036855c21962c58ace0eb24ecd6d973d77424fe.1774045440.git.ljs@kernel.org/) converts it and deletes the dead block. The model's address space is an x86-64
# MMU one, so every scenario exercises the MMU path; the `!MMU` branch is a method pair
# that `tests/drivers/test_drivers_a.py` calls on a VMA and on a descriptor.

# %%
from mmaplab.drivers import mtdchar
from mmaplab.lab.compare import compare
from mmaplab.widgets import mutant_text, scenario_text, spec_citation

SPEC = mtdchar.SPEC
print(spec_citation(SPEC))

# %% [markdown]
# ## The hook, before and after
#
# **Before**: our own sketch of the legacy hook, in kernel C. The cell below compiles it
# with our C front end (`mmaplab.kernel_c`) and runs it in place of the legacy driver
# model's own `mtdchar_mmap()`, on every device configuration of exercise 07: the C shown
# is the C that ran.

# %%
from mmaplab.widgets import c_legacy_text

print(c_legacy_text("07"))

# %% [markdown]
# **After ([v4 14/21](https://lore.kernel.org/all/d036855c21962c58ace0eb24ecd6d973d77424fe.1774045440.git.ljs@kernel.org/))**:
#
# The hook as the series writes it is exercise 07's C reference: the cell
# below compiles it with our C front end (`mmaplab.kernel_c`) and runs it against
# the driver model through the exercise's check, so the C shown is the C that ran.

# %%
from mmaplab.widgets import c_hook_text

print(c_hook_text("07"))

# %% [markdown]
#
# What changed, and why: the dead branch is gone (nothing to convert into an action), and
# the `!MMU` flag test reads the descriptor through `vma_desc_test()`. Behaviour is the
# same on both configurations — with one subtle exception under memory pressure, below.
#
# ## "A valid mapping": there is none
#
# On an MMU kernel every mmap of `/dev/mtd0` fails with `ENODEV`, before and after. The
# interesting part is what a failed `MAP_FIXED` leaves behind: the anonymous mapping it
# replaced is already gone when the hook fails, so the range is left unmapped and the next
# access is `SIGSEGV` — in both versions.

# %%
print(scenario_text(SPEC, "replacing-anon", at=1))

# %% [markdown]
# ## Rejections
#
# A private mapping is `ENODEV` too (`EACCES` would be the `!MMU` rule), and a shared
# writable mapping of a read-only descriptor is refused by `do_mmap()` with `EACCES` before
# the hook runs:

# %%
print(scenario_text(SPEC, "private-read", at=None))
print()
print(scenario_text(SPEC, "read-only-fd-shared-write", at=None))

# %% [markdown]
# ## The equivalence harness
#
# One difference, declared as intended: *which* error wins when the maple-tree
# preallocation fails. The legacy hook ran after the VMA had been allocated, so `ENOMEM`
# came first; `mmap_prepare` runs before any allocation, so `ENODEV` does.

# %%
print(compare(SPEC).render())

# %% [markdown]
# ## A wrong conversion, caught
#
# Converting the dead branch as if it were live code (`mmap_action_simple_ioremap()` of the
# MTD RAM) would silently re-enable direct mappings that upstream turned off:

# %%
print(mutant_text(SPEC, "revived-ram-branch", limit=2, keys=["errno"]))

# %% [markdown]
# :::{admonition} Try it
# :class: seealso
# {doc}`Exercise 07 <../../exercises/07_mtdchar>`: convert this driver's hook yourself; the
# check runs it through the scenarios above and names the mistake behind a wrong answer.
# :::
