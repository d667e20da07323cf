"""Exercise 02: realistic wrong conversions, each written once.

Each replaces ``trk_mmap_prepare`` and ``trk_vm_ops`` (the hook installs the
operations, so a wrong ``vm_ops`` comes with its own hook), with the rule it breaks.
Exercise 02's catalogue and its diagnoses read :data:`MUTANTS`.
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from typing import Any

from ...kernel.fs import FileOperations
from ...kernel.mm_types import VmAreaDesc, VmOperationsStruct, vma_desc_pages, vma_desc_size
from ..base import Mutant
from .model import TrkDev, trk_fault, trk_mapped, trk_vm_close, trk_vm_open

__all__ = ["MUTANTS"]


def _prepare(ops: VmOperationsStruct, *, count: bool = False, check: bool = True,
             bytes_check: bool = False, install: bool = True) -> Callable[[VmAreaDesc], int]:
    """A converted hook with one of the typical slips (keyword: which)."""
    def trk_mmap_prepare(desc: VmAreaDesc) -> int:
        dev = desc.file.private_data
        size = vma_desc_size(desc) if bytes_check else vma_desc_pages(desc)
        if check and desc.pgoff + size > dev.nr_pages:
            return -errno.EINVAL
        if count:
            dev.add_open_mmap()  # counted before the kernel knows a VMA will exist
        if install:
            desc.vm_ops = ops
        return 0
    return trk_mmap_prepare


def _ops(**hooks: Any) -> VmOperationsStruct:
    base: dict[str, Any] = {"mapped": trk_mapped, "open": trk_vm_open, "close": trk_vm_close,
                            "fault": trk_fault}
    base.update(hooks)
    return VmOperationsStruct(name="trk_vm_ops", **{k: v for k, v in base.items()
                                                    if v is not None})


def _file_open(vma: Any) -> None:
    vma.vm_file.private_data.add_open_mmap()


def _file_close(vma: Any) -> None:
    vma.vm_file.private_data.drop_open_mmap()  # "close undoes open": whether counted or not


def _mapped_no_mark(start: int, end: int, pgoff: int, file: Any, vm_private_data: Any) -> int:
    file.private_data.add_open_mmap()
    return 0


REFERENCE_OPS = _ops()
LEGACY_STYLE_OPS = _ops(mapped=_mapped_no_mark, open=_file_open, close=_file_close)


def _m(name: str, text: str, breaks: str, prepare: Callable[[VmAreaDesc], int],
       ops: VmOperationsStruct) -> Mutant:
    answer = {"trk_mmap_prepare": prepare, "trk_vm_ops": ops}
    return Mutant(name, text,
                  lambda: TrkDev("prepare", FileOperations(name="trk_fops",
                                                           mmap_prepare=prepare)),
                  breaks, answer)


#: The legacy operations, kept as they were: no mapped, open and close on vm_file.
_NO_MAPPED = _ops(mapped=None, open=_file_open, close=_file_close)

MUTANTS: tuple[Mutant, ...] = (
    _m("count-in-prepare",
       "counting in mmap_prepare: it runs before the kernel decides whether the range "
       "merges into a neighbouring VMA, and before the VMA is allocated; when it merges "
       "or a later step fails no new VMA exists, but the count went up and nothing brings "
       "it down; count in vm_ops->mapped, which runs only for a new VMA",
       "count-early", _prepare(_NO_MAPPED, count=True), _NO_MAPPED),
    _m("counted-twice",
       "counting in both mmap_prepare and mapped: each new VMA must be counted exactly "
       "once, and mapped already does it (this was a bug in v1 of the afs conversion)",
       "counted-twice", _prepare(REFERENCE_OPS, count=True), REFERENCE_OPS),
    _m("missing-open",
       "split and fork create VMAs too: vm_ops->open runs for the copy a split (partial "
       "munmap or mprotect) or fork makes, mapped does not; without open the count falls "
       "behind and close drives it below the number of live VMAs",
       "count-missing", _prepare(_ops(open=None)), _ops(open=None)),
    _m("missing-close",
       "every VMA that goes away must be uncounted: vm_ops->close runs when a VMA is "
       "removed (munmap, exit, MAP_FIXED replacement)",
       "counted-twice", _prepare(_ops(close=None)), _ops(close=None)),
    _m("close-without-mapped",
       "close drops a count that mapped never took: a mapping that fails after the VMA "
       "exists (the page-table allocation, or mapped itself) is unmapped with its vm_ops "
       "installed, so close runs for a VMA that was never counted; mapped marks the VMA "
       "it counted (vm_private_data.value = the device) and close drops only then",
       "count-dropped", _prepare(LEGACY_STYLE_OPS), LEGACY_STYLE_OPS),
    _m("lost-check",
       "the legacy size check is still needed: trk_mmap() refused a mapping beyond the "
       "end of the file with -EINVAL, and mmap_prepare refuses it the same way "
       "(desc->pgoff and vma_desc_pages(desc))",
       "lost-check", _prepare(REFERENCE_OPS, check=False), REFERENCE_OPS),
    _m("bytes-for-pages",
       "compares a size in bytes with a count of pages: vma_desc_size() is bytes, "
       "nr_pages and desc->pgoff are pages; the legacy vma_pages() is vma_desc_pages()",
       "extra-refusal", _prepare(REFERENCE_OPS, bytes_check=True), REFERENCE_OPS),
    _m("vm-ops-not-set",
       "the descriptor's vm_ops is an output: install the operations with "
       "desc->vm_ops = &trk_vm_ops; without it neither mapped, open, close nor the fault "
       "handler ever runs", "vm-ops", _prepare(REFERENCE_OPS, install=False), REFERENCE_OPS),
)
