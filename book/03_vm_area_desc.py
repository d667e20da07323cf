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
# | mutable, pre-filled | `pgoff`, `vm_file`, flags, `page_prot` | read and change |
# | outputs | `vm_ops`, `private_data` | set |
# | further action | `action` | request work for after the VMA exists (chapter 4) |
#
# The model enforces the first row: assigning an immutable field raises `HookViolation`.

# %%
import errno

from mmaplab import (
    MAP_FIXED, MAP_PRIVATE, MAP_SHARED, MM, PAGE_SIZE, PROT_READ, PROT_WRITE, File,
    FileOperations, FMode, HookError, HookViolation, Inode, VmOperationsStruct, VMFlag,
)
from mmaplab.kernel.mm_types import (
    vma_desc_clear_flags, vma_desc_is_cow_mapping, vma_desc_set_flags, vma_desc_size,
    vma_desc_test, vma_desc_test_any,
)
from mmaplab.kernel.pgtable import pgprot_noncached

BASE = 0x7F0000000000
P = PAGE_SIZE


def device(name, minor, hook):
    return File(Inode(f"/dev/{name}", 1 << 20, dev=(10, minor)),
                FileOperations(name=f"{name}_fops", mmap_prepare=hook), FMode.READ | FMode.WRITE)


def look(desc):
    print(f"start={desc.start:#x} end={desc.end:#x} size={vma_desc_size(desc):#x} "
          f"pgoff={desc.pgoff}")
    print("flags:", desc.vm_flags.names())
    print("page_prot:", desc.page_prot.describe(), "| vm_ops:", desc.vm_ops,
          "| private_data:", desc.private_data)
    print("shared?", vma_desc_test(desc, VMFlag.SHARED),
          "| COW mapping?", vma_desc_is_cow_mapping(desc))
    return 0


mm = MM()
_ = mm.mmap(BASE, 2 * P, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
            device("look", 1, look), 3 * P)

# %% [markdown]
# `pgoff` is in pages (the `offset` argument was 3 pages). A private writable mapping of
# the same device is a *COW mapping*, something many drivers must refuse:

# %%
_ = mm.mmap(BASE + 4 * P, P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED,
            device("look2", 2, look))

# %% [markdown]
# ## Changing what may be changed
#
# A typical device hook refuses COW mappings, marks the range as not expandable and not
# dumped, maps it uncached and installs its operations — all on the description:
#
# ```c
# static int regs_mmap_prepare(struct vm_area_desc *desc)
# {
#         if (vma_desc_is_cow_mapping(desc))
#                 return -EINVAL;
#         vma_desc_set_flags(desc, VMA_DONTEXPAND_BIT, VMA_DONTDUMP_BIT);
#         desc->page_prot = pgprot_noncached(desc->page_prot);
#         desc->vm_ops = &regs_vm_ops;
#         desc->private_data = regs;
#         return 0;
# }
# ```

# %%
regs_vm_ops = VmOperationsStruct(name="regs_vm_ops")


def regs_mmap_prepare(desc):
    if vma_desc_is_cow_mapping(desc):
        return -errno.EINVAL
    vma_desc_set_flags(desc, VMFlag.DONTEXPAND | VMFlag.DONTDUMP)
    desc.page_prot = pgprot_noncached(desc.page_prot)
    desc.vm_ops = regs_vm_ops
    desc.private_data = "regs of device 0"
    return 0


regs = device("regs", 3, regs_mmap_prepare)
mm = MM()
addr = mm.mmap(BASE, P, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, regs)
vma = mm.vma_lookup(addr)
print(vma.vm_flags.names())
print(vma.vm_page_prot.describe(), "|", vma.vm_ops.name, "|", vma.vm_private_data)
try:
    mm.mmap(BASE + 2 * P, P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, regs)
except OSError as exc:
    print("private writable:", exc)

# %% [markdown]
# Everything the hook set is on the VMA, and the refused COW mapping left nothing behind.
# `vma_desc_test_any` and `vma_desc_clear_flags` complete the set of accessors; a hook can,
# for instance, drop `VM_MAYWRITE` from a read-only mapping so that `mprotect()` can never
# make it writable:

# %%
def ro_mmap_prepare(desc):
    if vma_desc_test_any(desc, VMFlag.WRITE):
        return -errno.EPERM
    vma_desc_clear_flags(desc, VMFlag.MAYWRITE)
    return 0


mm = MM()
ro = device("ro", 4, ro_mmap_prepare)
_ = mm.mmap(BASE, P, PROT_READ, MAP_SHARED | MAP_FIXED, ro)
try:
    mm.mprotect(BASE, P, PROT_READ | PROT_WRITE)
except OSError as exc:
    print("mprotect:", exc)

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
    print(exc)
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
        print(f"{name}: {exc}")
