"""Exercise 01: the requests each device is checked on, and the ``SPEC``.

Every scenario's ``note`` says which rule of the contract it pins (an id of
:data:`mmaplab.lab.diagnose.RULES`, in brackets).
"""

from __future__ import annotations

from ...kernel.flags import MAP_PRIVATE, PROT_READ, PROT_WRITE
from ...kernel.fs import FMode
from ..base import DriverSpec, Scenario, fault_op, fork_op, mmap_op, mprotect_op, munmap_op
from .model import FbDev
from .mutants import MUTANTS

__all__ = ["FB", "REGS", "BUF", "SPEC"]

RW = PROT_READ | PROT_WRITE

FB: tuple[Scenario, ...] = (
    Scenario("whole frame buffer", (mmap_op(0, 4, RW), fault_op(0), fault_op(3, write=True),
                                    munmap_op(0, 4)), "[no-action] every page is mapped"),
    Scenario("window at an offset", (mmap_op(0, 2, offset_pages=2), fault_op(1)),
             "[range] the offset selects the first pfn"),
    Scenario("too large", (mmap_op(0, 5),), "[lost-check] 5 pages of a 4-page frame buffer"),
    Scenario("offset past the end", (mmap_op(0, 1, offset_pages=4),), "[lost-check]"),
    Scenario("private writable mapping (COW)", (mmap_op(0, 4, RW, MAP_PRIVATE), fault_op(1)),
             "[flags] a COW pfn mapping keeps vm_pgoff = pfn"),
    Scenario("two adjacent mappings", (mmap_op(0, 2), mmap_op(2, 2, offset_pages=2)),
             "[flags] pfn mappings never merge (VM_SPECIAL)"),
    Scenario("fork and split", (mmap_op(0, 4), fork_op(), munmap_op(1, 1), fault_op(2)),
             "[flags] the child gets no PTEs of a PFNMAP; a split keeps the pfns"),
    Scenario("mprotect part of it", (mmap_op(0, 4, RW), mprotect_op(0, 1, PROT_READ),
                                     fault_op(0)), "[flags] a split PFNMAP VMA"),
    Scenario("page-table allocation fails", (mmap_op(0, 4), fault_op(0)),
             inject=("pte_alloc", 1), note="[no-action] the remap fails: ENOMEM, unmapped"),
)

REGS: tuple[Scenario, ...] = (
    Scenario("one page of registers", (mmap_op(0, 1, RW), fault_op(0, write=True)),
             "[noncached] the registers are mapped uncached"),
    Scenario("read-only open", (mmap_op(0, 1, PROT_READ, mode=FMode.READ), fault_op(0)),
             "[noncached]"),
    Scenario("two pages", (mmap_op(0, 2),), "[lost-check] the block is smaller than a page"),
    Scenario("offset 1", (mmap_op(0, 1, offset_pages=1),), "[lost-check] nothing left"),
    Scenario("fork", (mmap_op(0, 1), fork_op(), fault_op(0)), "[flags]"),
)

BUF: tuple[Scenario, ...] = (
    Scenario("whole buffer", (mmap_op(0, 4, RW), fault_op(0), fault_op(3), munmap_op(0, 4)),
             "[no-action] the pages are mapped and refcounted"),
    Scenario("tail of the buffer", (mmap_op(0, 3, offset_pages=1), fault_op(0)),
             "[range] the offset selects the first page"),
    Scenario("too large after the offset", (mmap_op(0, 4, offset_pages=1),),
             "[lost-check] ENXIO"),
    Scenario("offset past the end", (mmap_op(0, 1, offset_pages=4),), "[lost-check] ENXIO"),
    Scenario("fork and split", (mmap_op(0, 4), fork_op(), munmap_op(2, 2)),
             "[flags] MIXEDMAP: the child has the pages too"),
    Scenario("page-table allocation fails", (mmap_op(0, 2), fault_op(0)),
             inject=("pte_alloc", 1), note="[no-action] ENOMEM, unmapped"),
)

SPEC = DriverSpec(
    name="pick_action",
    kernel_files=("mm/memory.c", "mm/util.c", "include/linux/mm.h"),
    kernel_version="v6.18 + v4 series 01-07/21 (made-up devices)",
    make=lambda variant: FbDev(variant),
    scenarios=FB,
    mutants=MUTANTS,
)
