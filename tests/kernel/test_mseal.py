"""mseal(2) and what a seal refuses (mm/mseal.c and the callers' checks, Linux 7.0)."""

from __future__ import annotations

import errno

import pytest

from mmaplab import (
    MADV_DONTFORK,
    MADV_DONTNEED,
    MADV_NORMAL,
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_PRIVATE,
    MM,
    PAGE_SIZE,
    PROT_READ,
    PROT_WRITE,
    VMFlag,
)

P = PAGE_SIZE
B = 0x10000000
ANON = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED


def errno_of(fn, *args) -> int:
    with pytest.raises(OSError) as exc:
        fn(*args)
    return exc.value.errno


def test_mseal_splits_and_sets_the_flag():
    mm = MM()
    mm.mmap(B, 4 * P, PROT_READ, ANON)
    mm.mseal(B + P, 2 * P)
    assert [VMFlag.SEALED in v.vm_flags for v in mm.vmas()] == [False, True, False]
    assert "sl" in mm.smaps().split("VmFlags:")[2].split()


def test_a_hole_is_enomem_and_nothing_is_sealed():
    mm = MM()
    mm.mmap(B, P, PROT_READ, ANON)
    mm.mmap(B + 2 * P, P, PROT_READ, ANON)
    assert errno_of(mm.mseal, B, 3 * P) == errno.ENOMEM
    assert not any(VMFlag.SEALED in v.vm_flags for v in mm.vmas())


def test_bad_arguments():
    mm = MM()
    mm.mmap(B, P, PROT_READ, ANON)
    assert errno_of(mm.mseal, B, P, 1) == errno.EINVAL
    assert errno_of(mm.mseal, B + 1, P) == errno.EINVAL
    mm.mseal(B, 0)  # an empty range is a no-op
    assert VMFlag.SEALED not in mm.vmas()[0].vm_flags


def test_sealed_memory_refuses_munmap_mprotect_and_mmap_over_it():
    mm = MM()
    mm.mmap(B, 2 * P, PROT_READ | PROT_WRITE, ANON)
    mm.mseal(B, 2 * P)
    assert errno_of(mm.munmap, B, P) == errno.EPERM
    assert errno_of(mm.mprotect, B, P, PROT_READ) == errno.EPERM
    assert errno_of(mm.mmap, B, P, PROT_READ, ANON) == errno.EPERM
    assert [(v.vm_start, v.vm_end) for v in mm.vmas()] == [(B, B + 2 * P)]


def test_discarding_advice_is_refused_only_on_read_only_anonymous_memory():
    mm = MM()
    mm.mmap(B, P, PROT_READ, ANON)
    mm.mmap(B + 2 * P, P, PROT_READ | PROT_WRITE, ANON)
    mm.mseal(B, P)
    mm.mseal(B + 2 * P, P)
    assert errno_of(mm.madvise, B, P, MADV_DONTNEED) == errno.EPERM
    assert errno_of(mm.madvise, B, P, MADV_DONTFORK) == errno.EPERM
    mm.madvise(B, P, MADV_NORMAL)  # not discarding: allowed
    mm.madvise(B + 2 * P, P, MADV_DONTNEED)  # writable: the user could zero it anyway


def test_fork_keeps_the_seal_and_exit_tears_sealed_memory_down():
    mm = MM()
    mm.mmap(B, P, PROT_READ, ANON)
    mm.mseal(B, P)
    child = mm.fork()
    assert VMFlag.SEALED in child.vmas()[0].vm_flags
    child.exit()
    assert child.vmas() == []


def test_sealed_neighbours_merge():
    mm = MM()
    mm.mmap(B, P, PROT_READ, ANON)
    mm.mmap(B + P, P, PROT_WRITE, ANON)
    mm.mseal(B, P)
    mm.mprotect(B + P, P, PROT_READ)
    mm.mseal(B + P, P)
    assert len(mm.vmas()) == 1 and VMFlag.SEALED in mm.vmas()[0].vm_flags
