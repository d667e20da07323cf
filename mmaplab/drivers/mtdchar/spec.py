"""mtdchar: the scenarios the harness runs, the mutants (realistic wrong conversions)
and the ``SPEC`` (see :mod:`mmaplab.drivers.mtdchar.model` for the driver)."""

from __future__ import annotations

from ...kernel.flags import MAP_PRIVATE, PROT_READ, PROT_WRITE
from ...kernel.fs import FMode
from ..base import (
    DriverSpec,
    Scenario,
    anon_neighbour_op,
    fault_op,
    fork_op,
    mmap_op,
    mprotect_op,
    munmap_op,
)
from .model import (
    MtdcharDriver,
)
from .mutants import MUTANTS

RW = PROT_READ | PROT_WRITE

SPEC = DriverSpec(
    name="mtdchar",
    kernel_files=("drivers/mtd/mtdchar.c",),
    kernel_version=("legacy: mtdchar_mmap @aeb978c975d7 / '-' side of v4 14/21; prepare: v4 "
                    "14/21 mtdchar_mmap_prepare (CONFIG_MMU path; !MMU tested directly)"),
    make=lambda variant: MtdcharDriver(variant),
    scenarios=(
        Scenario("shared-read", (mmap_op(0, 1, PROT_READ), fault_op(0)),
                 "a shared read-only mapping: ENODEV on an MMU kernel; the page is unmapped"),
        Scenario("shared-write", (mmap_op(0, 2, RW),), "a shared writable mapping: ENODEV"),
        Scenario("private-read", (mmap_op(0, 1, PROT_READ, flags=MAP_PRIVATE),),
                 "a private mapping: ENODEV (not EACCES: that is the !MMU rule)"),
        Scenario("private-write", (mmap_op(0, 1, RW, flags=MAP_PRIVATE),),
                 "a private writable mapping: ENODEV"),
        Scenario("read-only-fd-shared-write", (mmap_op(0, 1, RW, mode=FMode.READ),),
                 "PROT_WRITE|MAP_SHARED on an O_RDONLY fd: EACCES from do_mmap first"),
        Scenario("with-offset", (mmap_op(0, 1, PROT_READ, offset_pages=2),),
                 "an offset inside the device: ENODEV"),
        Scenario("beside-existing-anon", (anon_neighbour_op(0, 1), mmap_op(1, 1, PROT_READ),
                                          mprotect_op(0, 1, RW), munmap_op(0, 2)),
                 "the failed mmap leaves the anonymous neighbour untouched"),
        Scenario("replacing-anon", (anon_neighbour_op(0, 2), mmap_op(0, 2, PROT_READ),
                                    fault_op(0)),
                 "MAP_FIXED over an existing mapping: the old VMAs are already gone when the "
                 "hook fails, so the range is left unmapped (SIGSEGV)"),
        Scenario("fork-after-failure", (mmap_op(0, 1, PROT_READ), fork_op()),
                 "nothing to inherit"),
        Scenario("tree-prealloc-fails", (mmap_op(0, 1, PROT_READ),),
                 inject=("vma_iter_prealloc", 1),
                 note="ENOMEM before the VMA exists (the legacy hook is never reached)"),
    ),
    intended={
        "errno@tree-prealloc-fails": (
            "Which error wins changed. The legacy ->mmap hook ran on a VMA that had already "
            "been allocated and inserted, so an allocation failure (ENOMEM) was reported "
            "before the driver could say ENODEV. mmap_prepare runs before anything is "
            "allocated, so now the driver's ENODEV comes first. Both fail and leave nothing "
            "behind; only the errno differs, and only under memory pressure."),
    },
    mutants=MUTANTS,
)

