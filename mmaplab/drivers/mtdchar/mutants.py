"""mtdchar: realistic wrong conversions of ``mtdchar_mmap_prepare()``, each written once.

Each ``answer`` replaces ``MtdcharDriver.mtdchar_mmap_prepare``; the harness's mutant
check, the case study and exercise 07's catalogue all read :data:`MUTANTS`.
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from typing import Any

from ...kernel.mm_types import VmAreaDesc, vma_desc_test
from ...kernel.mmap_action import mmap_action_simple_ioremap
from ...kernel.vma_flags import VMA_SHARED_BIT
from ..base import Mutant, answer_mutant
from .model import MTD_RAM, MTD_ROM, MtdcharDriver

__all__ = ["MUTANTS"]


def _shared_only(desc: VmAreaDesc) -> int:
    return 0 if vma_desc_test(desc, VMA_SHARED_BIT) else -errno.EACCES


def _revived_ram_branch(self: MtdcharDriver, desc: VmAreaDesc) -> int:
    if not self.mmu:
        return _shared_only(desc)
    if self.mtd.type in (MTD_RAM, MTD_ROM):  # the `if (0 && ...)` branch, made live
        mmap_action_simple_ioremap(desc, self.mtd.priv.phys, self.mtd.size)
        return 0
    return -errno.ENODEV


def _nommu_path_on_mmu(self: MtdcharDriver, desc: VmAreaDesc) -> int:
    # "the MMU branch is dead anyway, keep only the real check"
    return _shared_only(desc)


def _enosys(self: MtdcharDriver, desc: VmAreaDesc) -> int:
    if not self.mmu:
        return _shared_only(desc)
    return -errno.ENOSYS


def _nommu_allows_private(self: MtdcharDriver, desc: VmAreaDesc) -> int:
    return -errno.ENODEV if self.mmu else 0


def _nommu_einval(self: MtdcharDriver, desc: VmAreaDesc) -> int:
    if not self.mmu:
        return 0 if vma_desc_test(desc, VMA_SHARED_BIT) else -errno.EINVAL
    return -errno.ENODEV


def _mmu_maps_nothing(self: MtdcharDriver, desc: VmAreaDesc) -> int:
    if not self.mmu:
        return _shared_only(desc)
    return 0  # "nothing to map on an MMU: succeed"


def _m(name: str, text: str, breaks: str, fn: Callable[..., Any], **config: object) -> Mutant:
    return answer_mutant(name, text, MtdcharDriver, breaks,
                         {"mtdchar_mmap_prepare": fn}, config or None)


MUTANTS: tuple[Mutant, ...] = (
    _m("revived-ram-branch",
       "converts the disabled MTD_RAM/ROM branch as live code: MTD RAM is mapped on "
       "MMU kernels, which upstream deliberately turned off in 2012", "lost-check",
       _revived_ram_branch),
    _m("nommu-path-on-mmu",
       "inverts the #ifdef: the !MMU 'shared only' rule on an MMU kernel, so shared "
       "mappings succeed (with no way to fill them: SIGBUS) and private ones get "
       "EACCES", "lost-check", _nommu_path_on_mmu),
    _m("enosys",
       "returns ENOSYS instead of ENODEV: userspace that probes for mmap support by "
       "errno changes behaviour",
       "errno", _enosys),
    _m("nommu-allows-private",
       "drops the VM_SHARED test of the !CONFIG_MMU branch: without an MMU a private "
       "mapping cannot be copied on write, so the driver must refuse it with EACCES",
       "lost-check", _nommu_allows_private, mmu=False),
    _m("nommu-einval",
       "refuses a private mapping on !CONFIG_MMU with EINVAL: the driver says EACCES, and "
       "user space sees the errno", "errno", _nommu_einval, mmu=False),
    _m("mmu-maps-nothing",
       "returns 0 on an MMU kernel with nothing to map: the mapping exists, and the first "
       "access faults, instead of mmap() failing with ENODEV", "lost-check",
       _mmu_maps_nothing),
)
