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
# # 1. Why `f_op->mmap` is deprecated
#
# The legacy hook is handed a `vm_area_struct` that the core has *already* built. This
# chapter runs three small drivers of our own through the model and shows, with the
# model's own output, the three classes of hazard that gives rise to:
#
# 1. the hook changes fields **after** the core decided whether the range merges;
# 2. the hook does **part** of its set-up and fails, and the core must tear it down;
# 3. the hook touches driver state **before the VMA is final**, and a later failure
#    leaks it.
#
# Each driver is a `FileOperations` with a Python hook written the way the C would be:
# return `0` or a negative errno.
#
# :::{admonition} The crux
# :class: tip
# What exactly goes wrong when a driver's hook runs on a VMA the core has already built?
#
# **You will be able to** recognise, in a legacy `->mmap`, the three hazards the new hook removes, and say
# which part of the new interface answers each.
#
# **Prerequisites:** C, and what `mmap()` does for a process. Nothing from this book.
# :::

# %%
import errno

from mmaplab import (
    MAP_FIXED, MAP_SHARED, MM, PAGE_SIZE, PROT_READ, File, FileOperations, FMode, Inode,
    VmOperationsStruct,
)
from mmaplab.kernel.memory import remap_pfn_range
from mmaplab.kernel_c import compile_c

BASE = 0x7F0000000000          # a fixed, free window for MAP_FIXED mappings
RW = FMode.READ | FMode.WRITE


def device(name, minor, **fops):
    """Open a character device whose file_operations carry the given hook."""
    return File(Inode(f"/dev/{name}", 1 << 20, dev=(10, minor)),
                FileOperations(name=f"{name}_fops", **fops), RW)

# %% [markdown]
# ## Where the driver's code runs, and what the merge looks at
#
# Two pictures to keep in mind for the whole book. First, the order of the steps of
# `__mmap_region()` for each kind of hook (chapter 2 steps through it on the model): the
# legacy `->mmap` runs on a VMA built *after* the merge was decided, `mmap_prepare` runs
# *before*.
#
# ```{figure} images/mmap_region_order.svg
# :alt: Two columns of steps of __mmap_region(). Legacy f_op->mmap: gather old mappings, try to merge, allocate the VMA, call f_op->mmap, link, complete. mmap_prepare: gather, call f_op->mmap_prepare on a descriptor, try to merge, allocate the VMA from the descriptor, link, complete, run the mmap action, call vm_ops->mapped; on error unmap, which calls close.
# :width: 640px
#
# `__mmap_region()` with a legacy `f_op->mmap` (left) and with `f_op->mmap_prepare`
# (right), as the model implements it. Drawn by `book/_tools/make_diagrams.py`.
# ```
#
# Second, the merge decision itself: a new range joins a neighbour when nothing tells them
# apart — the same file, the same flags, offsets that follow on — and never when it is a
# special (I/O, PFN) mapping. Whatever a legacy hook changes afterwards was not looked at.
#
# ```{figure} images/merge_decision.svg
# :alt: Flowchart of vma_merge_new_range(). VM_SPECIAL flags: never merged. No adjacent VMA: a new VMA. Otherwise test prev and next (same file, same flags but VM_SOFTDIRTY, contiguous pgoff, compatible anon_vma); if both but next has vm_ops->close, merge left only; if neither, a new VMA; otherwise prev and/or next grow and no VMA of its own is made, so neither ->mmap nor the action nor mapped runs.
# :width: 640px
#
# The merge decision, `vma_merge_new_range()` (mm/vma.c), as the model implements it.
# ```
#
# ## Hazard 1: a field changed after the merge decision
#
# A driver that wants its buffer kept out of core dumps sets `VM_DONTDUMP`. The cell
# below writes such a driver in the legacy style, in kernel C (our own), compiles it with
# the book's C front end (`mmaplab.kernel_c`, whose header stands for `<linux/mm.h>`) and
# installs the compiled function as the device's `->mmap`: the hook that runs is the C shown.
#
# Map two adjacent pages of the same open file, at consecutive offsets. Look at *where*
# the hook runs in the trace of the second `mmap()`:

# %%
demo_c = compile_c(r"""
#include <linux/mm.h>

static int demo_mmap(struct file *file, struct vm_area_struct *vma)
{
	vm_flags_set(vma, VM_DONTDUMP);
	return 0;
}
""", "demo.c")

legacy = device("demo", 200, mmap=demo_c.function("demo_mmap"))
mm = MM()
mm.mmap(BASE, PAGE_SIZE, PROT_READ, MAP_SHARED | MAP_FIXED, legacy, 0)
with mm.trace.recording() as t:
    mm.mmap(BASE + PAGE_SIZE, PAGE_SIZE, PROT_READ, MAP_SHARED | MAP_FIXED, legacy, PAGE_SIZE)
print(t.render())
print(mm.maps(), end="")
print("VMAs:", len(mm.vmas()))

# %% [markdown]
# `vma_merge_new_range` ran *before* `demo_fops->mmap`: it compared the proposed flags
# (without `VM_DONTDUMP`) with the first VMA (which has it, because the hook already ran on
# it), refused, and a new VMA was built — which the hook then gave exactly the same flags.
# Two adjacent VMAs, same file, contiguous offsets, identical flags, never merged.
#
# :::{admonition} History
# :class: note
# The kernel used to retry the merge after `->mmap`. "mm/vma: remove mmap() retry merge"
# dropped that retry in the 6.16 cycle, together with the arrival of `.mmap_prepare`
# ("mm: introduce new .mmap_prepare() file callback"), so this is what Linux 7.0 does. The
# timeline is on {doc}`sources`.
# :::
#
# The same driver written with `mmap_prepare` states the flag on the *description* of the
# mapping, which the merge decision then sees (compiled and installed in the same way):

# %%
demo2_c = compile_c(r"""
#include <linux/mm.h>

static int demo_mmap_prepare(struct vm_area_desc *desc)
{
	vma_desc_set_flags(desc, VMA_DONTDUMP_BIT);
	return 0;
}
""", "demo2.c")

prepared = device("demo2", 201, mmap_prepare=demo2_c.function("demo_mmap_prepare"))
mm = MM()
mm.mmap(BASE, PAGE_SIZE, PROT_READ, MAP_SHARED | MAP_FIXED, prepared, 0)
with mm.trace.recording() as t:
    mm.mmap(BASE + PAGE_SIZE, PAGE_SIZE, PROT_READ, MAP_SHARED | MAP_FIXED, prepared, PAGE_SIZE)
print(t.render())
print(mm.maps(), end="")
print("VMAs:", len(mm.vmas()))

# %% [markdown]
# ## Hazard 2: partial set-up, torn down by `unmap_region`
#
# A legacy hook may populate page tables itself. If it fails half-way, the PTEs it wrote
# are already live in the process's page tables, and the core has to find and remove them.
# Our driver remaps the first page of a two-page mapping, then "discovers" a problem:

# %%
snapshot = {}


def half_mmap(file, vma):
    err = remap_pfn_range(vma, vma.vm_start, 0xFEE00, PAGE_SIZE, vma.vm_page_prot)
    if err:
        return err
    snapshot.update(vma.vm_mm.pagetable.entries(vma.vm_start, vma.vm_end))
    return -errno.EINVAL          # second half not available


half = device("half", 202, mmap=half_mmap)
mm = MM()
with mm.trace.recording() as t:
    try:
        mm.mmap(BASE, 2 * PAGE_SIZE, PROT_READ, MAP_SHARED | MAP_FIXED, half, 0)
    except OSError as exc:
        print(f"mmap failed: {exc}")
print(t.render())
print("PTEs while the hook ran:", {hex(a): str(p) for a, p in snapshot.items()})
print("PTEs after the failure: ", mm.pagetable.entries(BASE, BASE + 2 * PAGE_SIZE))
print("file references:", half.f_count)

# %% [markdown]
# The `unmap_region` step in the trace is the core cleaning up after the driver. With
# `mmap_prepare` nothing is mapped while the hook runs — the hook cannot even reach a page
# table — and the remap becomes an *action* the core performs after the VMA exists
# (chapter 4).
#
# ## Hazard 3: state touched before the VMA is final
#
# A very common legacy pattern: install `vm_ops`, call the driver's own `open` to take a
# reference on the device, then remap. Here a page-table allocation fails inside the remap
# (`mm.injecting("pte_alloc")` makes the model's allocation fail, as the kernel's
# fault-injection framework can). The driver, in kernel C, compiled and installed as
# the device's `->mmap`:

# %%
leaky_c = compile_c(r"""
#include <linux/mm.h>

struct leaky_dev {
	int users;
};

static struct leaky_dev leaky_dev;
static const unsigned long dev_pfn = 0xfee00;

static void leaky_vma_open(struct vm_area_struct *vma)
{
	leaky_dev.users++;
}

static void leaky_vma_close(struct vm_area_struct *vma)
{
	leaky_dev.users--;
}

static const struct vm_operations_struct leaky_vm_ops = {
	.open = leaky_vma_open,
	.close = leaky_vma_close,
};

static int leaky_mmap(struct file *file, struct vm_area_struct *vma)
{
	vma->vm_ops = &leaky_vm_ops;
	leaky_vma_open(vma);		/* dev->users++ */
	return remap_pfn_range(vma, vma->vm_start, dev_pfn,
				vma->vm_end - vma->vm_start, vma->vm_page_prot);
}
""", "leaky.c")
leaky_dev = leaky_c.bind().store.leaky_dev   # the C's global, read after the mmap below

leaky = device("leaky", 203, mmap=leaky_c.function("leaky_mmap"))
mm = MM()
with mm.injecting("pte_alloc"):
    try:
        mm.mmap(BASE, PAGE_SIZE, PROT_READ, MAP_SHARED | MAP_FIXED, leaky, 0)
    except OSError as exc:
        print(f"mmap failed: {exc}")
print("VMAs left:", len(mm.vmas()), "| device users:", leaky_dev.users)

# %% [markdown]
# The mapping is gone but `users` is 1 forever: when a legacy hook fails, the core swaps
# the VMA's ops for dummy ops before freeing it, so `close` never runs. The driver
# modified its own state on a VMA that never became real.
#
# The series' answer is `vm_ops->mapped`: called once, only after the VMA was created by
# `mmap_prepare`, inserted and *not merged*. A reference taken there is taken only for a
# mapping that exists. Make an allocation after the hook fail in the same way:

# %%
class Device:
    users = 0


good_dev = Device()


def good_mapped(start, end, pgoff, file, private_data):
    good_dev.users += 1
    return 0


def good_open(vma):
    good_dev.users += 1


def good_close(vma):
    good_dev.users -= 1


good_vm_ops = VmOperationsStruct(name="good_vm_ops", open=good_open, close=good_close,
                                 mapped=good_mapped)


def good_mmap_prepare(desc):
    desc.vm_ops = good_vm_ops
    return 0


good = device("good", 204, mmap_prepare=good_mmap_prepare)
mm = MM()
with mm.injecting("vm_area_alloc"):
    try:
        mm.mmap(BASE, PAGE_SIZE, PROT_READ, MAP_SHARED | MAP_FIXED, good, 0)
    except OSError as exc:
        print(f"mmap failed: {exc}")
print("after the failure: VMAs", len(mm.vmas()), "| device users:", good_dev.users)
mm.mmap(BASE, PAGE_SIZE, PROT_READ, MAP_SHARED | MAP_FIXED, good, 0)
print("after a good mmap:  VMAs", len(mm.vmas()), "| device users:", good_dev.users)
mm.munmap(BASE, PAGE_SIZE)
print("after munmap:       VMAs", len(mm.vmas()), "| device users:", good_dev.users)

# %% [markdown]
# ## What to take away
#
# | hazard | legacy `->mmap` | `mmap_prepare` |
# |---|---|---|
# | flags changed after the merge decision | unmerged twin VMAs | the description is final before merging |
# | partial set-up on error | PTEs written, then zapped by `unmap_region` | nothing exists while the hook runs |
# | driver state before the VMA is final | reference leaked on a later failure | take it in `vm_ops->mapped` |
#
# The rest of the book takes each piece of the new interface in turn.

# %% [markdown]
# :::{admonition} Try it
# :class: seealso
# {doc}`Exercise 09 (afs) <../exercises/09_afs>` converts the driver whose reference count
# went wrong exactly as in the third hazard; {doc}`exercise 02 <../exercises/02_mapped_refcount>`
# does the same for a toy device.
# :::
