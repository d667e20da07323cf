"""Exercise 03: realistic wrong conversions, each written once.

Each replaces ``ring_mmap_prepare`` and ``ring_vm_ops`` (the hook installs the
operations), with the rule it breaks.  Exercise 03's catalogue and its diagnoses read
:data:`MUTANTS`.
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from typing import Any

from ...kernel.fs import FileOperations
from ...kernel.mm_types import VmAreaDesc, VmOperationsStruct, vma_desc_pages, vma_desc_set_flags
from ...kernel.vma_flags import VMA_DONTDUMP_BIT, VMA_DONTEXPAND_BIT
from ..base import Mutant
from .model import RingDev, ring_fault, ring_mapped, ring_vm_close, ring_vm_open

__all__ = ["MUTANTS"]


def _ops(**hooks: Any) -> VmOperationsStruct:
    base: dict[str, Any] = {"mapped": ring_mapped, "open": ring_vm_open,
                            "close": ring_vm_close, "fault": ring_fault}
    base.update(hooks)
    return VmOperationsStruct(name="ring_vm_ops",
                              **{k: v for k, v in base.items() if v is not None})


def _prepare(ops: VmOperationsStruct, *, flags: bool = True, check: bool = True,
             ctx_here: bool = False) -> Callable[[VmAreaDesc], int]:
    def ring_mmap_prepare(desc: VmAreaDesc) -> int:
        dev = desc.file.private_data
        if check and desc.pgoff + vma_desc_pages(desc) > dev.nr_pages:
            return -errno.EINVAL
        if ctx_here:  # "the legacy hook allocated here, so does the converted one"
            ctx = dev.ctx_alloc()
            if ctx is None:
                return -errno.ENOMEM
            desc.private_data = ctx
        if flags:
            vma_desc_set_flags(desc, VMA_DONTEXPAND_BIT, VMA_DONTDUMP_BIT)
        desc.vm_ops = ops
        return 0
    return ring_mmap_prepare


def _close_assumes_mapped(vma: Any) -> None:
    ctx = vma.vm_private_data
    ctx.refcnt -= 1  # as in the legacy close: the VMA always had a context
    if ctx.refcnt == 0:
        ctx.dev.ctx_free(ctx)


def _mapped_not_published(start: int, end: int, pgoff: int, file: Any, priv: Any) -> int:
    ctx = file.private_data.ctx_alloc()
    if ctx is None:
        return -errno.ENOMEM
    priv = ctx  # rebinds the local name: the VMA never sees it  # noqa: F841
    return 0


def _mapped_ebusy(start: int, end: int, pgoff: int, file: Any, priv: Any) -> int:
    ctx = file.private_data.ctx_alloc()
    if ctx is None:
        return -errno.EBUSY  # "all contexts are busy"
    priv.value = ctx
    return 0


def _mapped_ignores_none(start: int, end: int, pgoff: int, file: Any, priv: Any) -> int:
    priv.value = file.private_data.ctx_alloc()  # "alloc cannot fail"
    return 0


def _close_frees(vma: Any) -> None:
    ctx = vma.vm_private_data
    if ctx is None:
        return
    ctx.dev.ctx_free(ctx)  # "close is the end of the mapping": frees a shared context


def _m(name: str, text: str, breaks: str, ops: VmOperationsStruct,
       prepare: Callable[[VmAreaDesc], int] | None = None) -> Mutant:
    hook = prepare or _prepare(ops)
    return Mutant(name, text,
                  lambda: RingDev("prepare", FileOperations(name="ring_fops",
                                                            mmap_prepare=hook)),
                  breaks, {"ring_mmap_prepare": hook, "ring_vm_ops": ops})


_NO_MAPPED = _ops(mapped=None)
_OPS = _ops()

MUTANTS: tuple[Mutant, ...] = (
    _m("ctx-in-prepare",
       "allocating per-mapping state in mmap_prepare: it runs before the VMA is "
       "allocated; if anything fails after it (here: allocating the vm_area_struct) no "
       "VMA exists, close never runs and the context leaks; allocate in vm_ops->mapped "
       "and publish it through its vm_private_data out-parameter",
       "count-early", _NO_MAPPED, _prepare(_NO_MAPPED, ctx_here=True)),
    _m("close-assumes-mapped",
       "close runs even when mapped did not: when the action or mapped fails, the kernel "
       "unmaps the new VMA, whose vm_ops are already installed, so close runs on a VMA "
       "that never got its private data and must accept vm_private_data == NULL",
       "null-deref", _ops(close=_close_assumes_mapped)),
    _m("missing-open",
       "split and fork share the context: a split or fork makes another VMA pointing at "
       "the same context, and vm_ops->open must take a reference, or the first close "
       "frees a context still in use", "count-missing", _ops(open=None)),
    _m("close-frees-shared",
       "close frees the context without dropping a reference: the pieces of a split and "
       "the copies of a fork share it, so only the close that drops the last reference "
       "frees it (refcount_dec_and_test())", "count-missing", _ops(close=_close_frees)),
    _m("forgot-flags",
       "the legacy hook set VM_DONTEXPAND | VM_DONTDUMP: set them on the descriptor with "
       "vma_desc_set_flags(desc, VMA_DONTEXPAND_BIT, VMA_DONTDUMP_BIT); VM_DONTEXPAND "
       "also keeps the mapping from merging with its neighbours (it is in VM_SPECIAL)",
       "flags", _OPS, _prepare(_OPS, flags=False)),
    _m("priv-not-set",
       "mapped publishes the private data through its out-parameter: vm_private_data is "
       "a pointer to the VMA's private data; set *vm_private_data = ctx (in Python, "
       "vm_private_data.value = ctx) so the VMA (and open, close, fault) can find it",
       "private-data",
       _ops(mapped=_mapped_not_published)),
    _m("alloc-failure-ignored",
       "a context allocation that fails must fail the mapping: ring_ctx_alloc() returns "
       "NULL when every context is in use, and the legacy hook refused with -ENOMEM; "
       "mapped returns the error, and the kernel unmaps the new VMA",
       "lost-check", _ops(mapped=_mapped_ignores_none)),
    _m("wrong-errno",
       "keep the legacy errno: out of contexts, ring_mmap() returned -ENOMEM, and user "
       "space sees the errno", "errno", _ops(mapped=_mapped_ebusy)),
    _m("lost-check",
       "the legacy size check is still needed: ring_mmap() refused mappings beyond the "
       "ring with -EINVAL", "lost-check", _OPS, _prepare(_OPS, check=False)),
)
