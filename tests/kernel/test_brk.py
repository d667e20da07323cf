"""``brk(2)``: the program break, its VMA and merge rules, its refusals.

Pins ``SYSCALL_DEFINE1(brk)``/``check_brk_limits()`` (mm/mmap.c) and ``do_brk_flags()``
(mm/vma.c) of Linux 7.0; the random sequences against the running kernel are in
tests/oracle/test_brk_differential.py.
"""

from __future__ import annotations

import errno

import pytest

from mmaplab import (
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_PRIVATE,
    MAP_SHARED,
    MCL_FUTURE,
    MM,
    PAGE_SIZE,
    PROT_READ,
    PROT_WRITE,
    VMFlag,
)

P = PAGE_SIZE
S = 0x555555559000  # the default start_brk
RW = PROT_READ | PROT_WRITE


def heap(mm: MM) -> list[tuple[int, int, str]]:
    return [(v.vm_start - S, v.vm_end - S, line.split()[-1] if "[heap]" in line else "")
            for v, line in zip(mm.vmas(), mm.maps().splitlines(), strict=True)]


def test_brk_zero_reads_the_break_and_changes_nothing():
    mm = MM()
    assert (mm.start_brk, mm.cur_brk) == (S, S)
    assert mm.brk(0) == S
    assert mm.vmas() == []


def test_grow_creates_an_anonymous_heap_vma_and_returns_the_unaligned_break():
    mm = MM()
    assert mm.brk(S + P + 5) == S + P + 5
    (vma,) = mm.vmas()
    assert (vma.vm_start, vma.vm_end, vma.vm_pgoff) == (S, S + 2 * P, S // P)
    assert vma.vm_file is None and vma.vm_ops is None
    assert VMFlag.ACCOUNT in vma.vm_flags and VMFlag.MAYEXEC in vma.vm_flags
    assert mm.maps().rstrip().endswith("[heap]")
    assert mm.committed_pages == 2


def test_a_move_within_the_last_page_only_moves_the_break():
    mm = MM()
    mm.brk(S + 10)
    before = [(v.vm_start, v.vm_end) for v in mm.vmas()]
    assert mm.brk(S + P - 1) == S + P - 1
    assert [(v.vm_start, v.vm_end) for v in mm.vmas()] == before


def test_growing_again_expands_the_same_vma():
    mm = MM()
    mm.brk(S + P)
    mm.fault(S, write=True)  # an anon_vma does not stop the expansion
    (first,) = mm.vmas()
    assert mm.brk(S + 4 * P) == S + 4 * P
    assert mm.vmas() == [first] and first.vm_end == S + 4 * P


def test_shrink_unmaps_the_freed_pages_and_their_ptes():
    mm = MM()
    mm.brk(S + 4 * P)
    mm.fault(S + 3 * P, write=True)
    assert mm.brk(S + P) == S + P
    assert heap(mm) == [(0, P, "[heap]")]
    assert mm.pagetable.lookup(S + 3 * P) is None
    assert mm.committed_pages == 1


def test_below_start_brk_is_refused_with_the_old_break():
    mm = MM()
    mm.brk(S + P)
    assert mm.brk(S - 1) == S + P
    assert mm.cur_brk == S + P


def test_a_mapping_in_the_way_refuses_growth_one_page_early():
    """The grown heap must leave one free page before the next VMA."""
    mm = MM()
    mm.brk(S + P)
    mm.mmap(S + 4 * P, P, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED)
    assert mm.brk(S + 3 * P + 1) == S + P  # would end at 4 pages: no gap left
    assert mm.brk(S + 3 * P) == S + 3 * P  # one page free before the mapping
    assert heap(mm) == [(0, 3 * P, "[heap]"), (4 * P, 5 * P, "")]


def test_shrink_over_nothing_is_refused():
    """munmap'ed heap: a shrink that finds no VMA between the breaks fails."""
    mm = MM()
    mm.brk(S + 4 * P)
    mm.munmap(S + 2 * P, 2 * P)
    assert mm.brk(S + 2 * P) == S + 4 * P


def test_shrink_unmaps_any_vma_in_the_range_not_only_brk_ones():
    mm = MM()
    mm.brk(S + 4 * P)
    mm.mmap(S + 2 * P, P, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED)
    assert mm.brk(S + P) == S + P
    assert heap(mm) == [(0, P, "[heap]")]


def test_brk_vma_merges_only_with_a_compatible_previous_vma():
    mm = MM()
    mm.brk(S + P)
    mm.mprotect(S, P, PROT_READ)
    assert mm.brk(S + 2 * P) == S + 2 * P
    assert [(v.vm_start - S, v.vm_end - S) for v in mm.vmas()] == [(0, P), (P, 2 * P)]
    assert mm.maps().count("[heap]") == 2


def test_heap_name_needs_an_overlap_with_start_brk_to_brk():
    """``vma_is_initial_heap()`` with strict bounds: ending at start_brk is not [heap]."""
    mm = MM()
    mm.mmap(S - P, P, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED)
    mm.brk(S + 2 * P)
    mm.mmap(S + 3 * P, P, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED)
    names = [line.endswith("[heap]") for line in mm.maps().splitlines()]
    assert names == [False, True, False]


def test_rlimit_data_refuses_growth():
    mm = MM(rlimit_data=2 * P)
    assert mm.brk(S + 2 * P) == S + 2 * P
    assert mm.brk(S + 2 * P + 1) == S + 2 * P
    assert mm.brk(S + P) == S + P  # shrinking is checked too, and passes


def test_rlimit_as_refuses_growth_in_do_brk_flags():
    mm = MM(rlimit_as=3 * P)
    mm.mmap(None, 2 * P, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS)
    assert mm.brk(S + P) == S + P
    assert mm.brk(S + 2 * P) == S + P
    with pytest.raises(OSError) as ei:
        mm.mmap(None, 2 * P, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS)
    assert ei.value.errno == errno.ENOMEM


@pytest.mark.parametrize("point", ["vm_enough_memory", "vm_area_alloc", "vma_iter_prealloc"])
def test_a_failed_allocation_keeps_the_old_break_and_gives_back_the_charge(point: str):
    mm = MM()
    with mm.injecting(point):
        assert mm.brk(S + P) == S
    assert mm.vmas() == [] and mm.committed_pages == 0


def test_a_failed_merge_preallocation_fails_brk_unlike_mmap():
    """``do_brk_flags()`` turns VMA_MERGE_ERROR_NOMEM into ENOMEM (mmap goes on, D1)."""
    mm = MM()
    mm.brk(S + P)
    with mm.injecting("vma_iter_prealloc"):
        assert mm.brk(S + 2 * P) == S + P
    assert heap(mm) == [(0, P, "[heap]")] and mm.committed_pages == 1


def test_mlockall_future_locks_and_populates_grown_heap():
    mm = MM(cap_ipc_lock=True)
    mm.mlockall(MCL_FUTURE)
    mm.brk(S + 2 * P)
    (vma,) = mm.vmas()
    assert VMFlag.LOCKED in vma.vm_flags and mm.locked_vm == 2
    assert mm.pagetable.lookup(S + P) is not None


def test_mlock_limit_refuses_locked_growth():
    mm = MM(rlimit_memlock=P)
    mm.mlockall(MCL_FUTURE)
    assert mm.brk(S + 2 * P) == S


def test_fork_child_inherits_the_break():
    mm = MM()
    mm.brk(S + 3 * P + 1)
    child = mm.fork()
    assert (child.start_brk, child.cur_brk) == (S, S + 3 * P + 1)
    assert child.maps() == mm.maps()


def test_sealed_heap_cannot_shrink():
    mm = MM()
    mm.brk(S + 2 * P)
    mm.mseal(S + P, P)
    assert mm.brk(S + P) == S + 2 * P
