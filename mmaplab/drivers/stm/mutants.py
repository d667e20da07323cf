"""stm: realistic wrong conversions of ``stm_char_mmap_prepare()`` / ``stm_mmap_mapped()``,
each written once.

Each ``answer`` replaces one or both of ``StmDriver.stm_char_mmap_prepare`` and
``StmDriver.stm_mmap_mapped``; the harness's mutant check, the case study and exercise
08's catalogue all read :data:`MUTANTS`.
"""

from __future__ import annotations

import errno
from typing import Any

from ...kernel.mm_types import (
    VmAreaDesc,
    VmOperationsStruct,
    vma_desc_set_flags,
    vma_desc_size,
)
from ...kernel.mmap_action import mmap_action_simple_ioremap
from ...kernel.pgtable import pgprot_noncached
from ...kernel.vma_flags import VMA_DONTDUMP_BIT, VMA_DONTEXPAND_BIT, VMA_IO_BIT
from ..base import Mutant, answer_mutant
from .model import StmDriver, StmFile, StmOutput, _zero_mmio_addr

__all__ = ["MUTANTS", "POLICY"]

#: A policy whose first master and channel differ (and are not 0).
POLICY: dict[str, Any] = {"master": 1, "channel": 64}


def _output(desc: VmAreaDesc) -> StmOutput:
    stmf = desc.file.private_data
    assert isinstance(stmf, StmFile)
    return stmf.output


def _prepare(self: StmDriver, desc: VmAreaDesc, *, size_check: bool = True,
             noncached: bool = True, vm_ops: Any = True, swap: bool = False,
             zero_check: bool = True, size_first: bool = False) -> int:
    """The reference hook with one step changed (the keyword names it)."""
    stm, output = self.stm, _output(desc)
    size = vma_desc_size(desc)
    bad_size = size_check and output.nr_chans * stm.data.sw_mmiosz != size
    if size_first and bad_size:
        return -errno.EINVAL
    if stm.data.mmio_addr is None:
        return -errno.EOPNOTSUPP
    if desc.pgoff:
        return -errno.EINVAL
    if bad_size:
        return -errno.EINVAL
    first, second = ((output.channel, output.master) if swap
                     else (output.master, output.channel))
    phys = stm.data.mmio_addr(stm.data, first, second, output.nr_chans)
    if zero_check and not phys:
        return -errno.EINVAL
    if noncached:
        desc.page_prot = pgprot_noncached(desc.page_prot)
    vma_desc_set_flags(desc, VMA_IO_BIT, VMA_DONTEXPAND_BIT, VMA_DONTDUMP_BIT)
    if vm_ops is True:
        desc.vm_ops = self.vm_ops
    elif vm_ops is not None:
        desc.vm_ops = vm_ops
    mmap_action_simple_ioremap(desc, phys, size)
    return 0


def _pm_get_in_prepare(self: StmDriver, desc: VmAreaDesc) -> int:
    err = _prepare(self, desc, vm_ops=VmOperationsStruct(
        name="stm_mmap_vmops", open=self.stm_mmap_open, close=self.stm_mmap_close))
    if not err:
        self.stm.dev.pm_runtime_get_sync()  # as the legacy hook did
    return err


def _mapped_nothing(self: StmDriver, start: int, end: int, pgoff: int, file: Any,
                    vm_private_data: Any) -> int:
    return 0  # the reference was taken in mmap_prepare


def _no_size_check(self: StmDriver, desc: VmAreaDesc) -> int:
    return _prepare(self, desc, size_check=False)  # "simple_ioremap checks the size for us"


def _no_noncached(self: StmDriver, desc: VmAreaDesc) -> int:
    return _prepare(self, desc, noncached=False)


def _forgot_vm_ops(self: StmDriver, desc: VmAreaDesc) -> int:
    return _prepare(self, desc, vm_ops=None)


def _swapped(self: StmDriver, desc: VmAreaDesc) -> int:
    return _prepare(self, desc, swap=True)


def _no_zero_check(self: StmDriver, desc: VmAreaDesc) -> int:
    return _prepare(self, desc, zero_check=False)


def _size_first(self: StmDriver, desc: VmAreaDesc) -> int:
    return _prepare(self, desc, size_first=True)


def _m(name: str, text: str, breaks: str, answer: dict[str, Any], **config: Any) -> Mutant:
    return answer_mutant(name, text, StmDriver, breaks, answer, config or None)


def _p(fn: Any) -> dict[str, Any]:
    return {"stm_char_mmap_prepare": fn}


MUTANTS: tuple[Mutant, ...] = (
    _m("pm-get-in-prepare",
       "keeps pm_runtime_get_sync() in mmap_prepare: when the mmap fails after the "
       "hook (ENOMEM allocating the VMA) the reference is never dropped and the STM "
       "device can never runtime-suspend again", "count-early",
       {"stm_char_mmap_prepare": _pm_get_in_prepare, "stm_mmap_mapped": _mapped_nothing}),
    _m("no-size-check",
       "drops the nr_chans * sw_mmiosz check, trusting simple_ioremap(): a mapping "
       "smaller than the channel window is accepted", "lost-check", _p(_no_size_check)),
    _m("no-noncached",
       "forgets pgprot_noncached(): trace writes to the channels may sit in the cache",
       "noncached", _p(_no_noncached)),
    _m("forgot-vm_ops",
       "never sets desc->vm_ops: no PM reference is taken for the mapping, so the "
       "device may suspend while userspace writes trace data", "vm-ops", _p(_forgot_vm_ops)),
    _m("master-channel-swapped",
       "passes channel and master to mmio_addr() in the wrong order: with a policy whose "
       "master and channel differ, the mapping shows another master's channels",
       "range", _p(_swapped), **POLICY),
    _m("no-zero-mmio-check",
       "drops the `if (!phys)` check: when mmio_addr() finds no window the hook maps "
       "physical page 0 instead of failing with EINVAL", "lost-check", _p(_no_zero_check),
       mmio_addr=_zero_mmio_addr),
    _m("size-check-first",
       "checks the size before asking whether the device has MMIO channels at all: a "
       "device without mmio_addr refuses a wrong-size request with EINVAL instead of "
       "EOPNOTSUPP", "errno-precedence", _p(_size_first), mmio_addr=None),
)
