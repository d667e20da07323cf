"""target_core_user: the scenarios the harness runs, the mutants (realistic wrong conversions)
and the ``SPEC`` (see :mod:`mmaplab.drivers.target_core_user.model` for the driver)."""

from __future__ import annotations

from ...kernel.flags import MAP_PRIVATE, PROT_READ, PROT_WRITE, VMFlag
from ...kernel.mm_types import (
    VmAreaDesc,
    VmOperationsStruct,
    vma_desc_set_flags,
)
from ..base import (
    DriverSpec,
    Mutant,
    Scenario,
    child_exit_op,
    exit_op,
    fault_op,
    fork_op,
    mmap_op,
    mprotect_op,
    munmap_op,
)
from ..uio import (
    UioInfo,
)
from .model import (
    TcmuDev,
)

# -- mutants ---------------------------------------------------------------------------------

class _KrefInPrepare(TcmuDev):
    """Takes the reference at the top of mmap_prepare (as tcmu_vma_open() did), no mapped."""

    def __init__(self, variant: str = "prepare") -> None:
        super().__init__("prepare")

    def make_vm_ops(self) -> VmOperationsStruct:
        return VmOperationsStruct(name="tcmu_vm_ops", open=self.tcmu_vma_open,
                                  close=self.tcmu_vma_close, fault=self.tcmu_vma_fault)

    def tcmu_mmap_prepare(self, info: UioInfo, desc: VmAreaDesc) -> int:
        self.kref_get()
        return super().tcmu_mmap_prepare(info, desc)


class _NoExactSize(TcmuDev):
    """Drops "Ensure the mmap is exactly the right size" (uio core checks the maximum)."""

    def __init__(self, variant: str = "prepare") -> None:
        super().__init__("prepare")

    def tcmu_mmap_prepare(self, info: UioInfo, desc: VmAreaDesc) -> int:
        vma_desc_set_flags(desc, VMFlag.DONTEXPAND | VMFlag.DONTDUMP)
        desc.vm_ops = self.vm_ops
        desc.private_data = self
        return 0


class _ForgotPrivateData(TcmuDev):
    """Assumes uio_mmap's ``vma->vm_private_data`` survives: never sets desc->private_data."""

    def __init__(self, variant: str = "prepare") -> None:
        super().__init__("prepare")

    def tcmu_mmap_prepare(self, info: UioInfo, desc: VmAreaDesc) -> int:
        err = super().tcmu_mmap_prepare(info, desc)
        desc.private_data = None
        return err


class _ForgotMapped(TcmuDev):
    """Removes tcmu_vma_open() from the hook but never adds ``.mapped``: no reference."""

    def __init__(self, variant: str = "prepare") -> None:
        super().__init__("prepare")

    def make_vm_ops(self) -> VmOperationsStruct:
        return VmOperationsStruct(name="tcmu_vm_ops", open=self.tcmu_vma_open,
                                  close=self.tcmu_vma_close, fault=self.tcmu_vma_fault)


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
    mutants=(
        Mutant("kref-in-mmap_prepare",
               "takes the device reference in mmap_prepare, before the size check: a "
               "wrongly sized mmap() fails and the reference leaks",
               lambda: _KrefInPrepare()),
        Mutant("no-exact-size-check",
               "drops the exact-size check because uio_mmap already checks the size: a "
               "short mapping is accepted",
               lambda: _NoExactSize()),
        Mutant("forgot-private_data",
               "relies on uio_mmap's vma->vm_private_data = idev; the compat layer overwrites "
               "it with desc->private_data (NULL), so mapped() dereferences NULL",
               lambda: _ForgotPrivateData()),
        Mutant("forgot-mapped",
               "drops tcmu_vma_open() from the hook but forgets vm_ops->mapped: no reference "
               "for the first VMA, and its close() drops one the device never got",
               lambda: _ForgotMapped()),
    ),
)

