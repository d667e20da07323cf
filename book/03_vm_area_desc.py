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
# # 3. `vm_area_desc`: what a driver may change
#
# An `mmap_prepare` hook never sees a VMA. It receives a `struct vm_area_desc` describing
# the mapping that is *about to* be made, and its job is to complete that description. The
# fields fall into four groups:
#
# | group | fields | the hook may… |
# |---|---|---|
# | immutable | `mm`, `file`, `start`, `end` | read only |
# | mutable, pre-filled | `pgoff`, `vm_file`, `vma_flags`, `page_prot` | read and change |
# | outputs | `vm_ops`, `private_data` | set |
# | further action | `action` | request work for after the VMA exists (chapter 4) |
#
# The model enforces the first row: assigning an immutable field raises `HookViolation`.
# Where the descriptor comes from and where it goes — the hook is one step of its life:
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
# What can a hook know and decide before any VMA exists, and how does it say so?
#
# **You will be able to** validate a request on the descriptor (size, offset, COW), set
# its flags with the C API's `VMA_*_BIT` numbers, choose `page_prot`, `vm_ops` and
# `private_data`, and replace the mapped file without touching reference counts.
#
# **Prerequisites:** {doc}`chapter 2 <02_mmap_path_and_vmas>` (where `mmap_prepare`
# runs on the mapping path).
# :::

# %%
import errno

from mmaplab.kernel.debug.report_text import print_wrapped
from mmaplab import (
    MAP_FIXED, MAP_PRIVATE, MAP_SHARED, MM, PAGE_SIZE, PROT_READ, PROT_WRITE,
    VMA_DONTDUMP_BIT, VMA_DONTEXPAND_BIT, VMA_IO_BIT, VMA_MAYSHARE_BIT, VMA_MAYWRITE_BIT,
    VMA_PFNMAP_BIT, VMA_SHARED_BIT, VMA_WRITE_BIT, File, FileOperations, FMode, HookError,
    HookViolation, Inode, VMFlag, mk_vma_flags, vma_desc_clear_flags,
    vma_desc_clear_flags_mask, vma_desc_is_cow_mapping,
    vma_desc_set_flags, vma_desc_set_flags_mask, vma_desc_size, vma_desc_test,
    vma_desc_test_all, vma_desc_test_any, vma_desc_test_any_mask,
)

BASE = 0x7F0000000000
P = PAGE_SIZE


def device(name, minor, hook):
    return File(Inode(f"/dev/{name}", 1 << 20, dev=(10, minor)),
                FileOperations(name=f"{name}_fops", mmap_prepare=hook), FMode.READ | FMode.WRITE)


def look(desc):
    print(f"start={desc.start:#x} end={desc.end:#x} size={vma_desc_size(desc):#x} "
          f"pgoff={desc.pgoff}")
    print("flags:", desc.vma_flags.names())
    print("page_prot:", desc.page_prot.describe(), "| vm_ops:", desc.vm_ops,
          "| private_data:", desc.private_data)
    print("shared?", vma_desc_test(desc, VMA_SHARED_BIT),
          "| COW mapping?", vma_desc_is_cow_mapping(desc))
    return 0


mm = MM()
_ = mm.mmap(BASE, 2 * P, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
            device("look", 1, look), 3 * P)

# %% [markdown]
# `pgoff` is in pages (the `offset` argument was 3 pages). A private writable mapping of
# the same device is a {term}`COW mapping`, something many drivers must refuse:

# %%
_ = mm.mmap(BASE + 4 * P, P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED,
            device("look2", 2, look))

# %% [markdown]
# ## Changing what may be changed
#
# A typical device hook refuses COW mappings, marks the range as not expandable and not
# dumped, maps it uncached and installs its operations — all on the description. The cell
# below writes that hook in kernel C, compiles it with our C front end (`mmaplab.kernel_c`,
# whose header stands for `<linux/mm.h>`) and installs the compiled function as the
# device's `mmap_prepare`: the hook that runs is exactly the C shown.

# %%
from mmaplab.kernel_c import compile_c

regs_c = compile_c(r"""
#include <linux/mm.h>

/* Nothing to fault in: the registers are mapped whole when the VMA is created. */
static const struct vm_operations_struct regs_vm_ops = { };

static struct regs_dev regs = { .phys = 0xfed00000, .len = 0x400 };

static int regs_mmap_prepare(struct vm_area_desc *desc)
{
	if (vma_desc_is_cow_mapping(desc))
		return -EINVAL;
	vma_desc_set_flags(desc, VMA_DONTEXPAND_BIT, VMA_DONTDUMP_BIT);
	desc->page_prot = pgprot_noncached(desc->page_prot);
	desc->vm_ops = &regs_vm_ops;
	desc->private_data = &regs;
	return 0;
}
""", "regs.c")

regs = device("regs", 3, regs_c.function("regs_mmap_prepare"))
mm = MM()
addr = mm.mmap(BASE, P, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, regs)
vma = mm.vma_lookup(addr)
print(vma.vm_flags.names())
print(vma.vm_page_prot.describe(), "|", vma.vm_ops.name, "|", vma.vm_private_data)
try:
    mm.mmap(BASE + 2 * P, P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, regs)
except OSError as exc:
    print_wrapped("private writable:", exc)

# %% [markdown]
# Everything the hook set is on the VMA, and the refused COW mapping left nothing behind.
#
# ## Flags are bit numbers: `vma_flags` and `VMA_*_BIT`
#
# The descriptor's flags field is `desc->vma_flags`, of type `vma_flags_t`: a bitmap, not
# the `unsigned long` `vm_flags` a VMA has. The helpers that read and change it take **bit
# numbers**, `VMA_DONTEXPAND_BIT` and so on, as a comma-separated list:
# `vma_desc_set_flags(desc, VMA_IO_BIT, VMA_DONTEXPAND_BIT)`,
# `vma_desc_clear_flags(desc, VMA_MAYWRITE_BIT)`, `vma_desc_test_any(desc, VMA_SHARED_BIT,
# VMA_MAYSHARE_BIT)`. The old `vm_flags_set()`/`vm_flags_clear()` calls on a VMA, with their
# VMA write lock, have no place here: nobody else can see a descriptor, so nothing needs
# locking. (`Documentation/filesystems/mmap_prepare.rst` gives this a section of its own;
# {doc}`sources` links it.)
#
# :::{warning}
# A `VM_*` mask is not a `VMA_*_BIT` number. `VM_DONTEXPAND` is `1 << VMA_DONTEXPAND_BIT`;
# passing the mask where the bit number is expected sets a different, much higher bit. Code
# translated from a legacy hook by replacing `vm_flags_set(vma, VM_A | VM_B)` with
# `vma_desc_set_flags(desc, VM_A | VM_B)` compiles and is wrong.
# :::

# %% [markdown]
# In the model, as in C, the bit numbers are their own type (`VmaFlagBit`, the kernel's
# `vma_flag_t`), a `vma_flags_t` is built from them with `mk_vma_flags()`, and every
# helper has a `_mask` twin that takes such a bitmap. The cell below sets two flags both
# ways, tests them, shows the numbers behind the names, and then makes the mistake of the
# warning: the helper names it instead of setting a wrong bit (in C, sparse warns: the type
# is `__bitwise`).

# %%
def flags_tour(desc):
    print("on entry:       ", desc.vma_flags.names())
    vma_desc_set_flags(desc, VMA_IO_BIT, VMA_PFNMAP_BIT)            # bit numbers, a list
    print("after set_flags:", desc.vma_flags.names())
    print("VMA_IO_BIT is bit", int(VMA_IO_BIT), "| VM_IO is the mask", hex(VMFlag.IO.value))
    print("test_all(IO, PFNMAP):", vma_desc_test_all(desc, VMA_IO_BIT, VMA_PFNMAP_BIT),
          "| test(MAYSHARE):", vma_desc_test(desc, VMA_MAYSHARE_BIT))
    mask = mk_vma_flags(VMA_DONTEXPAND_BIT, VMA_DONTDUMP_BIT)      # a vma_flags_t
    vma_desc_set_flags_mask(desc, mask)
    print("after _mask set:", desc.vma_flags.names())
    print(f"test_any_mask({mask.names()}):", vma_desc_test_any_mask(desc, mask))
    vma_desc_clear_flags_mask(desc, mk_vma_flags(VMA_DONTDUMP_BIT))
    print("after _mask clr:", desc.vma_flags.names())
    try:
        vma_desc_set_flags(desc, VMFlag.IO | VMFlag.PFNMAP)          # the legacy habit
    except TypeError as exc:
        print_wrapped("mask for bits:", exc)
    return 0


mm = MM()
_ = mm.mmap(BASE, P, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, device("tour", 9, flags_tour))
print("the VMA:        ", mm.vma_lookup(BASE).vm_flags.names())

# %% [markdown]
# `vma_desc_test_any` and `vma_desc_clear_flags` complete the set of accessors; a hook can,
# for instance, drop `VM_MAYWRITE` from a read-only mapping so that `mprotect()` can never
# make it writable:


# %%
def ro_mmap_prepare(desc):
    if vma_desc_test_any(desc, VMA_WRITE_BIT):
        return -errno.EPERM
    vma_desc_clear_flags(desc, VMA_MAYWRITE_BIT)
    return 0


mm = MM()
ro = device("ro", 4, ro_mmap_prepare)
_ = mm.mmap(BASE, P, PROT_READ, MAP_SHARED | MAP_FIXED, ro)
try:
    mm.mprotect(BASE, P, PROT_READ | PROT_WRITE)
except OSError as exc:
    print_wrapped("mprotect:", exc)

# %% [markdown]
# ## `file` and `vm_file`
#
# `desc->file` is the file `mmap()` was called on and never changes. `desc->vm_file` starts
# out as the same file and is the one the VMA will map: a driver that backs its mapping with
# another file (a shmem file it creates, say) sets it. The kernel's struct comment says the
# two "may vary" in stacked callers. No reference-count dance: the reference the hook holds
# on the new file becomes the VMA's, and the core takes none on the original. (A legacy
# `->mmap` had to call `vma_set_file()` and then `fput()` its own reference.)

# %%
def redirect_to_shmem(desc):
    backing = File(Inode("/dev/zero (shmem)", vma_desc_size(desc)),
                   FileOperations(name="shmem_fops"), FMode.READ)    # f_count 1: ours
    print(f"in the hook: file={desc.file.name}, vm_file={desc.vm_file.name}")
    desc.vm_file = backing                                            # ... now the VMA's
    return 0


front = device("front", 8, redirect_to_shmem)
mm = MM()
mm.mmap(BASE, P, PROT_READ, MAP_SHARED | MAP_FIXED, front)
vma = mm.vma_lookup(BASE)
print(f"the VMA maps {vma.vm_file.name}: f_count {vma.vm_file.f_count} (the hook's reference)")
print(f"{front.name}: f_count {front.f_count} (only the caller's; the VMA took none)")

# %% [markdown]
# ## What may not be changed
#
# The address range belongs to the caller: it has already been chosen, checked against
# `vm.mmap_min_addr` and cleared of old mappings before the hook runs. A hook that tries to
# move it is told so:

# %%
def greedy_mmap_prepare(desc):
    desc.start = desc.start - P      # "I need one more page in front"
    return 0


mm = MM()
try:
    mm.mmap(BASE, P, PROT_READ, MAP_SHARED | MAP_FIXED, device("greedy", 5, greedy_mmap_prepare))
except HookViolation as exc:
    print(type(exc).__name__, "errno", exc.errno)
    print_wrapped(exc)
print("VMAs:", len(mm.vmas()))

# %% [markdown]
# In the kernel these fields are simply never read back, so a change is silently lost; the
# model makes it loud. It is just as strict about the hook's contract: an error is returned
# **negated**, and it is an integer.

# %%
for name, hook in [("positive", lambda desc: errno.EINVAL),
                   ("not an int", lambda desc: "ok")]:
    try:
        MM().mmap(BASE, P, PROT_READ, MAP_SHARED | MAP_FIXED, device(name, 6, hook))
    except HookError as exc:
        print_wrapped(f"{name}: {exc}")

# %% [markdown]
# :::{admonition} What to take away
# :class: important
# * The hook sees a description: `mm`, `file`, `start`, `end` are read-only; `pgoff`,
#   `vm_file`, `vma_flags` and `page_prot` may change; `vm_ops` and `private_data` are its
#   outputs.
# * Flags on a descriptor are `VMA_*_BIT` numbers passed to `vma_desc_*()` helpers, not
#   `VM_*` masks, and need no locking.
# * Replacing `vm_file` hands the hook's reference to the VMA; no `get_file()`/`fput()`.
# * Errors are negative errnos, returned; nothing is left to undo.
# :::
#
# :::{admonition} Try it
# :class: seealso
# {doc}`Exercise 01 <../exercises/01_pick_action>` starts with the checks on the descriptor;
# {doc}`exercise 05 (hpet) <../exercises/05_hpet>` converts a real driver's validation.
# :::
