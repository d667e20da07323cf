"""Exercise 02: the requests the counted file is checked on, and the ``SPEC``.

Every scenario's ``note`` says which rule of the contract it pins (an id of
:data:`mmaplab.lab.diagnose.RULES`, in brackets).
"""

from __future__ import annotations

from ...kernel.flags import PROT_READ, PROT_WRITE
from ..base import (
    DriverSpec,
    Scenario,
    child_exit_op,
    exit_op,
    fault_op,
    fork_op,
    mmap_op,
    mprotect_op,
    munmap_op,
)
from .model import TrkDev
from .mutants import MUTANTS

__all__ = ["SCENARIOS", "SPEC"]

RW = PROT_READ | PROT_WRITE

SCENARIOS: tuple[Scenario, ...] = (
    Scenario("one mapping", (mmap_op(0, 2), fault_op(1), munmap_op(0, 2)),
             "[vm-ops] counted once, uncounted once"),
    Scenario("beyond the end of the file", (mmap_op(0, 9), mmap_op(0, 1, offset_pages=8)),
             "[lost-check] EINVAL"),
    Scenario("the whole file", (mmap_op(0, 8),), "[extra-refusal] 8 of 8 pages is allowed"),
    Scenario("merge with the mapping below", (mmap_op(0, 2), mmap_op(2, 2, offset_pages=2),
                                             fault_op(3), munmap_op(0, 4)),
             "[count-early] the second mmap extends the first VMA: no new VMA is created"),
    Scenario("merge with the mapping above", (mmap_op(2, 2, offset_pages=2), mmap_op(0, 2),
                                             munmap_op(0, 4)), "[count-early]"),
    Scenario("split by munmap", (mmap_op(0, 4), munmap_op(1, 1), munmap_op(0, 4)),
             "[count-missing] a split makes a VMA: open"),
    Scenario("split by mprotect", (mmap_op(0, 4, RW), mprotect_op(1, 1, PROT_READ),
                                   munmap_op(0, 4)), "[count-missing]"),
    Scenario("fork", (mmap_op(0, 2), fork_op(), child_exit_op(), munmap_op(0, 2)),
             "[count-missing] fork copies the VMA: open"),
    Scenario("VMA allocation fails", (mmap_op(0, 2), mmap_op(0, 2)),
             inject=("vm_area_alloc", 1),
             note="[count-early] the first mmap fails with ENOMEM after mmap_prepare ran"),
    Scenario("mapped fails", (mmap_op(0, 2), mmap_op(0, 2)), inject=("mapped", 1),
             note="[count-dropped] the new VMA is unmapped: close runs, mapped never did"),
    Scenario("MAP_FIXED over an existing mapping", (mmap_op(0, 2), mmap_op(0, 2)),
             "[counted-twice] the old VMA is closed"),
    Scenario("exit with two mappings", (mmap_op(0, 2), mmap_op(4, 2, offset_pages=4),
                                        exit_op()), "[counted-twice] exit closes both"),
)

SPEC = DriverSpec(
    name="mapped_refcount",
    kernel_files=("fs/afs/file.c", "mm/vma.c", "mm/util.c"),
    kernel_version="v6.18 + v4 series 08-10/21 (a made-up file)",
    make=lambda variant: TrkDev(variant),
    scenarios=SCENARIOS,
    mutants=MUTANTS,
)
