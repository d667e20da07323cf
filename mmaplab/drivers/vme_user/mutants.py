"""vme_user: realistic wrong conversions of the master-window mmap, each written once.

Each ``answer`` replaces one or more of ``VmeUser.vme_master_mmap_prepare`` (vme.c),
``VmeUser.vme_user_master_mmap_prepare`` and ``VmeUser.vme_user_vm_mapped``
(vme_user.c); the harness's mutant check, the case study and exercise 10's catalogue
all read :data:`MUTANTS`.
"""

from __future__ import annotations

import errno
from typing import Any

from ...kernel.flags import PAGE_SHIFT
from ...kernel.mm_types import Ref, VmAreaDesc, VmOperationsStruct, vma_desc_size
from ...kernel.mmap_action import mmap_action_simple_ioremap
from ...kernel.pgtable import pgprot_noncached
from ..base import Mutant, answer_mutant
from .model import VME_MASTER, VME_SLAVE, VmeResource, VmeUser

__all__ = ["MUTANTS"]


def _master(self: VmeUser, resource: VmeResource, desc: VmAreaDesc, *,
            type_check: bool = True, window_check: bool = True, noncached: bool = True,
            offset: bool = True, size: int | None = None) -> int:
    """``vme_master_mmap_prepare()`` with one step changed (the keyword names it)."""
    vma_size = vma_desc_size(desc)
    if type_check and resource.type != VME_MASTER:
        return -errno.EINVAL
    phys_addr = resource.bus_start + ((desc.pgoff << PAGE_SHIFT) if offset else 0)
    if window_check and phys_addr + vma_size > resource.bus_end + 1:
        return -errno.EFAULT
    if noncached:
        desc.page_prot = pgprot_noncached(desc.page_prot)
    mmap_action_simple_ioremap(desc, phys_addr, vma_size if size is None else size)
    return 0


def _window_size(self: VmeUser, resource: VmeResource, desc: VmAreaDesc) -> int:
    return _master(self, resource, desc, size=resource.bus_end + 1 - resource.bus_start)


def _no_window_check(self: VmeUser, resource: VmeResource, desc: VmAreaDesc) -> int:
    return _master(self, resource, desc, window_check=False)  # "simple_ioremap checks it"


def _forgot_noncached(self: VmeUser, resource: VmeResource, desc: VmAreaDesc) -> int:
    return _master(self, resource, desc, noncached=False)


def _no_type_check(self: VmeUser, resource: VmeResource, desc: VmAreaDesc) -> int:
    return _master(self, resource, desc, type_check=False)


def _ignores_pgoff(self: VmeUser, resource: VmeResource, desc: VmAreaDesc) -> int:
    return _master(self, resource, desc, offset=False)


def _user_master(self: VmeUser, minor: int, desc: VmAreaDesc, *, vm_ops: Any = True,
                 alloc: bool = False) -> int:
    img = self.image[minor]
    img.mutex.down_write("vme_user_master_mmap_prepare")
    try:
        assert img.resource is not None
        err = self.vme_master_mmap_prepare(img.resource, desc)
        if not err and vm_ops is not None:
            desc.vm_ops = self.vm_ops if vm_ops is True else vm_ops
        if not err and alloc:
            desc.private_data = self._kmalloc_priv(minor)
            img.mmap_count += 1
        return err
    finally:
        img.mutex.up_write()


def _alloc_in_prepare(self: VmeUser, minor: int, desc: VmAreaDesc) -> int:
    return _user_master(self, minor, desc, alloc=True, vm_ops=VmOperationsStruct(
        name="vme_user_vm_ops", open=self.vme_user_vm_open, close=self.vme_user_vm_close))


def _forgot_vm_ops(self: VmeUser, minor: int, desc: VmAreaDesc) -> int:
    return _user_master(self, minor, desc, vm_ops=None)


def _unlock_missing_on_error(self: VmeUser, minor: int, desc: VmAreaDesc) -> int:
    img = self.image[minor]
    img.mutex.down_write("vme_user_master_mmap_prepare")
    assert img.resource is not None
    err = self.vme_master_mmap_prepare(img.resource, desc)
    if err:
        return err  # "the mapping failed: there is nothing to undo"
    desc.vm_ops = self.vm_ops
    img.mutex.up_write()
    return 0


def _mapped_nothing(self: VmeUser, start: int, end: int, pgoff: int, file: Any,
                    vm_private_data: Ref) -> int:
    return 0  # done in mmap_prepare


def _m(name: str, text: str, breaks: str, answer: dict[str, Any], **config: Any) -> Mutant:
    return answer_mutant(name, text, VmeUser, breaks, answer, config or None)


_MASTER = "vme_master_mmap_prepare"
MUTANTS: tuple[Mutant, ...] = (
    _m("alloc-in-mmap_prepare",
       "allocates the vma_priv and bumps mmap_count in mmap_prepare: when the action "
       "then fails (nonzero offset), nothing frees it and VME_SET_MASTER stays refused",
       "count-early", {"vme_user_master_mmap_prepare": _alloc_in_prepare,
                       "vme_user_vm_mapped": _mapped_nothing}),
    _m("window-size-not-vma-size",
       "passes the window size to mmap_action_simple_ioremap(): with an offset the "
       "check no longer fails and the offset is applied twice to the pfn", "extra-refusal",
       {_MASTER: _window_size}),
    _m("no-window-check",
       "drops the EFAULT window check, trusting simple_ioremap: oversize requests now "
       "fail with EINVAL instead of EFAULT", "errno",
       {_MASTER: _no_window_check}),
    _m("forgot-noncached",
       "forgets pgprot_noncached() on desc->page_prot: the window is mapped cacheable",
       "noncached", {_MASTER: _forgot_noncached}),
    _m("forgot-vm_ops",
       "never sets desc->vm_ops: mapped() never counts the mapping, so mmap_count "
       "stays 0 and the window can be moved under a live mapping", "vm-ops",
       {"vme_user_master_mmap_prepare": _forgot_vm_ops}),
    _m("no-type-check",
       "drops the resource-type check: a window that is not a VME master (here a slave "
       "image) is mapped instead of refusing with EINVAL", "lost-check",
       {_MASTER: _no_type_check}, resource_type=VME_SLAVE),
    _m("unlock-missing-on-error",
       "returns the error of vme_master_mmap_prepare() with image[minor].mutex still held: "
       "the early return skips the mutex_unlock(), so the next mmap() or VME_SET_MASTER "
       "on that minor blocks for ever (lockdep: lock held when returning to user space)",
       "lock-leaked", {"vme_user_master_mmap_prepare": _unlock_missing_on_error}),
    _m("ignores-pgoff",
       "maps from bus_start whatever the file offset: a mapping at a nonzero offset shows "
       "the start of the window instead of the page asked for", "range",
       {_MASTER: _ignores_pgoff}),
)
