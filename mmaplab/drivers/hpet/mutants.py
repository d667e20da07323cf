"""hpet: realistic wrong conversions of ``hpet_mmap_prepare()``, each written once.

Each is the converted hook as a learner might write it (``answer``: what replaces
``HpetDriver.hpet_mmap_prepare``), built in the device configuration where it shows.
The harness's mutant check, the case study and exercise 05's catalogue all read
:data:`MUTANTS`.
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from typing import Any

from ...kernel.flags import PAGE_SHIFT, PAGE_SIZE
from ...kernel.mm_types import VmAreaDesc, vma_desc_size
from ...kernel.mmap_action import mmap_action_ioremap_full, mmap_action_simple_ioremap
from ...kernel.pgtable import pgprot_noncached
from ..base import Mutant, answer_mutant
from .model import HPET_PHYS, HPET_PHYS_2, HpetDriver

__all__ = ["MUTANTS", "UNALIGNED"]

#: A block whose MMIO base is not page aligned (the hook refuses it with ENOSYS).
UNALIGNED = HPET_PHYS + 0x400


def _addr(desc: VmAreaDesc) -> int:
    return int(desc.file.private_data.hd_hpets.hp_hpet_phys)


def _no_noncached(self: HpetDriver, desc: VmAreaDesc) -> int:
    if not self.hpet_mmap_enabled:
        return -errno.EACCES
    addr = _addr(desc)
    if addr & (PAGE_SIZE - 1):
        return -errno.ENOSYS
    # "the action maps I/O memory, surely that is uncached anyway"
    mmap_action_simple_ioremap(desc, addr, PAGE_SIZE)
    return 0


def _ioremap_full(self: HpetDriver, desc: VmAreaDesc) -> int:
    if not self.hpet_mmap_enabled:
        return -errno.EACCES
    addr = _addr(desc)
    if addr & (PAGE_SIZE - 1):
        return -errno.ENOSYS
    desc.page_prot = pgprot_noncached(desc.page_prot)
    mmap_action_ioremap_full(desc, addr >> PAGE_SHIFT)
    return 0


def _vma_size_as_region(self: HpetDriver, desc: VmAreaDesc) -> int:
    if not self.hpet_mmap_enabled:
        return -errno.EACCES
    addr = _addr(desc)
    if addr & (PAGE_SIZE - 1):
        return -errno.ENOSYS
    desc.page_prot = pgprot_noncached(desc.page_prot)
    mmap_action_simple_ioremap(desc, addr, vma_desc_size(desc))
    return 0


def _ignores_hpet_mmap(self: HpetDriver, desc: VmAreaDesc) -> int:
    # "the boot option only mattered for the old hook"
    addr = _addr(desc)
    if addr & (PAGE_SIZE - 1):
        return -errno.ENOSYS
    desc.page_prot = pgprot_noncached(desc.page_prot)
    mmap_action_simple_ioremap(desc, addr, PAGE_SIZE)
    return 0


def _alignment_first(self: HpetDriver, desc: VmAreaDesc) -> int:
    addr = _addr(desc)
    if addr & (PAGE_SIZE - 1):  # the hardware check first, then the policy
        return -errno.ENOSYS
    if not self.hpet_mmap_enabled:
        return -errno.EACCES
    desc.page_prot = pgprot_noncached(desc.page_prot)
    mmap_action_simple_ioremap(desc, addr, PAGE_SIZE)
    return 0


def _unaligned_einval(self: HpetDriver, desc: VmAreaDesc) -> int:
    if not self.hpet_mmap_enabled:
        return -errno.EACCES
    addr = _addr(desc)
    if addr & (PAGE_SIZE - 1):
        return -errno.EINVAL  # "an invalid address is EINVAL"
    desc.page_prot = pgprot_noncached(desc.page_prot)
    mmap_action_simple_ioremap(desc, addr, PAGE_SIZE)
    return 0


def _no_alignment_check(self: HpetDriver, desc: VmAreaDesc) -> int:
    if not self.hpet_mmap_enabled:
        return -errno.EACCES
    addr = _addr(desc)
    # "simple_ioremap copes with an address inside a page"
    desc.page_prot = pgprot_noncached(desc.page_prot)
    mmap_action_simple_ioremap(desc, addr, PAGE_SIZE)
    return 0


def _first_block_phys(self: HpetDriver, desc: VmAreaDesc) -> int:
    if not self.hpet_mmap_enabled:
        return -errno.EACCES
    addr = self.hpets.hp_hpet_phys  # "the driver knows where its HPET is"
    if addr & (PAGE_SIZE - 1):
        return -errno.ENOSYS
    desc.page_prot = pgprot_noncached(desc.page_prot)
    mmap_action_simple_ioremap(desc, addr, PAGE_SIZE)
    return 0


def _m(name: str, text: str, breaks: str, fn: Callable[..., Any], **config: object) -> Mutant:
    return answer_mutant(name, text, HpetDriver, breaks, {"hpet_mmap_prepare": fn},
                         config or None)


MUTANTS: tuple[Mutant, ...] = (
    _m("no-noncached",
       "forgets pgprot_noncached() on desc->page_prot: timer registers are mapped "
       "cacheable and reads return stale counter values", "noncached", _no_noncached),
    _m("ioremap-full",
       "uses mmap_action_ioremap_full(desc, addr >> PAGE_SHIFT): larger requests map "
       "whatever MMIO follows the HPET block, and offsets are ignored", "lost-check",
       _ioremap_full),
    _m("vma-size-as-region",
       "passes vma_desc_size(desc) as the region size: the one-page limit disappears",
       "lost-check", _vma_size_as_region),
    _m("ignores-hpet_mmap",
       "drops the hpet_mmap_enabled check: on a machine booted with hpet_mmap=0 the "
       "registers are mapped anyway instead of refusing with EACCES; the boot option is "
       "device state the converted hook must still honour", "lost-check",
       _ignores_hpet_mmap, mmap_enabled=False),
    _m("alignment-before-boot-option",
       "tests the block's alignment before the boot option: with hpet_mmap=0 and an "
       "unaligned block user space sees ENOSYS instead of EACCES; the order of the checks "
       "is part of the interface", "errno-precedence", _alignment_first,
       mmap_enabled=False, phys=UNALIGNED),
    _m("unaligned-einval",
       "refuses an unaligned block with EINVAL: hpet_mmap() says ENOSYS (the feature is "
       "not available on this hardware), and user space sees the errno", "errno",
       _unaligned_einval, phys=UNALIGNED),
    _m("first-block-phys",
       "maps the first HPET block for every timer, not the block hpet_open() assigned "
       "the timer (file->private_data->hd_hpets): on a machine with two "
       "blocks a timer of the second block maps the first block's registers", "range",
       _first_block_phys, second_block=HPET_PHYS_2),
    _m("no-alignment-check",
       "drops the page-alignment check of the block: simple_ioremap maps the page that "
       "holds the block, so user space sees registers at the wrong offset instead of "
       "ENOSYS", "lost-check", _no_alignment_check, phys=UNALIGNED),
)
