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
# # target_core_user: the only `uio_info` override, and a device reference in `mapped`
#
# **The device.** TCMU (`drivers/target/target_core_user.c`) lets a userspace daemon
# (`tcmu-runner`) implement SCSI backstores for the kernel's LIO target. The kernel and the
# daemon share one region of memory through `/dev/uioN`: a mailbox, a command ring and a
# data area. tcmu is a UIO driver whose `mem[0]` has type `UIO_MEM_NONE`, so the uio core
# cannot map it by itself: tcmu supplies the override.
#
# **The state the hook depends on**: `udev->mmap_pages` (the exact size userspace must
# map), `udev->kref` (one reference from allocation, one held by the configured device, and
# **one per live VMA**, so the device outlives every mapping), the vmalloc'ed mailbox and
# command ring, and the data pages (allocated as commands need them; a missing one is
# `SIGBUS`). `tcmu_vm_ops`: `open` takes a reference for a split or forked copy, `close`
# drops one, `fault` finds the page.
#
# Converted in [v4 19/21](https://lore.kernel.org/all/157583e4477705b496896c7acd4ac88a937b8fa6.1774045440.git.ljs@kernel.org/) together with the uio core (see {doc}`uio`).

# %%
from mmaplab.kernel.debug.report_text import print_wrapped
from mmaplab import MAP_SHARED, MM, PAGE_SIZE, PROT_READ, PROT_WRITE, V4
from mmaplab.drivers import target_core_user
from mmaplab.lab.compare import compare
from mmaplab.widgets import mutant_text, scenario_text, spec_citation

SPEC = target_core_user.SPEC
print(spec_citation(SPEC))

# %% [markdown]
# ## The hook, before and after
#
# **Before** — `uio_info->mmap`: our own sketch of the legacy hook, in kernel C. The cell
# below compiles it with our C front end (`mmaplab.kernel_c`) and runs it in place of the
# legacy driver model's own `tcmu_mmap()`, on every device configuration of exercise 14:
# the C shown is the C that ran.

# %%
from mmaplab.widgets import c_legacy_text

print(c_legacy_text("14"))

# %% [markdown]
# **After ([v4 19/21](https://lore.kernel.org/all/157583e4477705b496896c7acd4ac88a937b8fa6.1774045440.git.ljs@kernel.org/))** — `uio_info->mmap_prepare`, called by the uio core through the
# compatibility layer:
#
# The hook as the series writes it is exercise 14's C reference: the cell
# below compiles it with our C front end (`mmaplab.kernel_c`) and runs it against
# the driver model through the exercise's check, so the C shown is the C that ran.

# %%
from mmaplab.widgets import c_hook_text

print(c_hook_text("14"))

# %% [markdown]
#
# What changed, and why:
#
# * **Flags, `vm_ops` and `vm_private_data` are set on the descriptor**; the compatibility
#   layer in `uio_mmap()` copies them to the VMA (`private_data` must be set: the layer
#   overwrites the `idev` the core stored).
# * **The reference moved from the end of the hook to `vm_ops->mapped`**, which
#   `__compat_vma_mmap()` calls once the VMA is set up. No action: pages come from `fault`.
#
# ## A valid mapping, in both variants
#
# The exact size (6 pages in the model: 2 of mailbox + command ring, 4 of data), then
# faults on the mailbox, the command ring and the first data page; one more `kref` while
# mapped.

# %%
print(scenario_text(SPEC, "map-and-use", at=3))

# %% [markdown]
# ## Rejections
#
# One page short fails tcmu's exact-size check; an offset of one page selects `mem[1]`,
# which is empty, so the uio core refuses it before tcmu is asked. Neither takes a
# reference.

# %%
print(scenario_text(SPEC, "too-small", at=None))
print()
print(scenario_text(SPEC, "wrong-offset", at=None))

# %% [markdown]
# ## The equivalence harness

# %%
print(compare(SPEC).render())

# %% [markdown]
# ## The regression of v4 as posted
#
# v4 also added a check, `__vma_check_mmap_hook()`, run after every legacy `->mmap`: a VMA
# whose `vm_ops` has `mapped` is refused with a warning, on the theory that only
# `mmap_prepare` files set `mapped`. But `uio_mmap()` *is* a legacy `->mmap` that
# legitimately installs tcmu's `mapped` through the compatibility layer — so every tcmu
# mmap failed with `EINVAL` ("could not mmap /dev/uio0" in tcmu-runner), after `mapped`
# had already taken its reference. A hotfix removed the check. `MM(config=V4)` models the
# series exactly as posted; the default `MM()` includes the hotfix:

# %%
for label, config in (("v4 as posted", V4), ("with the hotfix", None)):
    dev = target_core_user.TcmuDev("prepare")
    mm = MM(config=config) if config is not None else MM()
    try:
        mm.mmap(None, 6 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, dev.open())
        outcome = "mapped"
    except OSError as exc:
        outcome = f"{type(exc).__name__}: {exc}"
    print(f"{label:<16} {outcome}")
    print_wrapped(f"{'':<16} VMAs: {len(mm.vmas())}, kref: {dev.kref}, warnings: {mm.warnings}")

# %% [markdown]
# With the check, the mmap fails and the reference `mapped` took stays: `kref` is 3 with no
# VMA, a leak (a failed legacy `->mmap` gets no `close`). With the hotfix, 3 is right: one
# live VMA.
#
# ## A wrong conversion, caught
#
# Taking the reference in `mmap_prepare` (before the size check) leaks it whenever the
# mmap then fails:

# %%
print(mutant_text(SPEC, "kref-in-mmap_prepare", limit=2, keys=["state"]))

# %% [markdown]
# :::{admonition} Try it
# :class: seealso
# {doc}`Exercise 14 <../../exercises/14_target_core_user>`: convert this driver's hook yourself; the
# check runs it through the scenarios above and names the mistake behind a wrong answer.
# :::
