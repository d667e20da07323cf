"""mlock/mlock2/munlock/mlockall/munlockall (mm/mlock.c, Linux 7.0) and smaps Locked:."""

from __future__ import annotations

import errno

import pytest

from mmaplab import (
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_PRIVATE,
    MAP_SHARED,
    MCL_CURRENT,
    MCL_FUTURE,
    MCL_ONFAULT,
    MLOCK_ONFAULT,
    MM,
    PAGE_SIZE,
    PROT_NONE,
    PROT_READ,
    PROT_WRITE,
    RegularFile,
    VMFlag,
)
from tests.kernel.test_madvise import special_file

P = PAGE_SIZE
B = 0x10000000
RW = PROT_READ | PROT_WRITE
ANON = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED


def smaps_field(mm: MM, name: str) -> list[int]:
    return [int(line.split()[1]) for line in mm.smaps().splitlines()
            if line.startswith(name + ":")]


def test_mlock_rounds_out_splits_locks_and_populates():
    mm = MM()
    mm.mmap(B, 8 * P, RW, ANON)
    mm.mlock(B + 2 * P + 100, P)  # an unaligned start: two pages
    vmas = mm.vmas()
    assert [(v.vm_start - B) // P for v in vmas] == [0, 2, 4]
    assert VMFlag.LOCKED in vmas[1].vm_flags and mm.locked_vm == 2
    assert len(mm.pagetable.entries(B + 2 * P, B + 4 * P)) == 2  # populated (write faults)
    assert smaps_field(mm, "Locked") == [0, 8, 0]
    mm.munlock(B, 8 * P)
    assert len(mm.vmas()) == 1 and mm.locked_vm == 0
    assert len(mm.pagetable.entries(B, B + 8 * P)) == 2  # munlock does not drop pages


def test_mlock2_onfault_locks_without_populating():
    mm = MM()
    mm.mmap(B, 4 * P, RW, ANON)
    mm.mlock2(B, 4 * P, MLOCK_ONFAULT)
    assert mm.vmas()[0].vm_flags & (VMFlag.LOCKED | VMFlag.LOCKONFAULT) == (
        VMFlag.LOCKED | VMFlag.LOCKONFAULT)
    assert mm.pagetable.entries(B, B + 4 * P) == {}
    with pytest.raises(OSError) as exc:
        mm.mlock2(B, P, 2)
    assert exc.value.errno == errno.EINVAL


def test_mlock_of_prot_none_sets_the_flag_then_fails_enomem():
    mm = MM()
    mm.mmap(B, 2 * P, PROT_NONE, ANON)
    with pytest.raises(OSError) as exc:
        mm.mlock(B, 2 * P)
    assert exc.value.errno == errno.ENOMEM  # gup's EFAULT, as __mlock_posix_error_return says
    assert VMFlag.LOCKED in mm.vmas()[0].vm_flags


def test_mlock_beyond_eof_populates_what_exists_and_fails():
    mm = MM()
    f = RegularFile("/data", P)
    mm.mmap(B, 3 * P, PROT_READ, MAP_PRIVATE | MAP_FIXED, f, 0)
    with pytest.raises(OSError) as exc:
        mm.mlock(B, 3 * P)
    assert exc.value.errno == errno.ENOMEM
    assert sorted(mm.pagetable.entries(B, B + 3 * P)) == [B]


def test_a_hole_stops_mlock_with_enomem_keeping_earlier_vmas_locked():
    mm = MM()
    mm.mmap(B, 2 * P, RW, ANON)
    mm.mmap(B + 3 * P, 2 * P, RW, ANON)
    with pytest.raises(OSError) as exc:
        mm.mlock(B, 5 * P)
    assert exc.value.errno == errno.ENOMEM
    assert [VMFlag.LOCKED in v.vm_flags for v in mm.vmas()] == [True, False]
    with pytest.raises(OSError) as exc:
        mm.mlock(B + 2 * P, P)  # starts in the hole: nothing is done
    assert exc.value.errno == errno.ENOMEM


def test_special_mappings_are_skipped_silently():
    mm = MM()
    mm.mmap(B, P, PROT_READ, MAP_SHARED | MAP_FIXED, special_file(VMFlag.IO | VMFlag.PFNMAP), 0)
    mm.mlock(B, P)
    assert VMFlag.LOCKED not in mm.vmas()[0].vm_flags and mm.locked_vm == 0


def test_rlimit_memlock_without_cap_ipc_lock():
    mm = MM(rlimit_memlock=2 * P)
    mm.mmap(B, 4 * P, RW, ANON)
    mm.mlock(B, 2 * P)
    mm.mlock(B, 2 * P)  # already locked pages do not count twice
    with pytest.raises(OSError) as exc:
        mm.mlock(B, 3 * P)
    assert exc.value.errno == errno.ENOMEM
    assert MM(rlimit_memlock=2 * P, cap_ipc_lock=True).locked_vm == 0
    privileged = MM(rlimit_memlock=2 * P, cap_ipc_lock=True)
    privileged.mmap(B, 4 * P, RW, ANON)
    privileged.mlock(B, 4 * P)
    assert privileged.locked_vm == 4
    none = MM(rlimit_memlock=0)
    with pytest.raises(OSError) as exc:
        none.mlock(B, P)
    assert exc.value.errno == errno.EPERM


def test_mlockall_future_locks_and_populates_new_mappings():
    mm = MM()
    mm.mmap(B, 2 * P, RW, ANON)
    mm.mlockall(MCL_FUTURE)
    assert VMFlag.LOCKED not in mm.vmas()[0].vm_flags  # MCL_FUTURE only
    mm.mmap(B + 4 * P, 2 * P, RW, ANON)
    new = mm.find_vma(B + 4 * P)
    assert VMFlag.LOCKED in new.vm_flags
    assert len(mm.pagetable.entries(B + 4 * P, B + 6 * P)) == 2
    mm.munlockall()
    assert mm.def_flags == VMFlag.NONE and mm.locked_vm == 0
    assert all(VMFlag.LOCKED not in v.vm_flags for v in mm.vmas())


def test_mlockall_current_onfault_and_bad_flags():
    mm = MM()
    mm.mmap(B, 2 * P, RW, ANON)
    mm.mlockall(MCL_CURRENT | MCL_ONFAULT)
    assert VMFlag.LOCKONFAULT in mm.vmas()[0].vm_flags
    assert mm.pagetable.entries(B, B + 2 * P) == {}
    for bad in (0, MCL_ONFAULT, 8):
        with pytest.raises(OSError) as exc:
            mm.mlockall(bad)
        assert exc.value.errno == errno.EINVAL


def test_mlockall_current_over_the_limit_is_enomem():
    mm = MM(rlimit_memlock=P)
    mm.mmap(B, 2 * P, RW, ANON)
    with pytest.raises(OSError) as exc:
        mm.mlockall(MCL_CURRENT)
    assert exc.value.errno == errno.ENOMEM
    mm.mlockall(MCL_FUTURE)  # MCL_FUTURE alone is not checked against the size
    assert VMFlag.LOCKED in mm.def_flags


def test_fork_does_not_inherit_locks():
    mm = MM()
    mm.mmap(B, 2 * P, RW, ANON)
    mm.mlockall(MCL_CURRENT | MCL_FUTURE)
    child = mm.fork()
    assert VMFlag.LOCKED not in child.vmas()[0].vm_flags
    assert child.def_flags == VMFlag.NONE and child.locked_vm == 0


def test_smaps_shows_vmflags_and_sizes():
    mm = MM()
    mm.mmap(B, 2 * P, RW, ANON)
    mm.mlock(B, 2 * P)
    block = mm.smaps().splitlines()
    assert block[0] == mm.maps().splitlines()[0]
    assert "Size:                  8 kB" in block
    assert block[-1].startswith("VmFlags: rd wr mr mw me lo ac")


# -- mlock_future_ok() on the mmap path (do_mmap(), mm/mmap.c, 7.0) ---------------------

def test_map_locked_over_rlimit_memlock_is_eagain_before_anything_is_mapped():
    from mmaplab import MAP_LOCKED

    mm = MM(rlimit_memlock=4 * P)
    mm.mmap(B, 3 * P, RW, ANON | MAP_LOCKED)
    assert mm.locked_vm == 3
    with pytest.raises(OSError) as exc:
        mm.mmap(B + 8 * P, 2 * P, RW, ANON | MAP_LOCKED)  # 3 + 2 > 4
    assert exc.value.errno == errno.EAGAIN and "RLIMIT_MEMLOCK" in str(exc.value)
    assert len(mm.vmas()) == 1
    # MAP_FIXED over the locked pages: the kernel does not subtract them (3 + 3 > 4)
    with pytest.raises(OSError) as exc:
        mm.mmap(B, 3 * P, RW, ANON | MAP_LOCKED)
    assert exc.value.errno == errno.EAGAIN and mm.locked_vm == 3
    assert mm.mmap(B + 8 * P, P, RW, ANON | MAP_LOCKED) == B + 8 * P  # 3 + 1 fits
    # an unlocked mapping is not limited
    assert mm.mmap(B + 16 * P, 8 * P, RW, ANON) == B + 16 * P


def test_mlockall_future_makes_big_mmaps_eagain_and_cap_ipc_lock_lifts_it():
    mm = MM(rlimit_memlock=2 * P)
    mm.mlockall(MCL_FUTURE)
    with pytest.raises(OSError) as exc:
        mm.mmap(B, 3 * P, RW, ANON)
    assert exc.value.errno == errno.EAGAIN and mm.vmas() == []
    mm = MM(rlimit_memlock=2 * P, cap_ipc_lock=True)
    mm.mlockall(MCL_FUTURE)
    assert mm.mmap(B, 3 * P, RW, ANON) == B and mm.locked_vm == 3


def test_map_locked_with_zero_rlimit_memlock_is_eperm():
    from mmaplab import MAP_LOCKED

    mm = MM(rlimit_memlock=0)
    with pytest.raises(OSError) as exc:
        mm.mmap(B, P, RW, ANON | MAP_LOCKED)
    assert exc.value.errno == errno.EPERM and mm.vmas() == []
    assert MM(rlimit_memlock=0, cap_ipc_lock=True).mmap(B, P, RW, ANON | MAP_LOCKED) == B


def test_brk_and_mremap_check_mlock_future_ok_too():
    from mmaplab import MAP_LOCKED, MREMAP_MAYMOVE

    mm = MM(rlimit_memlock=3 * P)
    mm.mmap(B, 2 * P, RW, ANON | MAP_LOCKED)
    with pytest.raises(OSError) as exc:
        mm.mremap(B, 2 * P, 4 * P, MREMAP_MAYMOVE)  # 2 + 2 > 3
    assert exc.value.errno == errno.EAGAIN
    mm.munmap(B, 2 * P)
    mm.mlockall(MCL_FUTURE)
    brk = mm.brk(0)
    assert mm.brk(brk + 4 * P) == brk  # check_brk_limits(): refused, the break stays
    assert mm.brk(brk + 3 * P) == brk + 3 * P
