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
# step, run on the new VMA. One section per helper; each shows the resulting PTEs.

# %%
import errno

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
# ```c
# static int fb_mmap_prepare(struct vm_area_desc *desc)
# {
#         mmap_action_remap_full(desc, fb_base_pfn + desc->pgoff);
#         return 0;
# }
# ```

# %%
FB_PFN = 0xC0000


def fb_mmap_prepare(desc):
    mmap_action_remap_full(desc, FB_PFN + desc.pgoff)
    return 0


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
        print(f"{name}: {exc} | VMAs: {len(mm.vmas())} | warnings: {mm.warnings}")

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
# ## `mmap_action_simple_ioremap`: a physical region, with guard rails
#
# New in the series: the `mmap_prepare` form of `vm_iomap_memory()`. The driver passes the
# physical address and size of its region; the core honours `pgoff`, checks that the
# mapping fits, and refuses otherwise — checks every driver used to open-code.
#
# ```c
# static int bar_mmap_prepare(struct vm_area_desc *desc)
# {
#         desc->page_prot = pgprot_noncached(desc->page_prot);
#         mmap_action_simple_ioremap(desc, bar_phys, bar_len);
#         return 0;
# }
# ```

# %%
BAR_PHYS, BAR_LEN = 0xFE000000, 4 * P


def bar_mmap_prepare(desc):
    desc.page_prot = pgprot_noncached(desc.page_prot)
    mmap_action_simple_ioremap(desc, BAR_PHYS, BAR_LEN)
    return 0


bar = device("bar", 4, bar_mmap_prepare)
for offset_pages, pages in [(0, 4), (2, 2), (2, 3), (5, 1)]:
    mm = MM()
    try:
        mm.mmap(BASE, pages * P, RW, SHARED, bar, offset_pages * P)
        ptes = mm.pagetable.entries(BASE, BASE + pages * P)
        print(f"offset {offset_pages}, {pages} pages: pfns",
              [hex(p.pfn) for p in ptes.values()])
    except OSError as exc:
        print(f"offset {offset_pages}, {pages} pages: {exc}")

# %% [markdown]
# ## `mmap_action_map_kernel_pages[_full]`: pages the driver allocated
#
# Also new in the series: the `mmap_prepare` form of `vm_insert_pages()` /
# `vm_map_pages()`. The prepare step sets `VM_MIXEDMAP`; the complete step inserts the
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
        print(name, exc)

# %% [markdown]
# Summary of the page-table effect:
#
# | helper | VMA flags added at prepare | PTEs at complete |
# |---|---|---|
# | `mmap_action_remap[_full]` | `IO PFNMAP DONTEXPAND DONTDUMP` | special pfn PTEs |
# | `mmap_action_ioremap[_full]` | same | special pfn PTEs (I/O pfn) |
# | `mmap_action_simple_ioremap` | same (delegates to ioremap_full) | region pfns from `pgoff` |
# | `mmap_action_map_kernel_pages[_full]` | `MIXEDMAP` | refcounted page PTEs |
