"""uio: realistic wrong conversions, each written once.

Two kinds.  The core's own helpers broken (``rounded-size-only``, ...: the harness's
mutant check and the case study use them).  And ``uio_mmap()`` as a learner converting
it might write it, with the ``uio_info->mmap_prepare`` override called through the
compat layer (``answer`` replaces ``UioCore.uio_mmap``): those that show on a platform
device are here; those that show only on a driver with an override are tcm-user's
(:mod:`mmaplab.drivers.target_core_user.mutants` builds them with :func:`uio_mmap_with`).
Exercise 12's catalogue reads both.
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from typing import Any

from ...kernel.compat import __compat_vma_mmap, compat_set_desc_from_vma
from ...kernel.flags import PAGE_MASK, PAGE_SHIFT
from ...kernel.fs import File
from ...kernel.memory import remap_pfn_range
from ...kernel.mm_types import VmAreaStruct
from ..base import Mutant
from .model import (
    UIO_MEM_DMA_COHERENT,
    UIO_MEM_IOVA,
    UIO_MEM_LOGICAL,
    UIO_MEM_PHYS,
    UIO_MEM_VIRTUAL,
    UioCore,
    UioDevice,
    UioInfo,
    UioMem,
    UioPdrv,
)

__all__ = ["MUTANTS", "uio_mmap_with", "call_override", "override_skip_compat",
           "override_ignores_error"]

Override = Callable[[File, UioInfo, VmAreaStruct], int]


# -- the core's helpers broken --------------------------------------------------------------

class _RoundedSizeOnly(UioCore):
    """Drops the byte-size check of uio_mmap_physical (the page-rounded check "covers it")."""

    @staticmethod
    def byte_size_ok(vma: VmAreaStruct, mem: UioMem) -> bool:
        return True


class _LogicalWithoutDontexpand(UioCore):
    """Forgets VM_DONTEXPAND|VM_DONTDUMP for LOGICAL/VIRTUAL maps."""

    def uio_mmap_logical(self, vma: VmAreaStruct) -> int:
        vma.vm_ops = self.logical_vm_ops
        return 0


class _PhysCached(UioCore):
    """Forgets pgprot_noncached() for UIO_MEM_PHYS registers."""

    def uio_mmap_physical(self, vma: VmAreaStruct) -> int:
        idev: UioDevice = vma.vm_private_data
        mi = self.uio_find_mem_index(vma)
        if mi < 0:
            return -errno.EINVAL
        assert idev.info is not None
        mem = idev.info.mem[mi]
        if mem.addr & ~PAGE_MASK:
            return -errno.ENODEV
        if not self.byte_size_ok(vma, mem):
            return -errno.EINVAL
        vma.vm_ops = self.physical_vm_ops
        # no pgprot_noncached(vma->vm_page_prot) for UIO_MEM_PHYS
        return remap_pfn_range(vma, vma.vm_start, mem.addr >> PAGE_SHIFT,
                               vma.vm_end - vma.vm_start, vma.vm_page_prot)


# -- uio_mmap() converted wrongly ------------------------------------------------------------

def uio_mmap_with(override: Override | None, *, checks_first: bool = True,
                   dispatch: dict[int, str] | None = None) -> Callable[..., int]:
    """``uio_mmap()`` whose override step is ``override(filep, info, vma)`` (``None``: no
    override step), run after the core's checks or before them; ``dispatch`` replaces
    the memtype -> helper table."""
    table = dispatch or {UIO_MEM_IOVA: "uio_mmap_physical", UIO_MEM_PHYS: "uio_mmap_physical",
                         UIO_MEM_LOGICAL: "uio_mmap_logical",
                         UIO_MEM_VIRTUAL: "uio_mmap_logical",
                         UIO_MEM_DMA_COHERENT: "uio_mmap_dma_coherent"}

    def uio_mmap(self: UioCore, filep: File, vma: VmAreaStruct) -> int:
        idev = filep.private_data.dev
        if vma.vm_end < vma.vm_start:
            return -errno.EINVAL
        vma.vm_private_data = idev
        info = idev.info
        if not checks_first and override is not None and info is not None and (
                info.mmap_prepare is not None):
            # "the driver knows its own region best: let it decide first"
            return override(filep, info, vma)
        idev.info_lock.down_write("uio_mmap")
        try:
            if info is None:
                return -errno.EINVAL
            mi = self.uio_find_mem_index(vma)
            if mi < 0 or not self.size_ok(vma, info.mem[mi]):
                return -errno.EINVAL
            if override is not None and info.mmap_prepare is not None:
                return override(filep, info, vma)
            helper = table.get(info.mem[mi].memtype)
            return -errno.EINVAL if helper is None else int(getattr(self, helper)(vma))
        finally:
            idev.info_lock.up_write()
    return uio_mmap


def _override(info: UioInfo) -> Callable[..., Any]:
    assert info.mmap_prepare is not None  # only called for drivers with an override
    return info.mmap_prepare


def call_override(filep: File, info: UioInfo, vma: VmAreaStruct) -> int:
    desc = compat_set_desc_from_vma(filep, vma)
    ret = int(_override(info)(info, desc))
    return ret if ret else __compat_vma_mmap(desc, vma)


def override_skip_compat(filep: File, info: UioInfo, vma: VmAreaStruct) -> int:
    # "the mm performs the descriptor's action afterwards"
    return int(_override(info)(info, compat_set_desc_from_vma(filep, vma)))


def override_ignores_error(filep: File, info: UioInfo, vma: VmAreaStruct) -> int:
    desc = compat_set_desc_from_vma(filep, vma)
    _override(info)(info, desc)
    return __compat_vma_mmap(desc, vma)


def _on_pdrv(name: str, text: str, breaks: str, fn: Callable[..., int],
             **config: Any) -> Mutant:
    cls = type("_MutantUioCore", (UioCore,), {"uio_mmap": fn})
    ref = (lambda variant: UioPdrv(variant, **config)) if config else None
    return Mutant(name, text, lambda: UioPdrv("prepare", core=cls(True), **config), breaks,
                  {"uio_mmap": fn}, ref)


_IOVA_AS_LOGICAL = {UIO_MEM_PHYS: "uio_mmap_physical", UIO_MEM_IOVA: "uio_mmap_logical",
                    UIO_MEM_LOGICAL: "uio_mmap_logical", UIO_MEM_VIRTUAL: "uio_mmap_logical",
                    UIO_MEM_DMA_COHERENT: "uio_mmap_dma_coherent"}
_DMA_AS_PHYS = {UIO_MEM_PHYS: "uio_mmap_physical", UIO_MEM_IOVA: "uio_mmap_physical",
                UIO_MEM_LOGICAL: "uio_mmap_logical", UIO_MEM_VIRTUAL: "uio_mmap_logical",
                UIO_MEM_DMA_COHERENT: "uio_mmap_physical"}

MUTANTS: tuple[Mutant, ...] = (
    Mutant("rounded-size-only",
           "drops the byte-size check of uio_mmap_physical: userspace can map the rest of "
           "the page after a 6 KiB register block", lambda: UioPdrv(
               "prepare", core=_RoundedSizeOnly(True)), "lost-check"),
    Mutant("logical-without-dontexpand",
           "forgets VM_DONTEXPAND|VM_DONTDUMP for fault-backed maps: adjacent maps merge and "
           "can be grown with mremap", lambda: UioPdrv(
               "prepare", core=_LogicalWithoutDontexpand(True)), "flags"),
    Mutant("phys-cached",
           "forgets pgprot_noncached() for UIO_MEM_PHYS: registers mapped cacheable",
           lambda: UioPdrv("prepare", core=_PhysCached(True)), "noncached"),
    _on_pdrv("iova-as-logical",
             "sends UIO_MEM_IOVA down the logical (fault-backed) path: an IOVA region is "
             "physical memory to be remapped, not kernel pages to fault in", "no-action",
             uio_mmap_with(call_override, dispatch=_IOVA_AS_LOGICAL), memtype0=UIO_MEM_IOVA),
    _on_pdrv("dma-coherent-as-phys",
             "remaps a UIO_MEM_DMA_COHERENT region as if it were UIO_MEM_PHYS: coherent DMA "
             "memory goes through dma_mmap_coherent(), which maps it cacheable as the DMA "
             "API allocated it", "noncached",
             uio_mmap_with(call_override, dispatch=_DMA_AS_PHYS)),
)
