"""madvise(2): flags, splits and merges, refusals, DONTNEED zapping (mm/madvise.c, 7.0)."""

from __future__ import annotations

import errno

import pytest

from mmaplab import (
    MADV_DODUMP,
    MADV_DOFORK,
    MADV_DONTDUMP,
    MADV_DONTFORK,
    MADV_DONTNEED,
    MADV_KEEPONFORK,
    MADV_NORMAL,
    MADV_RANDOM,
    MADV_SEQUENTIAL,
    MADV_WILLNEED,
    MADV_WIPEONFORK,
    MAP_ANONYMOUS,
    MAP_DROPPABLE,
    MAP_FIXED,
    MAP_PRIVATE,
    MAP_SHARED,
    MM,
    PAGE_SIZE,
    PROT_READ,
    PROT_WRITE,
    File,
    FileOperations,
    FMode,
    Inode,
    RegularFile,
    VMFlag,
)
from mmaplab.kernel.maps import vm_flags_mnemonics

P = PAGE_SIZE
B = 0x10000000
RW = PROT_READ | PROT_WRITE
ANON = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED


def anon(mm: MM, start: int = 0, pages: int = 8, prot: int = RW) -> int:
    return mm.mmap(B + start * P, pages * P, prot, ANON)


def layout(mm: MM) -> list[tuple[int, int]]:
    return [((v.vm_start - B) // P, (v.vm_end - B) // P) for v in mm.vmas()]


def special_file(extra: VMFlag) -> File:
    def legacy_mmap(file, vma):
        vma.vm_flags |= extra
        return 0

    return File(Inode("/dev/special", 1 << 20), FileOperations(name="special", mmap=legacy_mmap),
                FMode.READ | FMode.WRITE)


@pytest.mark.parametrize(("advice", "flag", "undo"), [
    (MADV_DONTFORK, VMFlag.DONTCOPY, MADV_DOFORK),
    (MADV_DONTDUMP, VMFlag.DONTDUMP, MADV_DODUMP),
    (MADV_WIPEONFORK, VMFlag.WIPEONFORK, MADV_KEEPONFORK),
    (MADV_RANDOM, VMFlag.RAND_READ, MADV_NORMAL),
    (MADV_SEQUENTIAL, VMFlag.SEQ_READ, MADV_NORMAL),
])
def test_advice_splits_then_the_opposite_merges_back(advice, flag, undo):
    mm = MM()
    anon(mm)
    mm.madvise(B + 2 * P, 3 * P, advice)
    assert layout(mm) == [(0, 2), (2, 5), (5, 8)]
    assert [flag in v.vm_flags for v in mm.vmas()] == [False, True, False]
    mm.madvise(B, 8 * P, undo)
    assert layout(mm) == [(0, 8)] and flag not in mm.vmas()[0].vm_flags


def test_random_and_sequential_replace_each_other():
    mm = MM()
    anon(mm)
    mm.madvise(B, 8 * P, MADV_SEQUENTIAL)
    mm.madvise(B, 8 * P, MADV_RANDOM)
    flags = mm.vmas()[0].vm_flags
    assert VMFlag.RAND_READ in flags and VMFlag.SEQ_READ not in flags
    assert "rr" in vm_flags_mnemonics(flags).split()


def test_a_hole_gives_enomem_after_advising_both_sides():
    mm = MM()
    anon(mm, 0, 2)
    anon(mm, 4, 2)
    with pytest.raises(OSError) as exc:
        mm.madvise(B, 6 * P, MADV_DONTDUMP)
    assert exc.value.errno == errno.ENOMEM
    assert all(VMFlag.DONTDUMP in v.vm_flags for v in mm.vmas())


def test_an_error_stops_the_walk_earlier_vmas_keep_the_change():
    mm = MM()
    anon(mm, 0, 2)
    f = RegularFile("/data", 8 * P)
    mm.mmap(B + 2 * P, 2 * P, PROT_READ, MAP_PRIVATE | MAP_FIXED, f, 0)
    anon(mm, 4, 2)
    with pytest.raises(OSError) as exc:
        mm.madvise(B, 6 * P, MADV_WIPEONFORK)
    assert exc.value.errno == errno.EINVAL
    assert [VMFlag.WIPEONFORK in v.vm_flags for v in mm.vmas()] == [True, False, False]


@pytest.mark.parametrize("bad", [
    (B + 1, P, MADV_NORMAL),  # unaligned start
    (B, P, 5),  # no such advice
    (B, (1 << 64) - 1, MADV_NORMAL),  # the length overflows when rounded up
    (B, P, 14),  # MADV_HUGEPAGE: valid on Linux, not modelled
])
def test_bad_arguments_are_einval(bad):
    mm = MM()
    anon(mm)
    with pytest.raises(OSError) as exc:
        mm.madvise(*bad)
    assert exc.value.errno == errno.EINVAL


def test_zero_length_is_a_no_op_even_unmapped():
    mm = MM()
    mm.madvise(B, 0, MADV_DONTNEED)
    assert mm.vmas() == []


def test_dontneed_zaps_anonymous_pages_which_read_back_as_zero():
    mm = MM()
    anon(mm, 0, 4)
    for i in range(4):
        mm.fault(B + i * P, write=True)
    mm.madvise(B + P, 2 * P, MADV_DONTNEED)
    assert sorted((a - B) // P for a in mm.pagetable.entries(B, B + 4 * P)) == [0, 3]
    pte = mm.fault(B + P)
    assert pte.page is not None and pte.page.kind == "zero"  # reads back as zeroes
    assert layout(mm) == [(0, 4)]  # no split: DONTNEED changes no flags


def test_dontneed_on_a_private_file_mapping_shows_the_file_again():
    mm = MM()
    f = RegularFile("/data", 4 * P)
    mm.mmap(B, 4 * P, RW, MAP_PRIVATE | MAP_FIXED, f, 0)
    cow = mm.fault(B, write=True)
    assert cow.page.kind == "anon"
    mm.madvise(B, P, MADV_DONTNEED)
    again = mm.fault(B)
    assert again.page is not None and again.page.kind != "anon"


def test_dontneed_refuses_locked_and_pfnmap():
    mm = MM()
    anon(mm, 0, 2)
    mm.mlock(B, 2 * P)
    with pytest.raises(OSError) as exc:
        mm.madvise(B, P, MADV_DONTNEED)
    assert exc.value.errno == errno.EINVAL
    mm.mmap(B + 4 * P, P, PROT_READ, MAP_SHARED | MAP_FIXED,
            special_file(VMFlag.IO | VMFlag.PFNMAP), 0)
    with pytest.raises(OSError) as exc:
        mm.madvise(B + 4 * P, P, MADV_DONTNEED)
    assert exc.value.errno == errno.EINVAL


def test_dofork_refuses_vm_io_and_dodump_refuses_vm_special():
    mm = MM()
    mm.mmap(B, P, PROT_READ, MAP_SHARED | MAP_FIXED, special_file(VMFlag.IO), 0)
    for advice in (MADV_DOFORK, MADV_DODUMP):
        with pytest.raises(OSError) as exc:
            mm.madvise(B, P, advice)
        assert exc.value.errno == errno.EINVAL
    mm.madvise(B, P, MADV_DONTFORK)  # setting is allowed
    assert VMFlag.DONTCOPY in mm.vmas()[0].vm_flags


def test_wipeonfork_only_on_private_anonymous_and_keeponfork_not_on_droppable():
    mm = MM()
    mm.mmap(B, P, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED)
    with pytest.raises(OSError) as exc:
        mm.madvise(B, P, MADV_WIPEONFORK)
    assert exc.value.errno == errno.EINVAL
    mm.mmap(B + 2 * P, P, RW, MAP_DROPPABLE | MAP_ANONYMOUS | MAP_FIXED)
    with pytest.raises(OSError) as exc:
        mm.madvise(B + 2 * P, P, MADV_KEEPONFORK)
    assert exc.value.errno == errno.EINVAL


def test_split_failure_at_the_map_count_limit_is_eagain():
    mm = MM(max_map_count=1)
    anon(mm)
    with pytest.raises(OSError) as exc:
        mm.madvise(B + P, P, MADV_DONTFORK)
    assert exc.value.errno == errno.EAGAIN
    assert layout(mm) == [(0, 8)]


def test_willneed_changes_nothing():
    mm = MM()
    anon(mm)
    before = mm.smaps()
    mm.madvise(B, 8 * P, MADV_WILLNEED)
    assert mm.smaps() == before


def test_fork_honours_dontfork_and_wipeonfork():
    mm = MM()
    anon(mm, 0, 2)
    anon(mm, 2, 2, prot=PROT_READ)  # a different VMA
    for i in range(4):
        mm.fault(B + i * P, write=i < 2)
    mm.madvise(B, 2 * P, MADV_WIPEONFORK)
    mm.madvise(B + 2 * P, 2 * P, MADV_DONTFORK)
    child = mm.fork()
    assert [((v.vm_start - B) // P, (v.vm_end - B) // P) for v in child.vmas()] == [(0, 2)]
    assert child.pagetable.entries(B, B + 2 * P) == {}  # wiped: faults give fresh zero pages
    assert VMFlag.WIPEONFORK in child.vmas()[0].vm_flags  # and the child keeps the flag
    assert len(mm.pagetable.entries(B, B + 2 * P)) == 2  # the parent keeps its pages


# -- the range checks madvise, mseal and mlock repeat (flags.user_range_end) ------------

@pytest.mark.parametrize(("start", "length"), [
    (0x10000001, 4096),            # start not page aligned
    (0x10000000, -1),              # a small negative length rounds up to zero
    (0x10000000, -4097),           # ... or wraps past the end of the address space
    ((1 << 64) - 4096, 8192),      # start + length wraps
])
def test_madvise_and_mseal_share_the_range_checks(start, length):
    from mmaplab.kernel.flags import user_range_end

    with pytest.raises(OSError) as direct:
        user_range_end(start & ((1 << 64) - 1), length & ((1 << 64) - 1))
    for call in (lambda mm: mm.madvise(start, length, MADV_DONTNEED),
                 lambda mm: mm.mseal(start, length)):
        with pytest.raises(OSError) as ei:
            call(MM())
        assert ei.value.errno == direct.value.errno == errno.EINVAL
        assert str(ei.value) == str(direct.value)


def test_an_empty_range_is_accepted_by_all_three():
    from mmaplab.kernel.flags import user_range_end

    assert user_range_end(0x10000000, 0) == 0x10000000
    mm = MM()
    mm.madvise(0x10000000, 0, MADV_DONTNEED)
    mm.mseal(0x10000000, 0)
    mm.munlock(0x10000000, 0)
