"""Merge, split, munmap, mprotect, fork and locking rules of the core model.

The cases follow the kernel's userland VMA tests (tools/testing/vma, see
shared/spec §1) and mm/vma.c; each test names the rule it pins.
"""

from __future__ import annotations

import errno

import pytest

from mmaplab import (
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_PRIVATE,
    MAP_SHARED,
    MM,
    PAGE_SIZE,
    PROT_NONE,
    PROT_READ,
    PROT_WRITE,
    DeadlockError,
    File,
    FileOperations,
    FMode,
    Inode,
    RegularFile,
    UseAfterFreeError,
    VMFlag,
    VmOperationsStruct,
)
from mmaplab.kernel.locks import lockdep

P = PAGE_SIZE
B = 0x7F0000000000
ANON = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED
RW = PROT_READ | PROT_WRITE


def layout(mm: MM) -> list[tuple[int, int, int]]:
    """(start page, end page, pgoff relative to B's page) for each VMA."""
    return [((v.vm_start - B) // P, (v.vm_end - B) // P, v.vm_pgoff) for v in mm.vmas()]


class OpsFile:
    """A legacy-hook file whose VMAs get vm_ops with optional close/may_split."""

    def __init__(self, close: bool = False, may_split_err: int = 0) -> None:
        self.events: list[str] = []
        ops = VmOperationsStruct(
            name="t_vm_ops",
            open=lambda vma: self.events.append(f"open {(vma.vm_start - B) // P}"),
            close=(lambda vma: self.events.append(f"close {(vma.vm_start - B) // P}"))
            if close else None,
            may_split=(lambda vma, addr: may_split_err) if may_split_err else None,
        )

        def mmap(file, vma):
            vma.vm_ops = ops
            return 0

        self.file = File(Inode("/dev/t", 1 << 30), FileOperations(name="t_fops", mmap=mmap),
                         FMode.READ | FMode.WRITE)

    def map(self, mm: MM, page: int, pages: int, pgoff: int | None = None) -> None:
        pg = page if pgoff is None else pgoff
        mm.mmap(B + page * P, pages * P, PROT_READ, MAP_SHARED | MAP_FIXED, self.file, pg * P)


# -- new-range merges (vma_merge_new_range) ------------------------------------------

def test_anon_new_range_merges_left_right_and_both():
    mm = MM()
    mm.mmap(B, 2 * P, RW, ANON)
    mm.mmap(B + 4 * P, 2 * P, RW, ANON)
    mm.mmap(B + 2 * P, 2 * P, RW, ANON)
    assert [(s, e) for s, e, _ in layout(mm)] == [(0, 6)]
    assert mm.vmas()[0].vm_pgoff == B // P


def test_different_flags_do_not_merge_but_softdirty_is_ignored():
    mm = MM()
    mm.mmap(B, 2 * P, RW, ANON)
    mm.mmap(B + 2 * P, 2 * P, PROT_READ, ANON)
    assert len(mm.vmas()) == 2
    assert all(VMFlag.SOFTDIRTY in v.vm_flags for v in mm.vmas())


def test_file_merge_needs_contiguous_pgoff_and_same_file_object():
    f = RegularFile("/data/f", 64 * P)
    mm = MM()
    mm.mmap(B, 2 * P, PROT_READ, MAP_SHARED | MAP_FIXED, f, 0)
    mm.mmap(B + 2 * P, 2 * P, PROT_READ, MAP_SHARED | MAP_FIXED, f, 5 * P)  # gap in pgoff
    mm.mmap(B + 4 * P, 2 * P, PROT_READ, MAP_SHARED | MAP_FIXED, f.reopen(), 7 * P)  # other file
    assert len(mm.vmas()) == 3
    mm.mmap(B + 6 * P, 2 * P, PROT_READ, MAP_SHARED | MAP_FIXED, f, 9 * P)
    assert len(mm.vmas()) == 4  # pgoff would continue the 3rd VMA but the file differs


def test_new_range_between_prev_and_next_with_close_extends_prev_only():
    t = OpsFile(close=True)
    mm = MM()
    t.map(mm, 0, 2)
    t.map(mm, 4, 2)
    t.map(mm, 2, 2)
    assert layout(mm) == [(0, 4, 0), (4, 6, 4)]  # next has close: it is never deleted


def test_special_flags_never_merge():
    mm = MM()
    t = OpsFile()

    def special(file, vma):
        vma.vm_flags |= VMFlag.IO | VMFlag.PFNMAP
        return 0

    f = File(Inode("/dev/io", 1 << 20), FileOperations(name="io", mmap=special),
             FMode.READ | FMode.WRITE)
    mm.mmap(B, P, PROT_READ, MAP_SHARED | MAP_FIXED, f, 0)
    mm.mmap(B + P, P, PROT_READ, MAP_SHARED | MAP_FIXED, f, P)
    assert len(mm.vmas()) == 2
    del t


# -- existing-range merges on mprotect (vma_merge_existing_range) ----------------------

def test_mprotect_case_a_and_c_move_the_boundary():
    mm = MM()
    mm.mmap(B, 4 * P, PROT_READ, ANON)
    mm.mmap(B + 4 * P, 4 * P, RW, ANON)
    mm.mprotect(B + 4 * P, 2 * P, PROT_READ)  # case A: prev grows
    assert [(s, e) for s, e, _ in layout(mm)] == [(0, 6), (6, 8)]
    mm.mprotect(B + 4 * P, 2 * P, RW)  # case C: next grows down
    assert [(s, e) for s, e, _ in layout(mm)] == [(0, 4), (4, 8)]


def test_mprotect_case_e_deletes_middle_and_next():
    mm = MM()
    mm.mmap(B, 2 * P, PROT_READ, ANON)
    mm.mmap(B + 2 * P, 2 * P, RW, ANON)
    mm.mmap(B + 4 * P, 2 * P, PROT_READ, ANON)
    mm.mprotect(B + 2 * P, 2 * P, PROT_READ)
    assert [(s, e) for s, e, _ in layout(mm)] == [(0, 6)]


def test_mprotect_interior_range_splits_in_three():
    mm = MM()
    mm.mmap(B, 6 * P, RW, ANON)
    mm.mprotect(B + 2 * P, 2 * P, PROT_READ)
    assert [(s, e) for s, e, _ in layout(mm)] == [(0, 2), (2, 4), (4, 6)]
    assert [v.vm_pgoff - B // P for v in mm.vmas()] == [0, 2, 4]


def test_distinct_anon_vmas_block_merge_but_reuse_allows_it():
    mm = MM()
    mm.mmap(B, 2 * P, RW, ANON)
    mm.mmap(B + 2 * P, 2 * P, PROT_READ, ANON)
    mm.fault(B, write=True)
    mm.mprotect(B + 2 * P, 2 * P, RW)
    assert len(mm.vmas()) == 1  # unfaulted VMA adopts the neighbour's anon_vma on merge
    mm2 = MM()
    mm2.mmap(B, 2 * P, RW, ANON)
    mm2.mmap(B + 2 * P, 2 * P, PROT_READ | 4, ANON)  # differs in EXEC: reuse still allowed
    mm2.fault(B, write=True)
    mm2.mprotect(B + 2 * P, 2 * P, RW)
    mm2.fault(B + 2 * P, write=True)
    assert mm2.vmas()[0].anon_vma is mm2.vmas()[-1].anon_vma


def test_mprotect_drops_account_only_for_unfaulted_anon():
    mm = MM()
    mm.mmap(B, 2 * P, RW, ANON)
    assert VMFlag.ACCOUNT in mm.vmas()[0].vm_flags
    mm.mprotect(B, P, PROT_READ)
    assert VMFlag.ACCOUNT not in mm.vmas()[0].vm_flags
    mm.fault(B + P, write=True)
    mm.mprotect(B + P, P, PROT_READ)
    assert VMFlag.ACCOUNT in mm.vma_lookup(B + P).vm_flags


def test_mprotect_partial_application_before_hole():
    mm = MM()
    mm.mmap(B, 2 * P, RW, ANON)
    mm.mmap(B + 3 * P, 2 * P, RW, ANON)
    with pytest.raises(OSError) as ei:
        mm.mprotect(B, 5 * P, PROT_READ)
    assert ei.value.errno == errno.ENOMEM
    assert [VMFlag.WRITE in v.vm_flags for v in mm.vmas()] == [False, True]


def test_mprotect_write_on_readonly_shared_file_is_eacces():
    f = RegularFile("/data/ro", 4 * P, writable=False)
    mm = MM()
    mm.mmap(B, P, PROT_READ, MAP_SHARED | MAP_FIXED, f, 0)
    with pytest.raises(OSError) as ei:
        mm.mprotect(B, P, RW)
    assert ei.value.errno == errno.EACCES


# -- split, munmap ---------------------------------------------------------------

def test_split_calls_open_on_new_piece_and_may_split_can_veto():
    t = OpsFile(close=True)
    mm = MM()
    t.map(mm, 0, 4)
    mm.munmap(B + P, P)
    assert layout(mm) == [(0, 1, 0), (2, 4, 2)]
    assert t.events == ["open 0", "open 2", "close 1"]
    v = OpsFile(may_split_err=-errno.EPERM)
    mm2 = MM()
    v.map(mm2, 0, 4)
    with pytest.raises(OSError) as ei:
        mm2.munmap(B + P, P)
    assert ei.value.errno == errno.EPERM and layout(mm2) == [(0, 4, 0)]


def test_map_count_limit_blocks_splits():
    mm = MM(max_map_count=2)
    mm.mmap(B, 4 * P, RW, ANON)
    mm.mprotect(B, P, PROT_READ)
    with pytest.raises(OSError) as ei:
        mm.munmap(B + 2 * P, P)
    assert ei.value.errno == errno.ENOMEM
    assert len(mm.vmas()) == 2


def test_munmap_zaps_ptes_and_drops_file_refs():
    f = RegularFile("/data/g", 8 * P)
    mm = MM()
    mm.mmap(B, 4 * P, PROT_READ, MAP_SHARED | MAP_FIXED, f, 0)
    assert f.f_count == 2
    mm.fault(B)
    mm.fault(B + 3 * P)
    mm.munmap(B, 2 * P)
    assert list(mm.pagetable.entries()) == [B + 3 * P]
    mm.munmap(B, 8 * P)
    assert f.f_count == 1 and len(mm.pagetable) == 0 and not f.f_mapping.i_mmap


def test_map_fixed_over_existing_closes_old_vma_once():
    t = OpsFile(close=True)
    mm = MM()
    t.map(mm, 0, 2)
    mm.mmap(B, 2 * P, RW, ANON)
    assert t.events == ["close 0"] and len(mm.vmas()) == 1


# -- fork --------------------------------------------------------------------------

def test_fork_copies_vmas_calls_open_skips_dontcopy_and_cows():
    t = OpsFile(close=True)
    mm = MM()
    t.map(mm, 0, 2)
    mm.mmap(B + 4 * P, 2 * P, RW, ANON)
    mm.fault(B + 4 * P, write=True)

    def dontcopy(file, vma):
        vma.vm_flags |= VMFlag.DONTCOPY
        return 0

    f = File(Inode("/dev/dc", P), FileOperations(name="dc", mmap=dontcopy), FMode.READ)
    mm.mmap(B + 8 * P, P, PROT_READ, MAP_SHARED | MAP_FIXED, f, 0)
    child = mm.fork()
    assert len(child.vmas()) == 2 and t.events == ["open 0"]
    ppte, cpte = mm.pagetable.lookup(B + 4 * P), child.pagetable.lookup(B + 4 * P)
    assert ppte.pfn == cpte.pfn and not ppte.writable and not cpte.writable
    child.fault(B + 4 * P, write=True)
    assert child.pagetable.lookup(B + 4 * P).pfn != ppte.pfn
    assert len(child.vmas()[1].anon_vma_chain) == 2  # fork child: chain is not singular
    child.exit()
    assert t.events == ["open 0", "close 0"]


def test_fork_child_anon_vma_blocks_merge_with_unfaulted_neighbour():
    mm = MM()
    mm.mmap(B, 2 * P, RW, ANON)
    mm.fault(B, write=True)
    child = mm.fork()
    child.mmap(B + 2 * P, 2 * P, RW, ANON)
    assert len(child.vmas()) == 2
    mm.mmap(B + 2 * P, 2 * P, RW, ANON)
    assert len(mm.vmas()) == 1


# -- faults ---------------------------------------------------------------------------

def test_faults_sigsegv_and_sigbus():
    mm = MM()
    mm.mmap(B, P, PROT_NONE, ANON)
    with pytest.raises(OSError, match="SIGSEGV"):
        mm.fault(B)
    with pytest.raises(OSError, match="SIGSEGV"):
        mm.fault(B + P)
    f = RegularFile("/data/short", P // 2)
    mm.mmap(B + 4 * P, 2 * P, PROT_READ, MAP_PRIVATE | MAP_FIXED, f, 0)
    mm.fault(B + 4 * P)
    with pytest.raises(OSError, match="SIGBUS"):
        mm.fault(B + 5 * P)


# -- locks and use-after-free ----------------------------------------------------------

def test_lockdep_reports_rmap_lock_held_across_unmap():
    """The mainline bug class (ac0a3fc9c07d, fixed by v4 04/21): an error path unmapping
    while the file rmap lock is held."""
    from mmaplab.kernel.mmap_action import mmap_action_remap_full

    def bad_success_hook(vma):
        vma.vm_file.f_mapping.i_mmap_rwsem.down_write("bad success_hook")
        return -errno.EIO

    def prepare(desc):
        mmap_action_remap_full(desc, 0x9000)
        desc.action.success_hook = bad_success_hook
        return 0

    f = File(Inode("/dev/dl", P), FileOperations(name="dl", mmap_prepare=prepare),
             FMode.READ | FMode.WRITE)
    mm = MM()
    with pytest.raises(DeadlockError, match="recursive locking detected"):
        mm.mmap(B, P, PROT_READ, MAP_SHARED | MAP_FIXED, f, 0)
    assert lockdep.held == []  # the aborted operation released what it took


def test_lockdep_reports_recursive_mmap_lock():
    def reenter(file, vma):
        vma.vm_mm.munmap(B + 8 * P, P)
        return 0

    f = File(Inode("/dev/re", P), FileOperations(name="re", mmap=reenter), FMode.READ)
    mm = MM()
    with pytest.raises(DeadlockError, match="mmap_lock is already held"):
        mm.mmap(B, P, PROT_READ, MAP_SHARED | MAP_FIXED, f, 0)
    assert lockdep.held == [] and mm.vmas() == []


def test_lockdep_reports_inverted_order():
    f = RegularFile("/data/o", 4 * P)
    mm = MM()
    rwsem = f.f_mapping.i_mmap_rwsem
    rwsem.down_write("test")
    try:
        with pytest.raises(DeadlockError, match="circular locking dependency"):
            mm.mmap(B, P, PROT_READ, MAP_SHARED | MAP_FIXED, f, 0)
    finally:
        rwsem.up_write()


def test_freed_vma_access_is_use_after_free():
    mm = MM()
    mm.mmap(B, P, RW, ANON)
    (vma,) = mm.vmas()
    mm.munmap(B, P)
    with pytest.raises(UseAfterFreeError, match="vm_file"):
        _ = vma.vm_file
