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
# # 7. The compatibility layer and stacked hooks
#
# Not every caller of a file's mmap hook is `mmap()` itself. *Stacking* drivers and
# filesystems (overlay-style filesystems, uio, hv vmbus, …) implement their own `->mmap`
# and forward to **another** file's hook. When that other file has been converted to
# `mmap_prepare`, the forwarder still holds a real VMA — so the core offers a bridge:
#
# * `vfs_mmap(file, vma)` — call `file`'s `->mmap`, or, if it has `->mmap_prepare`, go
#   through `compat_vma_mmap()`;
# * `compat_vma_mmap(file, vma)` — fill a `vm_area_desc` from the VMA
#   (`compat_set_desc_from_vma`), run `mmap_prepare`, force `hide_from_rmap_until_complete`
#   off, then `__compat_vma_mmap()`;
# * `__compat_vma_mmap(desc, vma)` — new in the series: for a caller that **already has a
#   prepared descriptor** (it called an `mmap_prepare`-style function itself): run the
#   action's prepare step, copy the permitted fields back into the VMA, and complete the
#   action, `mapped` included.
#
# The second entry point is what lets a driver convert *incrementally*: its internals move
# to the descriptor style while its outer `->mmap` remains.
#
# :::{admonition} The crux
# :class: tip
# How does an `mmap_prepare` hook run when its caller already has a VMA?
#
# **You will be able to** call a converted hook from a legacy `->mmap`, through `compat_vma_mmap()` or
# `__compat_vma_mmap()`, and say what differs from the direct path.
#
# **Prerequisites:** actions and hooks ({doc}`chapters 4 <04_mmap_actions>` and
# {doc}`5 <05_vm_operations>`), the rmap lock ({doc}`chapter 6 <06_locking>`).
# :::

# %%
import errno

from mmaplab.kernel.debug.report_text import print_wrapped
from mmaplab import (
    MAP_FIXED, MAP_SHARED, MM, PAGE_SIZE, PROT_READ, V4, File, FileOperations, FMode, Inode,
    VmOperationsStruct,
)
from mmaplab.kernel_c import compile_c

BASE = 0x7F0000000000
P = PAGE_SIZE
SHARED = MAP_SHARED | MAP_FIXED


def open_file(name, minor, **fops):
    return File(Inode(name, 1 << 20, dev=(10, minor)),
                FileOperations(name=f"{name.rsplit('/', 1)[-1]}_fops", **fops), FMode.READ)

# %% [markdown]
# ## Stacking: a legacy `->mmap` forwarding to a converted file
#
# The wrapper below is kernel C, compiled in the cell by the book's C front end
# (`mmaplab.kernel_c`) and installed as the wrapper file's `->mmap`: the C shown is the
# hook that runs.

# %%
lower = open_file("/data/lower", 1, mmap_prepare=lambda desc: 0)

wrapper_c = compile_c(r"""
#include <linux/mm.h>

static int wrapper_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct file *lower = file->private_data;

	return vfs_mmap(lower, vma);
}
""", "wrapper.c")

wrapper_mmap = wrapper_c.function("wrapper_mmap")
wrapper = open_file("/dev/wrapper", 2, mmap=wrapper_mmap)
wrapper.private_data = lower
mm = MM()
with mm.trace.recording() as t:
    mm.mmap(BASE, P, PROT_READ, SHARED, wrapper)
print(t.render())

# %% [markdown]
# The lower file's `mmap_prepare` ran on a descriptor built from the wrapper's VMA, inside
# the wrapper's `->mmap`, inside `__mmap_new_vma`.
#
# ## Converting a driver incrementally with `__compat_vma_mmap`
#
# Suppose a driver's `->mmap` does several things and one of them is mapping an I/O region.
# Step one of a conversion: move the mapping into a descriptor-style helper and call
# `__compat_vma_mmap()` from the old hook; the file keeps `->mmap` for now. Step two
# deletes `bar_mmap` and installs `bar_mmap_prepare`. Both steps are in the C below, which
# the cell compiles; each step installs its own hook from it.

# %%
bar_c = compile_c(r"""
#include <linux/mm.h>

#define BAR_PHYS	0xfe000000
#define BAR_LEN		(2 * PAGE_SIZE)

static void bar_describe(struct vm_area_desc *desc)
{
	mmap_action_simple_ioremap(desc, BAR_PHYS, BAR_LEN);
}

/* Step one: the old hook, its I/O mapping now described on a descriptor. */
static int bar_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct vm_area_desc desc;

	compat_set_desc_from_vma(&desc, file, vma);
	bar_describe(&desc);
	return __compat_vma_mmap(&desc, vma);
}

/* Step two: the finished conversion. */
static int bar_mmap_prepare(struct vm_area_desc *desc)
{
	bar_describe(desc);
	return 0;
}
""", "bar.c")
bar_mmap, bar_mmap_prepare = bar_c.function("bar_mmap"), bar_c.function("bar_mmap_prepare")

for label, fops in [("step 1: ->mmap + __compat_vma_mmap", {"mmap": bar_mmap}),
                    ("step 2: ->mmap_prepare", {"mmap_prepare": bar_mmap_prepare})]:
    mm = MM()
    mm.mmap(BASE, 2 * P, PROT_READ, SHARED, open_file("/dev/bar", 3, **fops))
    vma = mm.vma_lookup(BASE)
    pfns = [hex(p.pfn) for p in mm.pagetable.entries(BASE, BASE + 2 * P).values()]
    print_wrapped(f"{label:<38} {vma.vm_flags.names()}\n{'':<38} pfns {pfns}")

# %% [markdown]
# Same VMA, same PTEs: the intermediate state is a real, testable point to stop at.
#
# ## The series as posted (`V4`) and the later fixes
#
# `mmaplab.kernel.config` models two variants. `MM()` follows v4 plus two fixes that went upstream
# afterwards; `MM(config=V4)` follows the series exactly as posted:
#
# * v4 refused (`EINVAL`, with a warning) any `->mmap` that left `vm_ops->mapped` set
#   (`__vma_check_mmap_hook`, added by [v4 08/21](https://lore.kernel.org/all/4c5e98297eb0aae9565c564e1c296a112702f144.1774045440.git.ljs@kernel.org/)). But a legacy
#   `->mmap` that reaches an `mmap_prepare` hook through the compat layer legitimately ends
#   up with such ops — uio and tcmu do, and tcmu-runner hit the warning — so that check was
#   removed by **3d3544a6c996** ("mm/vma: remove __vma_check_mmap_hook()");
# * the error path unmapped the VMA even when called from the compat layer, where the VMA
#   was never inserted. **619eab23e1ce** ("mm/vma: do not try to unmap a VMA if
#   mmap_prepare() invoked from mmap()") returns the error instead and lets the outer
#   `->mmap` path clean up.
#
# :::{admonition} History
# :class: note
# The second bug is older than v4: 619eab23e1ce carries `Fixes: ac0a3fc9c07d` (the commit
# that introduced actions, in mainline before 7.0), `Cc: stable`, a syzbot report
# (WARNING in `vma_mark_detached`) and CVE-2026-53373. Every kernel from ac0a3fc9c07d up
# to 7.0 needs its backport; {doc}`sources` lists the kernels and the fixes.
# :::

# %%
def succeeding_mapped(start, end, pgoff, file, private_data):
    return 0


inner_ops = VmOperationsStruct(name="inner_vm_ops", mapped=succeeding_mapped)


def inner_prepare(desc):
    desc.vm_ops = inner_ops
    return 0


def failing_prepare(desc):
    desc.vm_ops = VmOperationsStruct(name="failing_vm_ops",
                                     mapped=lambda *a: -errno.ENOMEM)
    return 0


for config_name, kwargs in [("V4 as posted", {"config": V4}), ("default (fixed)", {})]:
    for inner in (inner_prepare, failing_prepare):
        lower = open_file("/dev/inner", 4, mmap_prepare=inner)
        outer = open_file("/dev/outer", 5, mmap=wrapper_mmap)
        outer.private_data = lower
        mm = MM(**kwargs)
        try:
            mm.mmap(BASE, P, PROT_READ, SHARED, outer)
            result = "mapped"
        except OSError as exc:
            result = str(exc)
        print(f"{config_name:<16} {inner.__name__:<16} {result}")
        for w in mm.warnings:
            print_wrapped(f"{'':<16} WARNING: {w}")

# %% [markdown]
# With the series as posted, a failing inner hook made the core unmap a VMA that was never
# in the tree (the warning above); with 619eab23e1ce the error comes back to the outer
# `->mmap` and the VMA is freed by its error path.
#
# :::{admonition} What to take away
# :class: important
# * `compat_vma_mmap()` runs a whole `mmap_prepare` hook for a caller holding a VMA;
#   `__compat_vma_mmap()` completes a descriptor the caller prepared itself.
# * In the compat layer the VMA is not in the tree: no rmap hiding, and no unmap on error
#   (619eab23e1ce, a stable fix for every kernel since ac0a3fc9c07d).
# * `vm_ops->mapped` set by a stacked hook is legitimate (3d3544a6c996).
# :::

# %% [markdown]
# :::{admonition} Try it
# :class: seealso
# {doc}`Exercise 04 <../exercises/04_compat_layer>`; then the stacked drivers:
# {doc}`exercise 11 (hv_vmbus) <../exercises/11_hv_vmbus>` and
# {doc}`exercise 12 (uio) <../exercises/12_uio>`.
# :::
