"""Exercise 03's device: per-mapping private data under split, fork and late failure.

A ring device hands each mapping a context object (the vme_user
``vme_user_vma_priv`` / tcmu ``udev`` pattern; drivers/staging/vme_user/vme_user.c,
v6.18): allocated when the mapping is created, shared by every VMA split or forked
from it (``vm_ops->open`` takes a reference), freed by the last ``vm_ops->close``.
Converted (v4 16/21 and 20/21 do the same), the allocation moves to
``vm_ops->mapped``, which publishes it through its ``vm_private_data`` out-parameter
(``call_vma_mapped()``, mm/util.c, v4 08/21); and ``close`` must cope with a VMA whose
``mapped`` never ran, because a failing action or ``mapped`` unmaps the new VMA with
its ``vm_ops`` already installed (``mmap_action_finish()``).
"""

from __future__ import annotations

import errno

from ...kernel.errors import UseAfterFreeError
from ...kernel.filemap import VM_FAULT_SIGBUS
from ...kernel.flags import VMFlag
from ...kernel.fs import File, FileOperations
from ...kernel.mm_types import (
    VmAreaDesc,
    VmAreaStruct,
    VmOperationsStruct,
    vma_desc_pages,
    vma_desc_set_flags,
    vma_pages,
)
from ...kernel.page_alloc import alloc_pages
from ...kernel.vma_flags import VMA_DONTDUMP_BIT, VMA_DONTEXPAND_BIT
from ..base import CharDevice

__all__ = ["RingDev", "RingCtx", "ring_fault", "ring_mmap", "ring_mapped", "ring_vm_open",
           "ring_vm_close", "ring_vm_ops", "ring_mmap_prepare"]


class RingCtx:
    """``struct ring_ctx``: one per mapping, shared by its split/forked VMAs."""

    def __init__(self, dev: RingDev, ident: int) -> None:
        self.dev = dev
        self.id = ident
        self.refcnt = 1
        self.freed = False

    def describe(self) -> str:
        return f"ring_ctx#{self.id}" + (" (freed)" if self.freed else "")

    def __repr__(self) -> str:
        return f"<{self.describe()} refcnt={self.refcnt}>"


class RingDev(CharDevice):
    """A ring buffer of ``nr_pages`` pages; at most ``max_ctx`` contexts at a time."""

    name = "ring"
    path = "/dev/ring0"
    devno = (242, 0)

    def __init__(self, variant: str = "prepare", fops: FileOperations | None = None, *,
                 nr_pages: int = 4, max_ctx: int = 2) -> None:
        self.nr_pages = nr_pages
        self.max_ctx = max_ctx
        self.pages = alloc_pages(nr_pages, kind="kernel")
        self.live: list[RingCtx] = []
        self.allocated = 0
        super().__init__(variant, fops)

    def file_operations(self, variant: str) -> FileOperations:
        if variant == "legacy":
            return FileOperations(name="ring_fops", mmap=ring_mmap)
        return FileOperations(name="ring_fops", mmap_prepare=ring_mmap_prepare)

    def ctx_alloc(self) -> RingCtx | None:
        """``ring_ctx_alloc()``: a new context with refcnt 1, or None when all are in use."""
        if len(self.live) >= self.max_ctx:
            return None
        self.allocated += 1
        ctx = RingCtx(self, self.allocated)
        self.live.append(ctx)
        return ctx

    def ctx_free(self, ctx: RingCtx) -> None:
        """``ring_ctx_free()``."""
        if ctx.freed:
            raise UseAfterFreeError(f"double free of ring_ctx#{ctx.id}")
        ctx.freed = True
        self.live.remove(ctx)

    def observe(self) -> dict[str, object]:
        return {"live contexts": [f"#{c.id} refcnt={c.refcnt}" for c in self.live],
                "allocated": self.allocated}


def ring_fault(vmf):
    """The (given) fault handler: needs the mapping's context."""
    ctx = vmf.vma.vm_private_data
    if ctx is None or ctx.freed:
        if ctx is not None:
            raise UseAfterFreeError(f"fault on a mapping whose ring_ctx#{ctx.id} was freed")
        return VM_FAULT_SIGBUS
    vmf.page = ctx.dev.pages[vmf.pgoff]
    return 0


# -- converted: the reference answer ------------------------------------------------------

def ring_mapped(start, end, pgoff, file, vm_private_data):
    ctx = file.private_data.ctx_alloc()
    if ctx is None:
        return -errno.ENOMEM
    vm_private_data.value = ctx
    return 0


def ring_vm_open(vma):
    vma.vm_private_data.refcnt += 1


def ring_vm_close(vma):
    ctx = vma.vm_private_data
    if ctx is None:  # mapped never ran: the mapping failed late
        return
    ctx.refcnt -= 1
    if ctx.refcnt == 0:
        ctx.dev.ctx_free(ctx)


ring_vm_ops = VmOperationsStruct(name="ring_vm_ops", mapped=ring_mapped, open=ring_vm_open,
                                 close=ring_vm_close, fault=ring_fault)


def ring_mmap_prepare(desc: VmAreaDesc) -> int:
    dev = desc.file.private_data
    if desc.pgoff + vma_desc_pages(desc) > dev.nr_pages:
        return -errno.EINVAL
    vma_desc_set_flags(desc, VMA_DONTEXPAND_BIT, VMA_DONTDUMP_BIT)
    desc.vm_ops = ring_vm_ops
    return 0


# -- legacy --------------------------------------------------------------------------------

def ring_mmap(file: File, vma: VmAreaStruct) -> int:
    """``ring_mmap()``: size check, a context for the new VMA, flags and operations."""
    dev: RingDev = file.private_data
    if vma.vm_pgoff + vma_pages(vma) > dev.nr_pages:
        return -errno.EINVAL
    ctx = dev.ctx_alloc()
    if ctx is None:
        return -errno.ENOMEM
    vma.vm_flags |= VMFlag.DONTEXPAND | VMFlag.DONTDUMP  # vm_flags_set()
    vma.vm_ops = ring_vm_ops  # its open/close are the legacy ones too
    vma.vm_private_data = ctx
    return 0
