"""vme_user: the scenarios the harness runs, the mutants (realistic wrong conversions)
and the ``SPEC`` (see :mod:`mmaplab.drivers.vme_user.model` for the driver)."""

from __future__ import annotations

from ...kernel.flags import MAP_PRIVATE, PROT_READ, PROT_WRITE
from ..base import (
    DriverSpec,
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
    VmeUser,
)
from .mutants import MUTANTS

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
    },
    mutants=MUTANTS,
    # A defect of the upstream conversion (v4 16/21 as posted; still so in torvalds/linux
    # @334fbe734e68): vme_user_vm_close() dereferences vm_private_data unconditionally,
    # but only vme_user_vm_mapped() sets it, and mm/util.c mmap_action_finish() skips
    # mapped when the action failed (or unmaps when mapped fails), then do_munmap() ->
    # remove_vma() -> vma_close() calls close on that VMA.
    defects={
        "remap-fails-after-insert": (
            "Before the series the remap ran inside ->mmap, before the vma_priv existed and "
            "before vm_ops were set, so a failure just failed mmap(). After it, the remap runs "
            "once the VMA is in the tree and vm_ops (with close) are already installed, but "
            "the vma_priv is only created later by mapped(). The failed VMA is unmapped, "
            "close() runs and dereferences a NULL vm_private_data: a NULL-pointer oops in "
            "the converted kernel driver, which the model reproduces."),
        "mapped-fails": (
            "The allocation that can fail moved from ->mmap (where a failure simply failed "
            "mmap(): the harness fails the legacy hook) to vm_ops->mapped. When mapped() "
            "fails, the already inserted VMA is unmapped and close() sees no vma_priv (NULL "
            "dereference): the same defect as when the remap fails."),
    },
)
