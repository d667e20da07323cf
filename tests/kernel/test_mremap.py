"""mremap(2): grow, shrink, move, DONTUNMAP, multi-VMA moves and refusals (mm/mremap.c, 7.0)."""

from __future__ import annotations

import errno

import pytest

from mmaplab import (
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_PRIVATE,
    MAP_SHARED,
    MM,
    MREMAP_DONTUNMAP,
    MREMAP_FIXED,
    MREMAP_MAYMOVE,
    PAGE_SIZE,
    PROT_READ,
    PROT_WRITE,
    File,
    FileOperations,
    FMode,
    Inode,
    RegularFile,
    VmAreaStruct,
    VMFlag,
    VmOperationsStruct,
)
from mmaplab.kernel.pgtable import Pgprot, Pte
from tests.kernel.test_madvise import special_file

P = PAGE_SIZE
B = 0x10000000
RW = PROT_READ | PROT_WRITE
ANON = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED
MOVE = MREMAP_MAYMOVE | MREMAP_FIXED


def layout(mm: MM) -> list[tuple[int, int, int]]:
    """(start page, end page, pgoff relative to B) for each VMA."""
    return [((v.vm_start - B) // P, (v.vm_end - B) // P, v.vm_pgoff - (B >> 12))
            for v in mm.vmas()]


def errno_of(fn, *args) -> int:
    with pytest.raises(OSError) as exc:
        fn(*args)
    return exc.value.errno


def ops_file(**hooks) -> tuple[File, list[str]]:
    calls: list[str] = []
    ops = VmOperationsStruct(
        name="drv_vm_ops",
        open=lambda vma: calls.append(f"open {(vma.vm_start - B) // P}"),
        close=lambda vma: calls.append(f"close {(vma.vm_start - B) // P}"),
        **hooks)

    def mmap(file, vma: VmAreaStruct) -> int:
        vma.vm_ops = ops
        return 0

    f = File(Inode("/dev/drv", 1 << 20), FileOperations(name="drv", mmap=mmap),
             FMode.READ | FMode.WRITE)
    return f, calls


def test_grow_in_place_and_shrink():
    mm = MM()
    mm.mmap(B, 4 * P, RW, ANON)
    assert mm.mremap(B, 4 * P, 6 * P) == B
    assert layout(mm) == [(0, 6, 0)]
    assert mm.mremap(B, 6 * P, 2 * P) == B
    assert layout(mm) == [(0, 2, 0)]


def test_grow_in_place_merges_with_the_next_vma():
    mm = MM()
    mm.mmap(B, 2 * P, RW, ANON)
    mm.mmap(B + 4 * P, 2 * P, RW, ANON)
    mm.mremap(B, 2 * P, 4 * P)
    assert layout(mm) == [(0, 6, 0)]


def test_grow_without_maymove_is_enomem_with_maymove_it_moves():
    mm = MM()
    mm.mmap(B, 2 * P, RW, ANON)
    mm.mmap(B + 2 * P, 2 * P, PROT_READ, ANON)
    assert errno_of(mm.mremap, B, 2 * P, 4 * P) == errno.ENOMEM
    new = mm.mremap(B, 2 * P, 4 * P, MREMAP_MAYMOVE)
    assert new != B and mm.find_vma(new).vm_end == new + 4 * P
    assert layout(mm)[0] == (2, 4, 2)  # the old place is free


def test_faulted_anonymous_memory_keeps_its_pgoff_and_pages_when_moved():
    mm = MM()
    mm.mmap(B, 2 * P, RW, ANON)
    page = mm.fault(B, write=True).page
    mm.mremap(B, 2 * P, 2 * P, MOVE, B + 8 * P)
    assert layout(mm) == [(8, 10, 0)]  # pgoff stays that of the old address
    assert mm.pagetable.lookup(B + 8 * P).page is page
    mm.mmap(B + 10 * P, 2 * P, RW, ANON)  # pgoff 10 is not 0 + 2: no merge
    assert len(mm.vmas()) == 2


def test_unfaulted_anonymous_memory_takes_the_new_pgoff_and_merges():
    mm = MM()
    mm.mmap(B, 2 * P, RW, ANON)
    mm.mmap(B + 6 * P, 2 * P, RW, ANON)
    mm.mremap(B, 2 * P, 2 * P, MOVE, B + 4 * P)
    assert layout(mm) == [(4, 8, 4)]


def test_dontunmap_leaves_an_empty_unlocked_source():
    mm = MM()
    mm.mmap(B, 2 * P, RW, ANON)
    mm.mlock(B, 2 * P)
    new = mm.mremap(B, 2 * P, 2 * P, MREMAP_MAYMOVE | MREMAP_DONTUNMAP | MREMAP_FIXED,
                    B + 4 * P)
    assert new == B + 4 * P
    old, moved = mm.vmas()
    assert VMFlag.LOCKED not in old.vm_flags and old.anon_vma is None
    assert VMFlag.ACCOUNT in old.vm_flags and mm.committed_pages == 4  # both charged
    assert VMFlag.LOCKED in moved.vm_flags and VMFlag.ACCOUNT in moved.vm_flags
    assert mm.pagetable.entries(B, B + 2 * P) == {}
    assert len(mm.pagetable.entries(B + 4 * P, B + 6 * P)) == 2
    assert errno_of(mm.mremap, B, 2 * P, 4 * P, MREMAP_MAYMOVE | MREMAP_DONTUNMAP,
                    B + 8 * P) == errno.EINVAL  # DONTUNMAP cannot resize


def test_multi_vma_move_keeps_the_gaps():
    mm = MM()
    mm.mmap(B, 2 * P, RW, ANON)
    mm.mmap(B + 3 * P, 1 * P, PROT_READ, ANON)
    mm.mmap(B + 5 * P, 1 * P, RW, ANON)
    assert mm.mremap(B, 6 * P, 6 * P, MOVE, B + 16 * P) == B + 16 * P
    assert [(s, e) for s, e, _ in layout(mm)] == [(16, 18), (19, 20), (21, 22)]
    assert errno_of(mm.mremap, B + 15 * P, 4 * P, 4 * P, MOVE, B) == errno.EFAULT  # a gap first


def test_a_range_crossing_the_vma_end_is_efault_unless_moving_it_all():
    mm = MM()
    mm.mmap(B, 2 * P, RW, ANON)
    mm.mmap(B + 2 * P, 2 * P, PROT_READ, ANON)
    assert errno_of(mm.mremap, B, 4 * P, 6 * P, MREMAP_MAYMOVE) == errno.EFAULT
    assert errno_of(mm.mremap, B + 8 * P, P, 2 * P) == errno.EFAULT  # nothing mapped there


@pytest.mark.parametrize("extra", [VMFlag.DONTEXPAND, VMFlag.PFNMAP | VMFlag.IO])
def test_dontexpand_and_pfnmap_refuse_growing_and_dontunmap_but_may_move(extra):
    mm = MM()
    f = special_file(extra)
    mm.mmap(B, 2 * P, PROT_READ, MAP_SHARED | MAP_FIXED, f, 0)
    assert errno_of(mm.mremap, B, 2 * P, 4 * P, MREMAP_MAYMOVE) == errno.EFAULT
    assert errno_of(mm.mremap, B, 2 * P, 2 * P, MREMAP_MAYMOVE | MREMAP_DONTUNMAP,
                    B + 8 * P) == errno.EINVAL
    assert mm.mremap(B, 2 * P, 2 * P, MOVE, B + 8 * P) == B + 8 * P
    assert mm.mremap(B + 8 * P, 2 * P, P) == B + 8 * P  # shrinking is fine


def test_bad_parameters():
    mm = MM()
    mm.mmap(B, 2 * P, RW, ANON)
    assert errno_of(mm.mremap, B, P, P, 8) == errno.EINVAL  # unknown flag
    assert errno_of(mm.mremap, B + 1, P, P) == errno.EINVAL
    assert errno_of(mm.mremap, B, P, 0) == errno.EINVAL
    assert errno_of(mm.mremap, B, P, P, MREMAP_FIXED, B + 8 * P) == errno.EINVAL  # no MAYMOVE
    assert errno_of(mm.mremap, B, 2 * P, 2 * P, MOVE, B + P) == errno.EINVAL  # overlap
    assert errno_of(mm.mremap, B, 0, P, MREMAP_MAYMOVE) == errno.EINVAL  # private duplicate


def test_open_on_the_copy_close_on_the_source_and_the_mremap_hook():
    seen: list[int] = []
    f, calls = ops_file(mremap=lambda new: seen.append((new.vm_start - B) // P) or 0)
    mm = MM()
    mm.mmap(B, 2 * P, RW, MAP_SHARED | MAP_FIXED, f, 0)
    mm.mremap(B, 2 * P, 2 * P, MOVE, B + 4 * P)
    assert calls == ["open 4", "close 0"] and seen == [4]
    assert layout(mm)[0][:2] == (4, 6) and mm.vmas()[0].vm_pgoff == 0  # the file offset stays


def test_a_failing_mremap_hook_moves_the_pages_back_and_unmaps_the_copy():
    f, calls = ops_file(mremap=lambda new: -errno.EBUSY)
    mm = MM()
    mm.mmap(B, 2 * P, RW, MAP_SHARED | MAP_FIXED, f, 0)
    mm.pagetable.set(B, Pte(0x1234, Pgprot.PRESENT, None, special=True))  # a driver's pfn
    assert errno_of(mm.mremap, B, 2 * P, 2 * P, MOVE, B + 4 * P) == errno.EBUSY
    assert layout(mm)[0][:2] == (0, 2) and mm.pagetable.lookup(B).pfn == 0x1234
    assert calls == ["open 4", "close 4"]


def test_may_split_is_asked_before_moving_part_of_a_vma():
    f, calls = ops_file(may_split=lambda vma, addr: -errno.EINVAL)
    mm = MM()
    mm.mmap(B, 4 * P, RW, MAP_SHARED | MAP_FIXED, f, 0)
    assert errno_of(mm.mremap, B + P, P, P, MOVE, B + 8 * P) == errno.EINVAL
    assert layout(mm)[0][:2] == (0, 4) and calls == []


def test_sealed_mappings_refuse_mremap():
    mm = MM()
    mm.mmap(B, 2 * P, RW, ANON)
    mm.mseal(B, 2 * P)
    for args in ((B, 2 * P, 4 * P, MREMAP_MAYMOVE), (B, 2 * P, P),
                 (B, 2 * P, 2 * P, MOVE, B + 8 * P)):
        assert errno_of(mm.mremap, *args) == errno.EPERM
    mm.mmap(B + 8 * P, 2 * P, RW, ANON)
    mm.mseal(B + 8 * P, 2 * P)
    mm.mmap(B + 4 * P, P, RW, ANON)
    assert errno_of(mm.mremap, B + 4 * P, P, P, MOVE, B + 8 * P) == errno.EPERM  # sealed target


def test_accounting_follows_the_mapping():
    mm = MM()
    mm.mmap(B, 2 * P, RW, ANON)
    assert mm.committed_pages == 2
    mm.mremap(B, 2 * P, 4 * P)
    assert mm.committed_pages == 4
    mm.mremap(B, 4 * P, 4 * P, MOVE, B + 8 * P)
    assert mm.committed_pages == 4
    mm.mremap(B + 8 * P, 4 * P, P)
    assert mm.committed_pages == 1
    mm.munmap(B + 8 * P, P)
    assert mm.committed_pages == 0


def test_moving_part_of_an_accounted_vma_keeps_account_on_both_sides():
    mm = MM()
    mm.mmap(B, 6 * P, RW, ANON)
    mm.fault(B + 2 * P, write=True)  # an anon_vma: the pieces cannot re-merge
    mm.mremap(B + 2 * P, 2 * P, 2 * P, MOVE, B + 10 * P)
    assert [(s, e) for s, e, _ in layout(mm)] == [(0, 2), (4, 6), (10, 12)]
    assert all(VMFlag.ACCOUNT in v.vm_flags for v in mm.vmas()) and mm.committed_pages == 6


def test_locked_growth_is_populated_and_limited():
    mm = MM(rlimit_memlock=4 * P)
    mm.mmap(B, 2 * P, RW, ANON)
    mm.mlock(B, 2 * P)
    mm.mremap(B, 2 * P, 4 * P)
    assert len(mm.pagetable.entries(B, B + 4 * P)) == 4 and mm.locked_vm == 4
    assert errno_of(mm.mremap, B, 4 * P, 6 * P, MREMAP_MAYMOVE) == errno.EAGAIN


def test_a_failed_page_table_move_leaves_the_source():
    mm = MM()
    mm.mmap(B, 2 * P, RW, ANON)
    mm.fault(B, write=True)
    with mm.injecting("move_page_tables"):
        assert errno_of(mm.mremap, B, 2 * P, 2 * P, MOVE, B + 4 * P) == errno.ENOMEM
    assert layout(mm) == [(0, 2, 0)] and mm.pagetable.lookup(B) is not None


def test_file_mapping_moves_with_its_offset():
    mm = MM()
    f = RegularFile("/data", 8 * P)
    mm.mmap(B, 4 * P, PROT_READ, MAP_PRIVATE | MAP_FIXED, f, 2 * P)
    mm.mremap(B + P, 2 * P, 2 * P, MOVE, B + 8 * P)
    assert [(s, e, v.vm_pgoff) for (s, e, _), v in zip(layout(mm), mm.vmas(), strict=True)] \
        == [(0, 1, 2), (3, 4, 5), (8, 10, 3)]
