"""target_core_user: the scenarios the harness runs, the mutants (realistic wrong conversions)
and the ``SPEC`` (see :mod:`mmaplab.drivers.target_core_user.model` for the driver)."""

from __future__ import annotations

from ...kernel.flags import MAP_PRIVATE, PROT_READ, PROT_WRITE
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
from .model import (
    TcmuDev,
)
from .mutants import MUTANTS

RW = PROT_READ | PROT_WRITE
N = 6  # mmap_pages with the default sizes

SPEC = DriverSpec(
    name="target_core_user",
    kernel_files=("drivers/target/target_core_user.c", "drivers/uio/uio.c"),
    kernel_version="Linux 7.0 (legacy) / v4 19/21 with 3d3544a6c996 (prepare)",
    make=lambda variant: TcmuDev(variant),
    scenarios=(
        Scenario("map-and-use", (mmap_op(0, N, RW), fault_op(0), fault_op(1, write=True),
                                 fault_op(2, write=True), exit_op()),
                 "the exact size: mailbox, command ring and the first data page"),
        Scenario("too-small", (mmap_op(0, N - 1, RW),),
                 "one page short: EINVAL from tcmu's exact-size check"),
        Scenario("too-big", (mmap_op(0, N + 1, RW),),
                 "one page more than mem[0]: EINVAL from uio_mmap's check"),
        Scenario("wrong-offset", (mmap_op(0, N, RW, offset_pages=1),),
                 "offset 1 selects mem[1], which is empty: EINVAL"),
        Scenario("unallocated-data-page", (mmap_op(0, N, RW), fault_op(3)),
                 "data page 1 was never allocated: SIGBUS"),
        Scenario("two-mappings", (mmap_op(0, N, RW), mmap_op(N, N, RW), munmap_op(0, N)),
                 "a second mapping of the same open file right after the first: two VMAs, "
                 "two references"),
        Scenario("fork", (mmap_op(0, N, RW), fault_op(0), fork_op(), child_exit_op(),
                          munmap_op(0, N)),
                 "the child's VMA takes a reference through open()"),
        Scenario("split-by-munmap", (mmap_op(0, N, RW), munmap_op(N - 2, 2), fault_op(0),
                                     exit_op()),
                 "unmapping the tail splits the VMA: open()+close()"),
        Scenario("split-by-mprotect", (mmap_op(0, N, RW), mprotect_op(0, 1, PROT_READ),
                                       fault_op(0), munmap_op(0, N)),
                 "read-only mailbox page: split in two VMAs"),
        Scenario("private", (mmap_op(0, N, RW, flags=MAP_PRIVATE), fault_op(0, write=True),
                             munmap_op(0, N)),
                 "a private mapping: the write copies the page"),
        Scenario("mapped-fails", (mmap_op(0, N, RW),), inject=("mapped", 1),
                 note="vm_ops->mapped fails (legacy: the hook fails): no reference is taken"),
        Scenario("legacy-hook-fails", (mmap_op(0, N, RW),), inject=("mmap", 1),
                 note="uio_mmap (still a legacy ->mmap in both versions) fails"),
    ),
    intended={
        "hooks": (
            "The device reference for a new mapping is now taken in vm_ops->mapped, which the "
            "compatibility layer calls once the VMA is set up, instead of by calling "
            "tcmu_vma_open() at the end of the mmap hook. So the converted driver shows a "
            "'tcmu_vm_ops->mapped' callback on every successful mmap(); the reference count "
            "ends up the same."),
    },
    mutants=MUTANTS,
)

