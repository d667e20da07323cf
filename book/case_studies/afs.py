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
# # afs: a reference count that must follow real VMAs
#
# **The object.** An AFS file lives on a remote file server; the client caches it and is
# told by the server, through *callbacks*, when someone else changed it. While a file is
# mapped, the client must push such third-party changes to the mapped pages, so each
# vnode (`struct afs_vnode`) counts the VMAs that map it (`cb_nr_mmap`) and, while that
# count is non-zero, sits on its volume's `open_mmaps` list (under `open_mmaps_lock`),
# which the callback-break code walks.
#
# **The state the hook depends on**: that counter and that list. Every VMA must be counted
# exactly once and uncounted exactly once, or the vnode either leaks on the list for ever
# or drops off it while still mapped.
#
# **The story in the series.** A first conversion of afs to `mmap_prepare` (upstream
# `9d5403b1036c`) took the reference in the prepare hook. [v4 09/21](https://lore.kernel.org/all/08804c94e39d9102a3a8fbd12385e8aa079ba1d3.1774045440.git.ljs@kernel.org/) reverted it to the
# legacy `f_op->mmap` hook as a hotfix; [v4 10/21](https://lore.kernel.org/all/ad9a94350a9c7d2bdab79fc397ef0f64d3412d71.1774045440.git.ljs@kernel.org/) restored `mmap_prepare` with the count
# moved into the new `vm_ops->mapped`. The model has all three versions.

# %%
from mmaplab.drivers import afs
from mmaplab.lab.compare import compare
from mmaplab.widgets import mutant_text, scenario_text, spec_citation

SPEC = afs.SPEC
print(spec_citation(SPEC))

# %% [markdown]
# ## The hook, before and after
#
# **Before** — the legacy hook runs on a VMA that already exists, so counting it there is
# exact: our own sketch of the legacy hook, in kernel C. The cell below compiles it with
# our C front end (`mmaplab.kernel_c`) and runs it in place of the legacy driver model's
# own `afs_file_mmap()`, on every device configuration of exercise 09: the C shown is the
# C that ran.

# %%
from mmaplab.widgets import c_legacy_text

print(c_legacy_text("09"))

# %% [markdown]
# **After ([v4 10/21](https://lore.kernel.org/all/ad9a94350a9c7d2bdab79fc397ef0f64d3412d71.1774045440.git.ljs@kernel.org/))** — the prepare hook is stateless; the count moved to `mapped`:
#
# The hook as the series writes it is exercise 09's C reference: the cell
# below compiles it with our C front end (`mmaplab.kernel_c`) and runs it against
# the driver model through the exercise's check, so the C shown is the C that ran.

# %%
from mmaplab.widgets import c_hook_text

print(c_hook_text("09"))

# %% [markdown]
#
# What changed, and why:
#
# * **`vma->` became `desc->`** and `generic_file_mmap()` became
#   `generic_file_mmap_prepare()`; no mmap action is needed (page-cache pages arrive by
#   `filemap_fault`).
# * **The count moved from the hook to `vm_ops->mapped`.** `mmap_prepare` runs *before*
#   `__mmap_region()` decides whether the range merges into a neighbouring VMA and before
#   anything is allocated; `mapped` runs only once a new VMA has been inserted. The
#   intermediate conversion (`9d5403b1036c`) counted in `mmap_prepare` and leaked whenever
#   the range merged or the mmap failed later.
# * **No undo path is needed any more**: when `mmap_prepare` fails nothing was counted.
# * `open`/`close` are unchanged: `mapped` (first VMA) + `open` (copies) = `close` calls.
#
# ## A valid mapping, in both variants
#
# Two pages of the 8-page file, shared and writable; a read fault and a write fault fill
# the page tables with page-cache pages; `munmap` uncounts the VMA. The legacy driver
# counts inside `->mmap`, the converted one in `afs_vm_ops->mapped`; the counter and the
# list agree after every step.

# %%
print(scenario_text(SPEC, "map-fault-unmap", at=2))

# %% [markdown]
# ## The case that broke the first conversion: a merge
#
# The second `mmap()` continues the first one (same file, next offset, same flags), so
# `__mmap_region()` extends the existing VMA instead of creating one. With the legacy hook
# the merge is decided *before* the driver is asked, so `->mmap` is not called at all.
# With `mmap_prepare` the hook *is* called — and then no VMA is created, so `mapped` is
# not. Counting in `mapped` keeps `cb_nr_mmap` at 1 for the one VMA.

# %%
print(scenario_text(SPEC, "merge-with-previous", at=1))

# %% [markdown]
# ## Rejections
#
# The prepare hook refuses nothing of its own here; `do_mmap()` refuses a shared writable
# mapping of a file opened read-only before any hook runs, and touching a page of the
# mapping beyond end-of-file is `SIGBUS` from `filemap_fault`, in both versions:

# %%
print(scenario_text(SPEC, "read-only-open-shared-write", at=None))
print()
print(scenario_text(SPEC, "fault-beyond-eof", at=None))

# %% [markdown]
# ## The equivalence harness
#
# `compare(SPEC)` runs every scenario of the spec (splits, forks, merges on both sides,
# allocation failures injected after the hook) with both variants and lists every
# observable difference. The only one is declared as intended: the new `mapped` callback.

# %%
print(compare(SPEC).render())

# %% [markdown]
# ## A wrong conversion, caught
#
# The spec's first mutant is the intermediate upstream version `9d5403b1036c` itself: the
# reference taken in `mmap_prepare`. Run against the v4 conversion, the harness shows the
# leak — the counter differences come first:

# %%
print(mutant_text(SPEC, "ref-in-prepare", keys=["state"]))

# %% [markdown]
# Chapter {doc}`../05_vm_operations` explains `mapped`, `open` and `close` with a smaller
# example; chapter {doc}`../06_locking` shows the sanitizer flagging the same bug.

# %% [markdown]
# :::{admonition} Try it
# :class: seealso
# {doc}`Exercise 09 <../../exercises/09_afs>`: convert this driver's hook yourself; the
# check runs it through the scenarios above and names the mistake behind a wrong answer.
# :::
