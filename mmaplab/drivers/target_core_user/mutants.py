"""target_core_user: realistic wrong conversions, each written once.

Most replace ``TcmuDev.tcmu_mmap_prepare`` and/or ``TcmuDev.tcmu_vma_mapped``
(exercise 14's catalogue); the last four replace the uio core's ``uio_mmap()``, the
caller of tcmu's ``uio_info->mmap_prepare`` override, and show only on a driver with an
override (exercise 12's catalogue).  The harness's mutant check and the case study
read all of :data:`MUTANTS`.
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from typing import Any

from ...kernel.flags import PAGE_SHIFT
from ...kernel.mm_types import VmAreaDesc, vma_desc_set_flags
from ...kernel.vma_flags import VMA_DONTDUMP_BIT, VMA_DONTEXPAND_BIT
from ..base import Mutant, answer_mutant
from ..uio.model import UioCore, UioInfo
from ..uio.mutants import (
    call_override,
    override_ignores_error,
    override_skip_compat,
    uio_mmap_with,
)
from .model import TcmuDev

__all__ = ["MUTANTS", "tcmu_on"]


def _prepare(self: TcmuDev, desc: VmAreaDesc, *, private_data: bool = True,
             size_check: str = "exact", kref: str = "") -> int:
    """``tcmu_mmap_prepare()`` with one step changed (the keywords name it)."""
    if kref == "first":
        self.kref_get()  # as tcmu_vma_open() did
    vma_desc_set_flags(desc, VMA_DONTEXPAND_BIT, VMA_DONTDUMP_BIT)
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


def tcmu_on(core: UioCore, variant: str = "prepare") -> TcmuDev:
    """A tcm-user device whose ``/dev/uioN`` goes through ``core``."""
    dev = TcmuDev(variant)
    dev.core = core  # TcmuDev builds its own UioCore; open() goes through dev.core
    return dev


def _on_tcmu(name: str, text: str, breaks: str, fn: Callable[..., int]) -> Mutant:
    """``uio_mmap()`` converted wrongly (``answer`` replaces ``UioCore.uio_mmap``), as
    tcm-user, the driver with a ``uio_info->mmap_prepare`` override, sees it."""
    cls = type("_MutantUioCore", (UioCore,), {"uio_mmap": fn})
    return Mutant(name, text, lambda: tcmu_on(cls(True)), breaks, {"uio_mmap": fn},
                  lambda variant: tcmu_on(UioCore(variant == "prepare"), variant))


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
    _on_tcmu("no-override",
             "never calls info->mmap_prepare: tcmu describes its region as UIO_MEM_NONE, "
             "which the core cannot map by itself, so every mmap of /dev/uioN fails with "
             "EINVAL", "extra-refusal", uio_mmap_with(None)),
    _on_tcmu("skip-__compat_vma_mmap",
             "calls info->mmap_prepare and returns: the descriptor is never applied to the "
             "VMA, so tcmu's flags, vm_ops and private_data never reach it and mapped never "
             "takes the device reference", "compat-steps", uio_mmap_with(override_skip_compat)),
    _on_tcmu("ignores-prepare-error",
             "applies the descriptor even when info->mmap_prepare refused: tcmu's exact-size "
             "check fails, yet the mapping is made", "lost-check",
             uio_mmap_with(override_ignores_error)),
    _on_tcmu("prepare-before-checks",
             "calls info->mmap_prepare before uio_mmap's own checks: the region index "
             "(vm_pgoff) and the size are no longer validated for drivers with an override, "
             "so an offset that selects an empty region is accepted", "lost-check",
             uio_mmap_with(call_override, checks_first=False)),
)
