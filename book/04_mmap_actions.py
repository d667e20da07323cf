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
# # 4. mmap actions
#
# Some drivers must touch page tables: map device registers, a physical buffer, or pages
# the driver allocated. A legacy hook did that itself, on a VMA that was not yet final
# (chapter 1). An `mmap_prepare` hook instead **describes** the work in `desc->action`;
# the core performs it after the VMA is inserted, only if the VMA is new (not merged), and
# unmaps it again if the action fails.
#
# Each action has a *prepare* step, run on the descriptor before the merge decision (it
# sets the flags the mapping will need, so the merge logic sees them), and a *complete*
# step, run on the new VMA. One section per helper; each shows the resulting PTEs. The
# descriptor's life (chapter 3) again, for where the two steps and their errors sit:
#
# ```{figure} images/desc_lifecycle.svg
# :alt: The life of a vm_area_desc: mmap() fills the descriptor; f_op->mmap_prepare describes the mapping (an error fails mmap with nothing to undo); mmap_action_prepare checks the action; vma_merge_new_range may merge (then the action and mapped are skipped); otherwise a VMA is allocated from the descriptor and linked; mmap_action_complete, vm_ops->mapped and the success hook run; an error in any of these unmaps the VMA (close runs) and calls the error hook.
# :width: 680px
#
# The life of a descriptor, from `mmap()` to a mapping or an error (Linux 7.0 + v4, as
# modelled). Drawn by `book/_tools/make_diagrams.py`.
# ```
#
# :::{admonition} The crux
# :class: tip
# How does a hook that may not touch page tables still get device memory or driver pages
# mapped, and which details of the old helpers does the replacement *not* carry over?
#
# **You will be able to** pick the action for each legacy helper, predict the VMA flags
# and PTEs it produces, and avoid the two traps that compile and run but map the wrong
# thing: a `page_prot` changed after the helper, and `pgoff` with `map_kernel_pages`.
#
# **Prerequisites:** the descriptor ({doc}`chapter 3 <03_vm_area_desc>`) and where the
# action runs on the mapping path ({doc}`chapter 2 <02_mmap_path_and_vmas>`).
# :::

# %%
import errno

from mmaplab.kernel.debug.report_text import print_wrapped
from mmaplab import (
    MAP_FIXED, MAP_PRIVATE, MAP_SHARED, MM, PAGE_SIZE, PROT_READ, PROT_WRITE, File,
    FileOperations, FMode, Inode,
)
from mmaplab.kernel.mmap_action import (
    mmap_action_ioremap, mmap_action_map_kernel_pages, mmap_action_map_kernel_pages_full,
    mmap_action_remap_full, mmap_action_simple_ioremap,
)
from mmaplab.kernel.page_alloc import alloc_pages, reset_allocator
from mmaplab.kernel.pgtable import pgprot_noncached
from mmaplab.kernel_c import compile_c
from mmaplab.widgets import TraceStepper, trace_steps

BASE = 0x7F0000000000
P = PAGE_SIZE
SHARED = MAP_SHARED | MAP_FIXED
RW = PROT_READ | PROT_WRITE


def device(name, minor, hook, size=1 << 20):
    return File(Inode(f"/dev/{name}", size, dev=(10, minor)),
                FileOperations(name=f"{name}_fops", mmap_prepare=hook), FMode.READ | FMode.WRITE)


def show(mm, start, pages):
    vma = mm.vma_lookup(start)
    print("flags:", vma.vm_flags.names())
    for addr, pte in mm.pagetable.entries(start, start + pages * P).items():
        print(f"  {addr:#x} -> {pte}")

# %% [markdown]
# ## `mmap_action_remap[_full]`: a pfn range
#
# The equivalent of calling `remap_pfn_range()` from the hook. `_full` covers the whole
# proposed mapping:
#
# (The hook is C, compiled by our C front end, `mmaplab.kernel_c`: the C you read is the
# C that runs.)

# %%
fb = compile_c(r"""
static unsigned long fb_base_pfn = 0xc0000;

static int fb_mmap_prepare(struct vm_area_desc *desc)
{
	mmap_action_remap_full(desc, fb_base_pfn + desc->pgoff);
	return 0;
}
""", "fb.c").bind()
fb_mmap_prepare = fb.function("fb_mmap_prepare")
FB_PFN = fb.store.fb_base_pfn  # the C's global, for the Python hooks below

mm = MM()
lines, outcome = trace_steps(mm, lambda m: m.mmap(BASE, 3 * P, RW, SHARED,
                                                  device("fb", 1, fb_mmap_prepare), P))
show(mm, BASE, 3)

# %% [markdown]
# The prepare step added `IO|PFNMAP|DONTEXPAND|DONTDUMP` (what `remap_pfn_range()` sets);
# the complete step wrote three *special* PTEs (no `struct page` is refcounted). The
# slider walks through the same `mmap()`; note `remap_pfn_range_prepare` inside
# `call_mmap_prepare` and the actual remap inside `mmap_action_complete`, after `vma_link`:

# %%
stepper = TraceStepper("mmap() of a device whose mmap_prepare requests a remap", lines, outcome)
stepper.display()

# %%
print(stepper.text())

# %% [markdown]
# A private writable (COW) mapping may only be remapped as a whole, and its `pgoff` becomes
# the pfn — the rule `remap_pfn_range()` always had, now checked at prepare time. A remap
# that does not fit inside the descriptor fails with `EFAULT` (the series' last patch):

# %%
def partial_cow(desc):
    mmap_action_ioremap(desc, desc.start, FB_PFN, P)     # first page only
    return 0


def too_big(desc):
    mmap_action_ioremap(desc, desc.start, FB_PFN, 2 * P)
    return 0


for name, hook, flags, pages in [("cow", partial_cow, MAP_PRIVATE | MAP_FIXED, 2),
                                 ("big", too_big, SHARED, 1)]:
    mm = MM()
    try:
        mm.mmap(BASE, pages * P, RW, flags, device(name, 2, hook))
    except OSError as exc:
        print_wrapped(f"{name}: {exc} | VMAs: {len(mm.vmas())} | warnings: {mm.warnings}")

# %% [markdown]
# ## `mmap_action_ioremap[_full]`: I/O memory
#
# Same shape, for device memory; on x86 the pfn is used as is, and the driver usually picks
# an uncached `page_prot` first:

# %%
REGS_PFN = 0xFEBF0


def regs_mmap_prepare(desc):
    desc.page_prot = pgprot_noncached(desc.page_prot)
    mmap_action_ioremap(desc, desc.start, REGS_PFN, P)
    return 0


mm = MM()
_ = mm.mmap(BASE, P, RW, SHARED, device("regs", 3, regs_mmap_prepare))
show(mm, BASE, 1)

# %% [markdown]
# ### Pitfall: the helper captures `page_prot` when it is called
#
# `mmap_action_remap()` and `mmap_action_ioremap()` copy `desc->page_prot` into the action
# at the moment of the call, and the complete step writes the PTEs with that copy
# (`mmap_action_remap()` in include/linux/mm.h, `remap_pfn_range_complete()` in
# mm/memory.c). A legacy hook could set `vm_page_prot` anywhere before its
# `io_remap_pfn_range()` call, because the two were the same statement order; a converted
# hook that makes the page protection uncached *after* the helper gets a VMA that says
# "uncached" and PTEs that are cached. `mmap_action_simple_ioremap()` reads `page_prot`
# only in its prepare step, after the hook has returned, so it does not have the trap:

# %%
def late_noncached(desc):
    mmap_action_ioremap(desc, desc.start, REGS_PFN, P)
    desc.page_prot = pgprot_noncached(desc.page_prot)   # too late for the PTEs
    return 0


def simple_late_noncached(desc):
    mmap_action_simple_ioremap(desc, REGS_PFN * P, P)
    desc.page_prot = pgprot_noncached(desc.page_prot)   # read after the hook: fine
    return 0


for name, hook in [("ioremap, then noncached", late_noncached),
                   ("simple_ioremap, then noncached", simple_late_noncached)]:
    mm = MM()
    mm.mmap(BASE, P, RW, SHARED, device("late", 3, hook))
    prot = mm.vma_lookup(BASE).vm_page_prot.describe()
    print(f"{name:31} VMA prot: {prot:7} PTE: {mm.pagetable.entries(BASE, BASE + P)[BASE]}")

# %% [markdown]
# The first PTE lacks `uc`: device registers mapped write-back, the kind of bug that shows
# up as a hang on real hardware and never in review. Rule: **set `desc->page_prot` first,
# then call the remap or ioremap helper.**

# %% [markdown]
# ## `mmap_action_simple_ioremap`: a physical region, with guard rails
#
# New in the series: the `mmap_prepare` form of `vm_iomap_memory()`. The driver passes the
# physical address and size of its region; the core honours `pgoff`, checks that the
# mapping fits, and refuses otherwise — checks every driver used to open-code.
#
# In C, run as it is written:

# %%
bar_mmap_prepare = compile_c(r"""
static phys_addr_t bar_phys = 0xfe000000;
static unsigned long bar_len = 4 * PAGE_SIZE;

static int bar_mmap_prepare(struct vm_area_desc *desc)
{
	desc->page_prot = pgprot_noncached(desc->page_prot);
	mmap_action_simple_ioremap(desc, bar_phys, bar_len);
	return 0;
}
""", "bar.c").function("bar_mmap_prepare")

bar = device("bar", 4, bar_mmap_prepare)
for offset_pages, pages in [(0, 4), (2, 2), (2, 3), (5, 1)]:
    mm = MM()
    try:
        mm.mmap(BASE, pages * P, RW, SHARED, bar, offset_pages * P)
        ptes = mm.pagetable.entries(BASE, BASE + pages * P)
        print(f"offset {offset_pages}, {pages} pages: pfns",
              [hex(p.pfn) for p in ptes.values()])
    except OSError as exc:
        print_wrapped(f"offset {offset_pages}, {pages} pages: {exc}")

# %% [markdown]
# ## `mmap_action_map_kernel_pages[_full]`: pages the driver allocated
#
# Also new in the series ([v4 20/21](https://lore.kernel.org/all/926ac961690d856e67ec847bee2370ab3c6b9046.1774045440.git.ljs@kernel.org/)): the `mmap_prepare` form of
# `vm_insert_pages()`. The prepare step sets `VM_MIXEDMAP`; the complete step inserts the
# pages, taking a reference on each (they are real `struct page`s, not special PTEs).

# %%
reset_allocator()
ring = alloc_pages(4)


def ring_mmap_prepare(desc):
    if desc.end - desc.start > len(ring) * P:
        return -errno.EINVAL
    mmap_action_map_kernel_pages_full(desc, ring)
    return 0


mm = MM()
_ = mm.mmap(BASE, 2 * P, RW, SHARED, device("ring", 5, ring_mmap_prepare))
show(mm, BASE, 2)
print("page refcounts:", [p.refcount for p in ring])
mm.munmap(BASE, 2 * P)
print("after munmap:  ", [p.refcount for p in ring])

# %% [markdown]
# ### Pitfall: it is not `vm_map_pages()`
#
# The cover letter calls the helper "an mmap_prepare equivalent of vm_map_pages()", but
# the code is looser than that. `vm_map_pages()` (`__vm_map_pages()` in mm/memory.c)
# starts at index `vma->vm_pgoff` of the array and returns `-ENXIO` when the offset or
# the length runs past it. `mmap_action_map_kernel_pages_full()` records `desc->pgoff`
# but its complete step inserts the array from index 0, and nobody checks the array's
# length. The same driver both ways, mapped at offset 1 and at offset 3:

# %%
from mmaplab.kernel.memory import vm_map_pages


def ring_mmap(file, vma):                            # legacy
    return vm_map_pages(vma, ring)


def ring_naive_prepare(desc):                        # "converted" one-for-one
    mmap_action_map_kernel_pages_full(desc, ring)
    return 0


def legacy_device(name, minor, hook):
    return File(Inode(f"/dev/{name}", 1 << 20, dev=(10, minor)),
                FileOperations(name=f"{name}_fops", mmap=hook), FMode.READ | FMode.WRITE)


def map_at(dev, offset, pages):
    mm = MM()
    try:
        mm.mmap(BASE, pages * P, RW, SHARED, dev, offset * P)
    except OSError as exc:
        return str(exc)
    return [f"{p.pfn:#x}" for p in mm.pagetable.entries(BASE, BASE + pages * P).values()]


print("ring pfns:", [f"{p.pfn:#x}" for p in ring])
for label, dev in [("vm_map_pages", legacy_device("ring_legacy", 6, ring_mmap)),
                   ("map_kernel_pages_full", device("ring_naive", 6, ring_naive_prepare))]:
    for offset in (1, 3):
        print(f"{label:22} offset {offset}, 2 pages: {map_at(dev, offset, 2)}")

# %% [markdown]
# At offset 1 the legacy driver maps pages 1 and 2 of the ring; the naive conversion maps
# pages 0 and 1, silently. At offset 3 the legacy driver refuses (`ENXIO`), the naive one
# maps the wrong pages again. A faithful conversion applies the offset and keeps the
# checks itself:

# %%
def ring_mmap_prepare_fixed(desc):
    pages = (desc.end - desc.start) // P
    if desc.pgoff >= len(ring) or pages > len(ring) - desc.pgoff:
        return -errno.ENXIO                          # what vm_map_pages() returned
    mmap_action_map_kernel_pages_full(desc, ring[desc.pgoff:])
    return 0


fixed = device("ring_fixed", 6, ring_mmap_prepare_fixed)
for offset in (1, 3):
    print(f"fixed conversion       offset {offset}, 2 pages: {map_at(fixed, offset, 2)}")

# %% [markdown]
# The non-`_full` form takes a start address and a page count inside the descriptor; a
# range outside it is `EFAULT`:

# %%
def header_only(desc):
    mmap_action_map_kernel_pages(desc, desc.start + P, ring[:1], 1)   # 2nd page only
    return 0


def overflow(desc):
    mmap_action_map_kernel_pages(desc, desc.start, ring, 4)           # 4 pages into 2
    return 0


for name, hook in [("header_only", header_only), ("overflow", overflow)]:
    mm = MM()
    try:
        mm.mmap(BASE, 2 * P, RW, SHARED, device(name, 6, hook))
        print(name, {hex(a): str(p) for a, p in mm.pagetable.entries(BASE, BASE + 2 * P).items()})
    except OSError as exc:
        print_wrapped(name, exc)

# %% [markdown]
# Summary of the page-table effect:
#
# | helper | VMA flags added at prepare | PTEs at complete |
# |---|---|---|
# | `mmap_action_remap[_full]` | `IO PFNMAP DONTEXPAND DONTDUMP` | special pfn PTEs |
# | `mmap_action_ioremap[_full]` | same | special pfn PTEs (I/O pfn) |
# | `mmap_action_simple_ioremap` | same (delegates to ioremap_full) | region pfns from `pgoff` |
# | `mmap_action_map_kernel_pages[_full]` | `MIXEDMAP` | refcounted page PTEs (from index 0: apply `pgoff` yourself) |
#
# ## After the action: `mapped`, then the success hook; or the error hook
#
# `struct mmap_action` has two optional callbacks besides the work itself. In v4's
# `mmap_action_finish()` (mm/util.c):
#
# * on success, `vm_ops->mapped` runs first and then `action.success_hook(vma)` (v4 moved
#   `mapped` before the success hook); either may still fail the mapping;
# * if anything failed, the rmap lock is dropped (chapter 6), the new VMA is unmapped, and
#   then `action.error_hook(err)` may turn the error into another one (it must not clear it).
#
# A hook that records the order, once on success and once with the PTE allocation failing:

# %%
from mmaplab import VmOperationsStruct

order = []


def demo_mapped(start, end, pgoff, file, private_data):
    order.append("vm_ops->mapped")
    return 0


def demo_success(vma):
    order.append("action.success_hook")
    return 0


def demo_error(err):
    order.append(f"action.error_hook({errno.errorcode[-err]})")
    return -errno.EAGAIN


demo_vm_ops = VmOperationsStruct(name="demo_vm_ops", mapped=demo_mapped)


def demo_mmap_prepare(desc):
    desc.vm_ops = demo_vm_ops
    mmap_action_remap_full(desc, FB_PFN)
    desc.action.success_hook = demo_success
    desc.action.error_hook = demo_error
    return 0


demo = device("demo", 9, demo_mmap_prepare)
mm = MM()
mm.mmap(BASE, P, RW, SHARED, demo)
print("success:", " -> ".join(order))
order.clear()
mm = MM()
with mm.injecting("pte_alloc"):
    try:
        mm.mmap(BASE, P, RW, SHARED, demo)
    except OSError as exc:
        print_wrapped("failure:", " -> ".join(order), "|", exc)

# %% [markdown]
# :::{admonition} What to take away
# :class: important
# * Each legacy page-table helper has an action; the action's prepare step runs before the
#   merge decision, its complete step after the VMA is inserted, and only for a new VMA.
# * Set `desc->page_prot` **before** `mmap_action_remap()`/`mmap_action_ioremap()`: they
#   copy it when called. `mmap_action_simple_ioremap()` reads it later and does its own
#   `vm_iomap_memory()` checks.
# * `mmap_action_map_kernel_pages_full()` is `vm_insert_pages()` for the whole range, not
#   `vm_map_pages()`: apply `desc->pgoff` and the `-ENXIO` checks yourself.
# * After a successful action: `mapped`, then the success hook. After a failure: unlock,
#   unmap, then the error hook.
# :::
#
# :::{admonition} Try it
# :class: seealso
# {doc}`Exercise 01: pick the action <../exercises/01_pick_action>` converts three hooks (a
# frame buffer, device registers and a driver's page ring) and checks them against the
# model, including the offset trap above.
# :::

