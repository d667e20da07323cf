"""vme_user: the scenarios the harness runs, the mutants (realistic wrong conversions)
and the ``SPEC`` (see :mod:`mmaplab.drivers.vme_user.model` for the driver)."""

from __future__ import annotations

import errno
from typing import Any

from ...kernel.flags import MAP_PRIVATE, PAGE_SHIFT, PROT_READ, PROT_WRITE
from ...kernel.mm_types import VmAreaDesc, VmOperationsStruct, vma_desc_size
from ...kernel.mmap_action import mmap_action_simple_ioremap
from ..base import (
    DriverSpec,
    Mutant,
    Scenario,
    anon_neighbour_op,
    child_exit_op,
    exit_op,
    fault_op,
    fork_op,
    mmap_op,
    mprotect_op,
    munmap_op,
)
from .model import (
    VME_MASTER,
    VmeResource,
    VmeUser,
)

# -- mutants: realistic wrong conversions ------------------------------------------------

class _AllocInPrepare(VmeUser):
    """Allocates the vma_priv and counts the mapping in mmap_prepare (no ``mapped``)."""

    def __init__(self, variant: str = "prepare") -> None:
        super().__init__("prepare")
        self.vm_ops = VmOperationsStruct(name="vme_user_vm_ops", open=self.vme_user_vm_open,
                                         close=self.vme_user_vm_close)

    def vme_user_master_mmap_prepare(self, minor: int, desc: VmAreaDesc) -> int:
        img = self.image[minor]
        err = super().vme_user_master_mmap_prepare(minor, desc)
        if not err:
            desc.private_data = self._kmalloc_priv(minor)
            img.mmap_count += 1
        return err


class _WindowSizeNotVmaSize(VmeUser):
    """Passes the whole window size to simple_ioremap instead of the VMA size."""

    def __init__(self, variant: str = "prepare") -> None:
        super().__init__("prepare")

    def vme_master_mmap_prepare(self, resource: VmeResource, desc: VmAreaDesc) -> int:
        err = super().vme_master_mmap_prepare(resource, desc)
        if not err:
            desc.action.simple_ioremap_size = resource.bus_end + 1 - resource.bus_start
        return err


class _NoWindowCheck(VmeUser):
    """Drops the "Map size cannot exceed the window size" check (simple_ioremap checks it)."""

    def __init__(self, variant: str = "prepare") -> None:
        super().__init__("prepare")

    def vme_master_mmap_prepare(self, resource: VmeResource, desc: VmAreaDesc) -> int:
        if resource.type != VME_MASTER:
            return -errno.EINVAL
        phys_addr = resource.bus_start + (desc.pgoff << PAGE_SHIFT)
        desc.page_prot = self._noncached(desc.page_prot)
        mmap_action_simple_ioremap(desc, phys_addr, vma_desc_size(desc))
        return 0


class _ForgotNoncached(VmeUser):
    """Forgets ``pgprot_noncached()`` on the descriptor: device memory mapped cacheable."""

    def __init__(self, variant: str = "prepare") -> None:
        super().__init__("prepare")

    def _noncached(self, prot: Any) -> Any:
        return prot


class _ForgotVmOps(VmeUser):
    """Sets up the action but never installs ``vme_user_vm_ops`` (so no mapped/close)."""

    def __init__(self, variant: str = "prepare") -> None:
        super().__init__("prepare")

    def vme_user_master_mmap_prepare(self, minor: int, desc: VmAreaDesc) -> int:
        err = super().vme_user_master_mmap_prepare(minor, desc)
        desc.vm_ops = None
        return err


RW = PROT_READ | PROT_WRITE

SPEC = DriverSpec(
    name="vme_user",
    kernel_files=("drivers/staging/vme_user/vme_user.c", "drivers/staging/vme_user/vme.c",
                  "drivers/staging/vme_user/vme.h"),
    kernel_version="Linux 7.0 (legacy) / v4 16/21 = upstream 334fbe734e68 (prepare)",
    make=lambda variant: VmeUser(variant),
    scenarios=(
        Scenario("map-window", (mmap_op(0, 2, RW), fault_op(0), fault_op(1, write=True),
                                munmap_op(0, 2)),
                 "2 pages of the 4-page master window, offset 0: I/O remap, noncached"),
        Scenario("whole-window-then-exit", (mmap_op(0, 4, RW), exit_op()),
                 "the whole window; exit closes it and mmap_count returns to 0"),
        Scenario("too-big", (mmap_op(0, 5, RW),),
                 "5 pages of a 4-page window: EFAULT from the window check"),
        Scenario("nonzero-offset", (mmap_op(0, 1, RW, offset_pages=1),),
                 "offset 1 page: applied twice, so vm_iomap_memory/simple_ioremap say EINVAL"),
        Scenario("offset-outside-window", (mmap_op(0, 2, RW, offset_pages=3),),
                 "offset 3 + 2 pages passes the 4-page window end: EFAULT"),
        Scenario("private-writable", (mmap_op(0, 2, RW, flags=MAP_PRIVATE), fault_op(0)),
                 "a COW mapping must be remapped whole; pgoff becomes the pfn"),
        Scenario("two-adjacent-mappings", (mmap_op(0, 2, RW), mmap_op(2, 2, RW),
                                           munmap_op(0, 4)),
                 "two mappings of the same file side by side: VM_PFNMAP never merges, "
                 "mmap_count 2"),
        Scenario("next-to-anon", (anon_neighbour_op(0, 1), mmap_op(1, 2, RW)),
                 "an anonymous neighbour: no merge either way"),
        Scenario("split-by-munmap", (mmap_op(0, 4, RW), munmap_op(1, 1), exit_op()),
                 "unmapping the second page splits: open() bumps the shared refcnt"),
        Scenario("split-by-mprotect", (mmap_op(0, 4, RW), mprotect_op(0, 2, PROT_READ),
                                       munmap_op(0, 4)),
                 "mprotect of half the mapping splits it"),
        Scenario("fork", (mmap_op(0, 2, RW), fork_op(), child_exit_op(), munmap_op(0, 2)),
                 "the child's copy shares the vma_priv (open/close)"),
        Scenario("remap-fails-after-insert", (mmap_op(0, 2, RW),), inject=("pte_alloc", 1),
                 note="the page-table allocation of the remap fails (ENOMEM)"),
        Scenario("mapped-fails", (mmap_op(0, 2, RW),), inject=("mapped", 1),
                 note="vm_ops->mapped fails (the kmalloc of the vma_priv, ENOMEM)"),
    ),
    intended={
        "hooks": (
            "The converted driver allocates its vme_user_vma_priv and counts the mapping in "
            "vm_ops->mapped, which the mm calls after inserting the new VMA; the legacy "
            "driver did the same work inside its ->mmap hook, which is not a vm_ops "
            "callback. So every successful mmap() shows a 'vme_user_vm_ops->mapped' call "
            "with the converted driver; mmap_count and the refcounts end up the same."),
        "remap-fails-after-insert": (
            "Before the series the remap ran inside ->mmap, before the vma_priv existed and "
            "before vm_ops were set, so a failure just failed mmap(). After it, the remap runs "
            "once the VMA is in the tree and vm_ops (with close) are already installed, but "
            "the vma_priv is only created later by mapped(). The failed VMA is unmapped, "
            "close() runs and dereferences a NULL vm_private_data: a latent bug of the "
            "converted driver that the model shows as an oops."),
        "mapped-fails": (
            "The allocation that can fail moved from ->mmap (where a failure simply failed "
            "mmap(): the harness fails the legacy hook) to vm_ops->mapped. When mapped() "
            "fails, the already inserted VMA is unmapped and close() sees no vma_priv (NULL "
            "dereference): the same latent bug as when the remap fails."),
    },
    mutants=(
        Mutant("alloc-in-mmap_prepare",
               "allocates the vma_priv and bumps mmap_count in mmap_prepare: when the action "
               "then fails (nonzero offset), nothing frees it and VME_SET_MASTER stays refused",
               lambda: _AllocInPrepare()),
        Mutant("window-size-not-vma-size",
               "passes the window size to mmap_action_simple_ioremap(): with an offset the "
               "check no longer fails and the offset is applied twice to the pfn",
               lambda: _WindowSizeNotVmaSize()),
        Mutant("no-window-check",
               "drops the EFAULT window check, trusting simple_ioremap: oversize requests "
               "now fail with EINVAL instead of EFAULT",
               lambda: _NoWindowCheck()),
        Mutant("forgot-noncached",
               "forgets pgprot_noncached() on desc->page_prot: the window is mapped cacheable",
               lambda: _ForgotNoncached()),
        Mutant("forgot-vm_ops",
               "never sets desc->vm_ops: mapped() never counts the mapping, so mmap_count "
               "stays 0 and the window can be moved under a live mapping",
               lambda: _ForgotVmOps()),
    ),
)
