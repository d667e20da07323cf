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
# # 2. The mmap path and VMAs
#
# A process's address space is a sorted set of {term}`VMAs <VMA>` (`struct vm_area_struct`): each a
# contiguous range of pages with one set of permissions, one backing (anonymous memory or
# a range of one open file) and one `vm_operations_struct`. `/proc/<pid>/maps` prints one
# line per VMA; in the model that is `mm.maps()`.
#
# This chapter maps, protects and unmaps memory, watches VMAs {term}`split` and {term}`merge`, checks
# a fixed sequence against the real kernel this page was built on, and steps through
# `__mmap_region()` for a file mapping.
#
# :::{admonition} The crux
# :class: tip
# What does the kernel do, in order, between `mmap()` and the new VMA, and where in that order does a driver's code run?
#
# **You will be able to** read `/proc/<pid>/maps` lines, predict when `mprotect()`, `munmap()` and `mmap()`
# split or merge VMAs, and follow a trace of `__mmap_region()`.
#
# **Prerequisites:** {doc}`chapter 1 <01_why_mmap_is_deprecated>`.
# :::

# %%
from mmaplab import (
    MAP_ANONYMOUS, MAP_FIXED, MAP_NORESERVE, MAP_PRIVATE, MAP_SHARED, MM, PAGE_SIZE, PROT_NONE,
    PROT_READ, PROT_WRITE, RegularFile,
)
from mmaplab.widgets import AddressSpaceView, TraceStepper, scripted_snapshots, trace_steps

BASE = 0x7F0000000000
P = PAGE_SIZE
ANON = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED
RW = PROT_READ | PROT_WRITE

mm = MM()
mm.mmap(BASE, 8 * P, RW, ANON)
print(mm.maps(), end="")
vma = mm.vma_lookup(BASE)
print(vma.vm_flags.names())

# %% [markdown]
# One line, eight pages, `rw-p`: readable, writable, private. The flags behind the
# permission letters include `MAYREAD|MAYWRITE|MAYEXEC` (what `mprotect()` may later grant)
# and `ACCOUNT` (a private writable mapping is charged to overcommit accounting).
#
# ## Splitting and merging
#
# `mprotect()` on the middle of a VMA has to **split** it: one VMA cannot carry two sets of
# permissions. Putting the old permissions back lets the pieces **merge** again, because
# neighbours with the same flags, the same backing and contiguous offsets are
# indistinguishable from one VMA (chapter 1 drew the {doc}`merge decision
# <01_why_mmap_is_deprecated>`). The slider below steps through a scripted sequence (it
# needs JavaScript); the same drawings follow as one static picture, and then as text.

# %%
steps = [
    ("mprotect pages 2-3 r--", lambda m: m.mprotect(BASE + 2 * P, 2 * P, PROT_READ)),
    ("mprotect pages 2-3 rw- again", lambda m: m.mprotect(BASE + 2 * P, 2 * P, RW)),
    ("munmap page 5", lambda m: m.munmap(BASE + 5 * P, P)),
    ("mmap page 5 rw- (MAP_FIXED)", lambda m: m.mmap(BASE + 5 * P, P, RW, ANON)),
    ("mmap page 6 of a file over it", lambda m: m.mmap(
        BASE + 6 * P, P, PROT_READ, MAP_SHARED | MAP_FIXED, RegularFile("/data/log", 4 * P))),
]
view = AddressSpaceView(scripted_snapshots(mm, steps, initial="mmap 8 pages rw-"))
view.display()

# %% [markdown]
# The same steps, drawn by the same code as one static SVG (no JavaScript needed):

# %%
view.display_static()

# %%
print(view.text())

# %% [markdown]
# Things to notice:
#
# * the `r--` step produces three VMAs; the second `mprotect` puts back one;
# * after `munmap` the hole splits the VMA, and mapping the page again merges all three
#   pieces (anonymous memory's `pgoff` is its page number, so pieces are always contiguous);
# * the file page in the middle splits the anonymous VMA into two around it, and never
#   merges with them: the backing differs.
#
# ## The model against the real kernel
#
# The same kind of sequence, run twice: by `ctypes` system calls in this very process,
# inside a `PROT_NONE` region the kernel chose (so nothing else of ours is touched), and
# by the model at a fixed address. Both sides are printed as window-relative
# `/proc/<pid>/maps` ranges and permissions. The page was built on Linux; on another
# system the comparison cannot run and the cell says so.

# %%
import ctypes
import platform

WINDOW = 16
SEQUENCE = [  # (operation, first page, pages, prot, flags)
    ("mmap", 0, WINDOW, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED),
    ("mmap", 4, 8, RW, ANON),
    ("mprotect", 6, 2, PROT_READ, 0),
    ("mprotect", 6, 2, RW, 0),
    ("munmap", 9, 1, 0, 0),
    ("mmap", 9, 1, RW, ANON),
    ("mprotect", 4, 1, PROT_NONE, 0),
]


def window_layout(maps_text, base):
    """(first page, last page, perms) of every maps line inside the window."""
    out = []
    for line in maps_text.splitlines():
        rng, perms = line.split()[:2]
        lo, hi = (int(x, 16) for x in rng.split("-"))
        lo, hi = max(lo, base), min(hi, base + WINDOW * P)
        if lo < hi:
            out.append(((lo - base) // P, (hi - base) // P, perms))
    return out


def run_model():
    m = MM()
    for op, page, pages, prot, flags in SEQUENCE:
        addr = BASE + page * P
        if op == "mmap":
            m.mmap(addr, pages * P, prot, flags)
        elif op == "mprotect":
            m.mprotect(addr, pages * P, prot)
        else:
            m.munmap(addr, pages * P)
    return window_layout(m.maps(), BASE)


def run_kernel():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                          ctypes.c_int, ctypes.c_long]
    libc.mprotect.argtypes = libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    flags0 = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE
    base = libc.mmap(None, WINDOW * P, PROT_NONE, flags0, -1, 0)
    assert base not in (None, ctypes.c_void_p(-1).value), "could not reserve a window"
    try:
        for op, page, pages, prot, flags in SEQUENCE:
            addr = base + page * P
            if op == "mmap":
                ret = libc.mmap(addr, pages * P, prot, flags, -1, 0)
                assert ret == addr, f"mmap failed: errno {ctypes.get_errno()}"
            elif op == "mprotect":
                assert libc.mprotect(addr, pages * P, prot) == 0
            else:
                assert libc.munmap(addr, pages * P) == 0
        with open("/proc/self/maps") as f:
            return window_layout(f.read(), base)
    finally:
        libc.munmap(base, WINDOW * P)


model_layout = run_model()
print("model:", model_layout)
if platform.system() == "Linux":
    print("model == kernel:", run_kernel() == model_layout)
else:
    print("model == kernel: not checked (no Linux kernel here)")

# %% [markdown]
# (The differential tests in `tests/oracle/test_differential.py` do the same with thousands of
# generated sequences.)
#
# ## Inside `mmap()`: a step-through
#
# `mm.trace` records the kernel functions an operation went through, named as in the kernel.
# Here is a shared mapping of a regular file — ext4 in the model, which has used
# `mmap_prepare` since Linux 6.17. Move the slider to walk through `__mmap_region()`:

# %%
data = RegularFile("/data/table", 16 * P)
lines, outcome = trace_steps(MM(), lambda m: m.mmap(BASE, 4 * P, PROT_READ, MAP_SHARED, data))
stepper = TraceStepper("mmap(4 pages, PROT_READ, MAP_SHARED) of an ext4 file", lines, outcome)
stepper.display()

# %%
print(stepper.text())

# %% [markdown]
# In order: the range is cleared of old VMAs (`vms_gather_munmap_vmas`), the file's
# `mmap_prepare` describes the mapping, a merge is attempted only when there is a
# neighbouring VMA (here there is none, so the trace has no merge step), a new VMA is
# allocated and inserted unless a merge succeeded, and `__mmap_complete` finishes the
# bookkeeping. Chapter 3 looks at the description the hook filled in.
#
# The same order for both kinds of hook — where the driver's code runs (orange) relative
# to the merge attempt, the allocation and the insertion of the VMA:
#
# ```{figure} images/mmap_region_order.svg
# :alt: Two columns of steps of __mmap_region(). Legacy f_op->mmap: gather old mappings, try to merge (a merged range never calls ->mmap), allocate the VMA, call f_op->mmap, link the VMA, complete. mmap_prepare: gather, call f_op->mmap_prepare on a descriptor, try to merge, allocate and set the VMA from the descriptor, link, complete, run the mmap action, call vm_ops->mapped; on error unmap the VMA, which calls close.
# :width: 640px
#
# `__mmap_region()` with a legacy `f_op->mmap` (left) and with `f_op->mmap_prepare`
# (right), as the model implements it (Linux 7.0 + the v4 series). Drawn by
# `book/_tools/make_diagrams.py`.
# ```

# %% [markdown]
# :::{admonition} What to take away
# :class: important
# * A VMA is one range with one set of flags, one backing and one `vm_ops`; changing part
#   of it splits it, and neighbours that become indistinguishable merge.
# * `__mmap_region()` clears the range, runs the driver's hook, tries a merge when there is
#   a neighbour, and only then allocates and links a VMA.
# * A legacy `->mmap` runs after the merge decision, `mmap_prepare` before it.
# :::

# %% [markdown]
# :::{admonition} Try it
# :class: seealso
# {doc}`Exercise 02 <../exercises/02_mapped_refcount>` checks a reference count through
# exactly these splits, merges and unmaps.
# :::
