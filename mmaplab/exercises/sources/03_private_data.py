# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
#   mmaplab:
#     exercise: "03"
#     title: "Private data under split, fork and failure"
#     kit: private_data
#     catalogue: mmaplab.exercises.ex03_private_data
#     chapter: book/05_vm_operations
# ---

# %% [markdown]
# # Exercise 03 — private data that survives split, fork and late failure
#
# A ring-buffer device gives every mapping a **context** (`struct ring_ctx`): allocated when the
# mapping is created, shared by all the VMAs that split or fork produces from it, and freed when
# the last of them is closed. The legacy hook allocated it and stored it in
# `vma->vm_private_data`.
#
# In `mmap_prepare` there is no VMA yet — and possibly never will be. The allocation moves to
# `vm_ops->mapped(start, end, pgoff, file, vm_private_data)`: `vm_private_data` is an in/out
# reference (`Ref`); setting `vm_private_data.value` updates the new VMA's `vm_private_data`.
#
# One more subtlety: when `mapped` fails, the kernel unmaps the new VMA, whose `vm_ops` are
# already installed — so **`close` runs on a VMA whose `mapped` never ran**.


# %% [markdown]
# ## The legacy hook
#
# Illustrative C in the kernel's style (written for this book):
#
# ```c
# static void ring_vm_open(struct vm_area_struct *vma)
# {
# 	struct ring_ctx *ctx = vma->vm_private_data;
#
# 	refcount_inc(&ctx->refcnt);
# }
#
# static void ring_vm_close(struct vm_area_struct *vma)
# {
# 	struct ring_ctx *ctx = vma->vm_private_data;
#
# 	if (refcount_dec_and_test(&ctx->refcnt))
# 		ring_ctx_free(ctx->dev, ctx);
# }
#
# static const struct vm_operations_struct ring_vm_ops = {
# 	.open	= ring_vm_open,
# 	.close	= ring_vm_close,
# 	.fault	= ring_fault,
# };
#
# static int ring_mmap(struct file *file, struct vm_area_struct *vma)
# {
# 	struct ring_dev *dev = file->private_data;
# 	struct ring_ctx *ctx;
#
# 	if (vma->vm_pgoff + vma_pages(vma) > dev->nr_pages)
# 		return -EINVAL;
# 	ctx = ring_ctx_alloc(dev);		/* NULL when all contexts are in use */
# 	if (!ctx)
# 		return -ENOMEM;
# 	vm_flags_set(vma, VM_DONTEXPAND | VM_DONTDUMP);
# 	vma->vm_ops = &ring_vm_ops;
# 	vma->vm_private_data = ctx;
# 	return 0;
# }
# ```


# %% [markdown]
# ## Your task
#
# Define `ring_mmap_prepare(desc)` and `ring_vm_ops` so that contexts are allocated once per
# mapping, shared by split pieces and fork copies, freed exactly once, never leaked — also when
# all contexts are in use, when `mapped` fails, and when the VMA allocation fails after
# `mmap_prepare`.
#
# * Device: `desc.file.private_data` / `file.private_data` is a `RingDev` with `nr_pages`,
#   `ctx_alloc()` (a `RingCtx` with `refcnt == 1`, or `None` when all `max_ctx` are in use),
#   `ctx_free(ctx)`. The check also tries a ring of another size and with more contexts.
# * A `RingCtx` has `refcnt` and `dev`. `ring_fault` (given) needs `vma.vm_private_data`.
# * Flags: `vma_desc_set_flags(desc, VMA_DONTEXPAND_BIT, VMA_DONTDUMP_BIT)`.


# %% tags=["setup"]
import errno

from mmaplab.kernel.mm_types import VmOperationsStruct, vma_desc_pages, vma_desc_set_flags
from mmaplab.kernel.vma_flags import VMA_DONTDUMP_BIT, VMA_DONTEXPAND_BIT
from mmaplab.drivers.private_data import RingDev, RingCtx, ring_fault


# %% tags=["answer"]
### SOLUTION: mmaplab.drivers.private_data.model:ring_mapped
### SOLUTION: mmaplab.drivers.private_data.model:ring_vm_open
### SOLUTION: mmaplab.drivers.private_data.model:ring_vm_close
### SOLUTION: mmaplab.drivers.private_data.model:ring_vm_ops
### SOLUTION: mmaplab.drivers.private_data.model:ring_mmap_prepare
### BEGIN STUB
def ring_vm_open(vma):
    vma.vm_private_data.refcnt += 1


def ring_vm_close(vma):
    ctx = vma.vm_private_data
    ctx.refcnt -= 1
    if ctx.refcnt == 0:
        ctx.dev.ctx_free(ctx)


ring_vm_ops = VmOperationsStruct(name="ring_vm_ops", open=ring_vm_open, close=ring_vm_close,
                                 fault=ring_fault)


def ring_mmap_prepare(desc):
    # TODO: convert ring_mmap() above
    return 0
### END STUB


# %% tags=["check"]
from mmaplab.exercises import check

check("03", ring_mmap_prepare, ring_vm_ops)


# %% [markdown] tags=["hint"]
# Which hook runs for which event? mmap_prepare: before any VMA exists (and perhaps none ever will). mapped: once, for a new VMA. open: for each copy that split or fork makes. close: for each VMA removed, including a new VMA whose mapping failed before mapped ran.


# %% [markdown] tags=["hint"]
# The allocation moves to vm_ops->mapped, which publishes the context through its vm_private_data out-parameter and fails with the legacy errno when none is left. mmap_prepare keeps the size check, sets the two flags with vma_desc_set_flags() (VMA_DONTEXPAND_BIT also keeps neighbours from merging) and installs desc.vm_ops. open takes a reference; close must cope with a VMA that never got a context.


# %% [markdown] tags=["hint"]
# mapped: allocate from the device (file.private_data); when that gives None return -ENOMEM, otherwise store the context in the out-parameter's value. open: one more reference on the VMA's context. close: nothing to do when the VMA has no context; otherwise drop one reference and free the context through its device when none is left.
