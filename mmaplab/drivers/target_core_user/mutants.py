"""target_core_user: realistic wrong conversions of ``tcmu_mmap_prepare()`` /
``tcmu_vma_mapped()``, each written once.

Each ``answer`` replaces one or both of ``TcmuDev.tcmu_mmap_prepare`` and
``TcmuDev.tcmu_vma_mapped``; the harness's mutant check, the case study and exercise
14's catalogue all read :data:`MUTANTS`.
"""

from __future__ import annotations

import errno
from typing import Any

from ...kernel.flags import PAGE_SHIFT, VMFlag
from ...kernel.mm_types import VmAreaDesc, vma_desc_set_flags
from ..base import Mutant, answer_mutant
from ..uio.model import UioInfo
from .model import TcmuDev

__all__ = ["MUTANTS"]


def _prepare(self: TcmuDev, desc: VmAreaDesc, *, private_data: bool = True,
             size_check: str = "exact", kref: str = "") -> int:
    """``tcmu_mmap_prepare()`` with one step changed (the keywords name it)."""
    if kref == "first":
        self.kref_get()  # as tcmu_vma_open() did
    vma_desc_set_flags(desc, VMFlag.DONTEXPAND | VMFlag.DONTDUMP)
    desc.vm_ops = self.vm_ops
    if private_data:
        desc.private_data = self
    pages = (desc.end - desc.start) >> PAGE_SHIFT
    if size_check == "exact" and pages != self.mmap_pages:
        return -errno.EINVAL
    if size_check == "bytes" and desc.end - desc.start != self.mmap_pages:
        return -errno.EINVAL
    if kref == "after-checks":
        self.kref_get()
    return 0


def _no_mapped(self: TcmuDev, start: int, end: int, pgoff: int, file: Any,
               vm_private_data: Any) -> int:
    return 0  # "tcmu_vma_open() is gone: nothing to do"


def _kref_first(self: TcmuDev, info: UioInfo, desc: VmAreaDesc) -> int:
    return _prepare(self, desc, kref="first")


def _kref_twice(self: TcmuDev, info: UioInfo, desc: VmAreaDesc) -> int:
    return _prepare(self, desc, kref="after-checks")


def _no_exact_size(self: TcmuDev, info: UioInfo, desc: VmAreaDesc) -> int:
    return _prepare(self, desc, size_check="")  # "uio_mmap already checked the size"


def _bytes(self: TcmuDev, info: UioInfo, desc: VmAreaDesc) -> int:
    return _prepare(self, desc, size_check="bytes")


def _forgot_private_data(self: TcmuDev, info: UioInfo, desc: VmAreaDesc) -> int:
    # "uio_mmap has set vma->vm_private_data already"
    return _prepare(self, desc, private_data=False)


def _m(name: str, text: str, breaks: str, answer: dict[str, Any]) -> Mutant:
    return answer_mutant(name, text, TcmuDev, breaks, answer)


_PREPARE = "tcmu_mmap_prepare"
MUTANTS: tuple[Mutant, ...] = (
    _m("kref-in-mmap_prepare",
       "takes the device reference in mmap_prepare, before the size check: a wrongly "
       "sized mmap() fails and the reference leaks", "count-early",
       {_PREPARE: _kref_first, "tcmu_vma_mapped": _no_mapped}),
    _m("no-exact-size-check",
       "drops the exact-size check because uio_mmap already checks the size: a short "
       "mapping is accepted", "lost-check", {_PREPARE: _no_exact_size}),
    _m("forgot-private_data",
       "relies on uio_mmap's vma->vm_private_data = idev; the compat layer overwrites it "
       "with desc->private_data (NULL), so mapped() dereferences NULL", "private-data",
       {_PREPARE: _forgot_private_data}),
    _m("forgot-mapped",
       "drops tcmu_vma_open() from the hook but forgets vm_ops->mapped: no reference "
       "for the first VMA, and its close() drops one the device never got",
       "count-missing", {"tcmu_vma_mapped": _no_mapped}),
    _m("kref-in-prepare-and-mapped",
       "takes the reference in mmap_prepare after the checks and again in mapped: every "
       "mapping holds two references and the device is never freed", "counted-twice",
       {_PREPARE: _kref_twice}),
    _m("size-in-bytes",
       "compares the mapping's length in bytes with mmap_pages, a number of pages: every "
       "mapping is refused with EINVAL", "extra-refusal", {_PREPARE: _bytes}),
)
