"""afs: the scenarios the harness runs, the mutants (realistic wrong conversions)
and the ``SPEC`` (see :mod:`mmaplab.drivers.afs.model` for the driver)."""

from __future__ import annotations

from ...kernel.flags import MAP_PRIVATE, PROT_READ, PROT_WRITE
from ...kernel.fs import FMode
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
    AFS_FILE_PAGES,
    AfsDriver,
)
from .mutants import MUTANTS

RW = PROT_READ | PROT_WRITE

SCENARIOS: tuple[Scenario, ...] = (
    Scenario("map-fault-unmap", (mmap_op(0, 2, RW), fault_op(0), fault_op(1, write=True),
                                 munmap_op(0, 2)),
             "one shared mapping of 2 pages: the vnode is counted once and listed, then "
             "unlisted again"),
    Scenario("read-only-open-shared-write", (mmap_op(0, 1, RW, mode=FMode.READ),),
             "PROT_WRITE|MAP_SHARED on a file opened O_RDONLY: EACCES from do_mmap, the hook "
             "is never called"),
    Scenario("fault-beyond-eof", (mmap_op(0, 2, PROT_READ, offset_pages=AFS_FILE_PAGES - 1),
                                  fault_op(0), fault_op(1)),
             "a mapping may extend past EOF; touching the page beyond it is SIGBUS"),
    Scenario("merge-with-previous", (mmap_op(0, 2, RW), mmap_op(2, 2, RW, offset_pages=2),
                                     munmap_op(0, 4)),
             "the second mmap continues the first (same file, same flags, next offset): the "
             "range merges into the existing VMA, so no new mapping is counted"),
    Scenario("merge-with-next", (mmap_op(2, 2, RW, offset_pages=2), mmap_op(0, 2, RW),
                                 exit_op()),
             "the new range ends where a mapping of the next offsets starts: it merges into "
             "that VMA (which keeps its close hook)"),
    Scenario("no-merge-other-open", (mmap_op(0, 2, RW), mmap_op(2, 2, RW, offset_pages=2,
                                                                same_file=False),
                                     exit_op()),
             "a second open() of the same file is a different struct file: no merge, two "
             "VMAs, two references"),
    Scenario("next-to-anon", (anon_neighbour_op(0, 1, RW), mmap_op(1, 2, RW), exit_op()),
             "an anonymous neighbour never merges with a file mapping"),
    Scenario("split-by-munmap", (mmap_op(0, 4, RW), munmap_op(1, 1), exit_op()),
             "punching a hole splits the VMA: open() counts the new piece"),
    Scenario("split-by-mprotect", (mmap_op(0, 4, RW), mprotect_op(0, 2, PROT_READ),
                                   munmap_op(0, 4)),
             "mprotect of half the mapping splits it; unmapping both halves drops both"),
    Scenario("private-cow", (mmap_op(0, 2, RW, flags=MAP_PRIVATE), fault_op(0, write=True),
                             fork_op(), child_exit_op(), munmap_op(0, 2)),
             "a private writable mapping: COW on write; the fork child's copy is counted by "
             "open() and dropped by close()"),
    Scenario("fork", (mmap_op(0, 2, RW), fault_op(0), fork_op(), child_exit_op(), exit_op()),
             "afs sets no VM_DONTCOPY: the child's copy is one more mapping"),
    Scenario("alloc-fails-after-hook", (mmap_op(0, 2, RW),), inject=("vm_area_alloc", 1),
             note="the VMA allocation fails (ENOMEM) after mmap_prepare ran"),
    Scenario("tree-prealloc-fails-after-hook", (mmap_op(0, 2, RW),),
             inject=("vma_iter_prealloc", 1),
             note="the maple-tree preallocation for the new VMA fails (ENOMEM) after "
                  "mmap_prepare ran"),
    Scenario("merge-then-prealloc-fails", (mmap_op(0, 2, RW), mmap_op(2, 2, RW, offset_pages=2),
                                           exit_op()),
             inject=("vma_iter_prealloc", 2),
             note="the second mmap would merge, but the merge's tree preallocation fails: "
                  "__mmap_region() goes on and builds a new, unmerged VMA, so afs_mapped "
                  "runs for it (two mappings counted)"),
)

SPEC = DriverSpec(
    name="afs",
    kernel_files=("fs/afs/file.c", "fs/afs/callback.c", "mm/filemap.c"),
    kernel_version=("legacy: afs_file_mmap as restored by v4 09/21 (= torvalds/linux "
                    "@0050d7f5ee53 logic); prepare: v4 10/21 afs_file_mmap_prepare + afs_mapped; "
                    "buggy (make_buggy): 9d5403b1036c, linux-fsdevel/vfs @183d05a8f87b"),
    make=lambda variant: AfsDriver(variant),
    scenarios=SCENARIOS,
    intended={
        "hooks": (
            "The open-mmap reference moved from the legacy ->mmap hook (which ran on a VMA "
            "that was certain to exist) to vm_ops->mapped (afs_mapped), which the kernel "
            "calls only once a new VMA has been inserted and never for a range that merged "
            "into an existing one. So every new afs mapping now shows an "
            "afs_vm_ops->mapped call that the legacy driver did not have; the counter "
            "itself (cb_nr_mmap) ends the same."),
    },
    mutants=MUTANTS,
)
