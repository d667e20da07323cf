"""afs: realistic wrong conversions of ``afs_file_mmap_prepare()`` / ``afs_mapped()``,
each written once.

Each ``answer`` replaces one or both of ``AfsDriver.afs_file_mmap_prepare`` and
``AfsDriver.afs_mapped``; the harness's mutant check, the case study and exercise 09's
catalogue all read :data:`MUTANTS`.  ``ref-in-prepare`` is the conversion the series
had to revert (9d5403b1036c).
"""

from __future__ import annotations

from typing import Any

from ...kernel.filemap import filemap_fault
from ...kernel.flags import PAGE_SIZE
from ...kernel.mm_types import VmAreaDesc, VmOperationsStruct
from ..base import Mutant, answer_mutant
from .model import AfsDriver, make_buggy

__all__ = ["MUTANTS"]


def _nothing(self: AfsDriver, start: int, end: int, pgoff: int, file: Any,
             vm_private_data: Any) -> int:
    return 0  # already counted in mmap_prepare


def _ref_in_prepare(self: AfsDriver, desc: VmAreaDesc) -> int:
    vnode = self._vnode(desc.file)
    self.afs_add_open_mmap(vnode)
    ret = self.generic_file_mmap_prepare(desc)
    if ret == 0:
        desc.vm_ops = self.vm_ops
    else:
        self.afs_drop_open_mmap(vnode)
    return ret


def _ref_in_prepare_and_mapped(self: AfsDriver, desc: VmAreaDesc) -> int:
    self.afs_add_open_mmap(self._vnode(desc.file))
    ret = self.generic_file_mmap_prepare(desc)
    if ret:
        return ret
    desc.vm_ops = self.vm_ops
    return 0


def _generic_vm_ops(self: AfsDriver, desc: VmAreaDesc) -> int:
    # "generic_file_mmap_prepare() already installs vm_ops"
    return self.generic_file_mmap_prepare(desc)


def _mapped_replaces_open(self: AfsDriver, desc: VmAreaDesc) -> int:
    ret = self.generic_file_mmap_prepare(desc)
    if ret:
        return ret
    # "mapped now counts every mapping, so .open is redundant"
    desc.vm_ops = VmOperationsStruct(name="afs_vm_ops", close=self.afs_vm_close,
                                     fault=filemap_fault, mapped=self.afs_mapped)
    return 0


def _ignores_generic_error(self: AfsDriver, desc: VmAreaDesc) -> int:
    self.generic_file_mmap_prepare(desc)
    desc.vm_ops = self.vm_ops
    return 0


def _counts_pages(self: AfsDriver, start: int, end: int, pgoff: int, file: Any,
                  vm_private_data: Any) -> int:
    for _ in range((end - start) // PAGE_SIZE):  # one reference per page mapped
        self.afs_add_open_mmap(self._vnode(file))
    return 0


def _upstream(name: str, text: str, breaks: str, answer: dict[str, Any]) -> Mutant:
    """A mutant whose harness driver is the upstream 9d5403b1036c conversion itself."""
    return Mutant(name, text, make_buggy, breaks, answer)


def _m(name: str, text: str, breaks: str, answer: dict[str, Any], **config: Any) -> Mutant:
    return answer_mutant(name, text, AfsDriver, breaks, answer, config or None)


MUTANTS: tuple[Mutant, ...] = (
    # The harness runs the upstream commit itself (no .mapped at all); a learner writes
    # the same mistake as the answer below.
    _upstream("ref-in-prepare",
       "takes the open-mmap reference in mmap_prepare (9d5403b1036c): mmap_prepare "
       "runs before the merge decision, so a range that merges or an mmap that fails "
       "later leaks a reference and the vnode stays on open_mmaps", "count-early",
       {"afs_file_mmap_prepare": _ref_in_prepare, "afs_mapped": _nothing}),
    _m("ref-in-prepare-and-mapped",
       "adds afs_mapped but keeps the prepare-time reference (v1 of the series): every "
       "new mapping is counted twice", "counted-twice",
       {"afs_file_mmap_prepare": _ref_in_prepare_and_mapped}),
    _m("generic-vm_ops",
       "keeps generic_file_vm_ops from generic_file_mmap_prepare(): no "
       "open/close/mapped, so mappings are never counted and callback breaks are not "
       "pushed to them", "vm-ops", {"afs_file_mmap_prepare": _generic_vm_ops}),
    _m("mapped-replaces-open",
       "believes mapped replaces open: without .open, split and forked copies are not "
       "counted but are closed, so cb_nr_mmap goes negative", "count-missing",
       {"afs_file_mmap_prepare": _mapped_replaces_open}),
    _m("ignores-generic-error",
       "ignores generic_file_mmap_prepare()'s return value: a file without read_folio "
       "is mapped (and counted) instead of failing with ENOEXEC", "lost-check",
       {"afs_file_mmap_prepare": _ignores_generic_error}, read_folio=False),
    _m("counts-pages",
       "takes one open-mmap reference per page in mapped (end - start is a byte range "
       "of the new VMA): the vnode is counted once per mapping, whatever its size",
       "counted-twice", {"afs_mapped": _counts_pages}),
)
