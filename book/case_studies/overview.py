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
# # Case studies: the ten drivers of the series
#
# The v4 series converts ten users of `f_op->mmap` (or of a driver-level mmap callback).
# Each page of this part takes one of them and shows, with the driver models of
# `mmaplab.drivers`:
#
# * what the device is and which state its mmap hook depends on;
# * the legacy hook and the converted one side by side, as our own illustrative C in
#   kernel style (never the kernel's text), with each change explained;
# * a valid mapping in both variants (VMAs and page-table entries), rejections with their
#   errno, the equivalence harness's report (`compare(SPEC).render()`) with its declared
#   intended differences, and one realistic wrong conversion that the harness catches.
#
# Keep the order of `__mmap_region()` in mind while reading them: what a legacy hook did
# on a VMA that already existed must now be split between a stateless `mmap_prepare`
# (before the merge decision), an mmap action (after insertion) and `vm_ops->mapped`.
#
# ```{figure} ../images/mmap_region_order.svg
# :alt: The steps of __mmap_region() for a legacy f_op->mmap and for f_op->mmap_prepare, as in chapter 2.
# :width: 640px
#
# Where driver code runs in `__mmap_region()`, before and after a conversion.
# ```
#
# Each page names the kernel files and the version its model follows. The table below is
# computed here, from the same specs, when the book is built:

# %%
from mmaplab.drivers import NAMES, load_spec
from mmaplab.lab.compare import compare, mutant_report

print(f"{'driver':<17} {'scenarios':>9} {'ops':>4} {'undeclared':>10} {'defects':>7} "
      f"{'intended keys':<28} {'mutants caught':>14}")
for name in NAMES:
    spec = load_spec(name)
    report = compare(spec)
    ops = sum(len(s.ops) for s in spec.scenarios)
    families = sorted({d.family for d, _ in report.intended})
    intended = ", ".join(families[:3]) + (f" +{len(families) - 3} more" if len(families) > 3 else "")
    caught = sum(not mutant_report(spec, m).ok for m in spec.mutants)
    # defects: the explained points (one per explanation), not every key that shows them
    defects = len({why for _, why in report.defects})
    print(f"{name:<17} {len(spec.scenarios):>9} {ops:>4} {len(report.undeclared):>10} "
          f"{defects:>7} {intended or '-':<28} {caught:>8} of {len(spec.mutants)}")

# %% [markdown]
# Reading the table: *undeclared* differences would be bugs of a conversion (or of a
# model) that nobody has explained; every page's harness output must show none.
# *Defects* count the explained points where the **converted upstream driver is wrong**
# and the model reproduces it on purpose: a third category of the harness, beside
# equivalence and intended differences (`DriverSpec.defects`, rendered as "DEFECTS of the
# upstream conversion"). Two conversions of the series have one: {doc}`vme_user <vme_user>`
# (its `close` dereferences what only `mapped` allocates) and {doc}`stm <stm>` (its
# `close` drops a PM reference that `mapped` never took). *Intended keys* name the kinds of
# difference the series means to make — mostly `hooks`: the new `vm_ops->mapped` callback
# that takes over what the legacy hook did once the VMA existed.
#
# | page | kernel file | what it teaches |
# |---|---|---|
# | {doc}`afs` | `fs/afs/file.c` | why `mapped` exists: a count taken in `mmap_prepare` leaks on merge |
# | {doc}`open_dice` | `drivers/misc/open-dice.c` | flag policy on the descriptor; `simple_ioremap` |
# | {doc}`hpet` | `drivers/char/hpet.c` | the smallest conversion: one uncached page |
# | {doc}`mtdchar` | `drivers/mtd/mtdchar.c` | a conversion that deletes dead code; which errno wins |
# | {doc}`stm` | `drivers/hwtracing/stm/core.c` | a PM reference in `mapped`; `close` without `mapped` |
# | {doc}`vme_user` | `drivers/staging/vme_user/` | allocating per-mapping data in `mapped` |
# | {doc}`hv_vmbus` | `drivers/hv/vmbus_drv.c` | a stacked caller: `__compat_vma_mmap()` |
# | {doc}`uio_hv_generic` | `drivers/uio/uio_hv_generic.c` | the ring callback; offsets into a region |
# | {doc}`uio` | `drivers/uio/uio.c` | a core that keeps `->mmap` but calls drivers' `mmap_prepare` |
# | {doc}`target_core_user` | `drivers/target/target_core_user.c` | the v4 regression and its hotfix |

# %% [markdown]
# ## Step through `mmap_region()` for one driver
#
# Pick a driver of the series and a variant, then move the slider through the steps the
# model took for the first request of that driver's scenarios: where the legacy hook runs
# (on the built VMA, inside `__mmap_new_vma`), and where the converted one's pieces run
# (`mmap_prepare` before the merge decision, the action and `mapped` after insertion).
# The summary under the view lists, for every driver and variant, the hooks that ran.

# %%
from mmaplab.widgets import DriverStepper

stepper = DriverStepper([load_spec(name) for name in NAMES])
stepper.display()

# %%
print(stepper.text())

# %% [markdown]
# :::{admonition} Try it
# :class: seealso
# Each case study has an exercise in which you write the conversion:
#
# * {doc}`exercise 05: hpet <../../exercises/05_hpet>`
# * {doc}`exercise 06: open_dice <../../exercises/06_open_dice>`
# * {doc}`exercise 07: mtdchar <../../exercises/07_mtdchar>`
# * {doc}`exercise 08: stm <../../exercises/08_stm>`
# * {doc}`exercise 09: afs <../../exercises/09_afs>`
# * {doc}`exercise 10: vme_user <../../exercises/10_vme_user>`
# * {doc}`exercise 11: hv_vmbus <../../exercises/11_hv_vmbus>`
# * {doc}`exercise 12: uio <../../exercises/12_uio>`
# * {doc}`exercise 13: uio_hv_generic <../../exercises/13_uio_hv_generic>`
# * {doc}`exercise 14: target_core_user <../../exercises/14_target_core_user>`
# :::
