"""A catalogue of bad inputs run on the real kernel and on ``MM``: the errnos must match.

Each case is a short sequence (a few ordinary ops that set up state, then the bad call)
run by ``kernel_oracle`` in one subprocess for the whole catalogue, then replayed on a
fresh ``MM``. After every op the errno and the maps lines inside the window must agree,
so each case also checks that a failed call leaves the state Linux leaves. ``expect``
records what the kernel answers (checked too, so a case cannot silently stop testing
what its name says); a few inputs that look bad but that Linux accepts are kept, with
``expect`` 0, because a model that rejects them is just as wrong.
"""

from __future__ import annotations

import errno
from typing import Any

import pytest

from tests.oracle.kernel_oracle import (
    MAP_ANONYMOUS,
    MAP_DROPPABLE,
    MAP_FIXED,
    MAP_FIXED_NOREPLACE,
    MAP_GROWSDOWN,
    MAP_HUGETLB,
    MAP_LOCKED,
    MAP_NORESERVE,
    MAP_PRIVATE,
    MAP_SHARED,
    MAP_SHARED_VALIDATE,
    MAP_SYNC,
    PAGE,
    PROT_EXEC,
    PROT_GROWSDOWN,
    PROT_GROWSUP,
    PROT_NONE,
    PROT_READ,
    PROT_WRITE,
    TASK_SIZE,
    errno_name,
    format_mismatch,
    replay_on_model,
    require_model,
    run_on_kernel,
)

P = PAGE
RW = PROT_READ | PROT_WRITE
ANON = MAP_PRIVATE | MAP_ANONYMOUS
SHANON = MAP_SHARED | MAP_ANONYMOUS
U64 = 1 << 64
MAP_32BIT = 0x40


def mmap(addr: int | None, length: int, prot: int, flags: int, file: str | None = None,
         offset: int = 0, *, fd: int | None = None, addr_abs: int | None = None) -> dict:
    op = {"op": "mmap", "addr": addr, "len": length, "prot": prot, "flags": flags,
          "file": file, "offset": offset}
    if fd is not None:
        op["fd"] = fd
    if addr_abs is not None:
        op["addr_abs"] = addr_abs
    return op


def munmap(addr: int | None, length: int, *, addr_abs: int | None = None) -> dict:
    return {"op": "munmap", "addr": addr, "len": length, "addr_abs": addr_abs}


def mprotect(addr: int, length: int, prot: int) -> dict:
    return {"op": "mprotect", "addr": addr, "len": length, "prot": prot}


def touch(addr: int, write: bool = False) -> dict:
    return {"op": "touch", "addr": addr, "write": write}


RO = {"id": "ro", "size": 6 * P, "writable": False}
RW_FILE = {"id": "rw", "size": 6 * P - 100, "writable": True}

#: Common starting state: [4, 8) anon rw-p with a page touched, [12, 16) a shared file map.
BASE_STATE = [
    mmap(4 * P, 4 * P, RW, ANON | MAP_FIXED),
    touch(5 * P, write=True),
    mmap(12 * P, 4 * P, RW, MAP_SHARED | MAP_FIXED, "rw", 0),
]

# (name, files, ops, expected errno of the last op; None = whatever Linux says)
CASES: list[tuple[str, list[dict], list[dict], int | None]] = [
    # -- mmap: address, length, offset ------------------------------------------------
    ("mmap_fixed_unaligned_addr", [RW_FILE], BASE_STATE + [
        mmap(6 * P + 0x123, P, PROT_READ, ANON | MAP_FIXED)], errno.EINVAL),
    ("mmap_fixed_noreplace_unaligned_addr", [RW_FILE], BASE_STATE + [
        mmap(20 * P + 8, P, PROT_READ, ANON | MAP_FIXED_NOREPLACE)], errno.EINVAL),
    ("mmap_unaligned_offset_file", [RW_FILE], BASE_STATE + [
        mmap(20 * P, P, PROT_READ, MAP_PRIVATE | MAP_FIXED, "rw", 0x800)], errno.EINVAL),
    ("mmap_unaligned_offset_anon", [RW_FILE], BASE_STATE + [
        mmap(20 * P, P, PROT_READ, ANON | MAP_FIXED, None, 0x800)], errno.EINVAL),
    ("mmap_zero_length_anon", [RW_FILE], BASE_STATE + [
        mmap(4 * P, 0, PROT_READ, ANON | MAP_FIXED)], errno.EINVAL),
    ("mmap_zero_length_file", [RW_FILE], BASE_STATE + [
        mmap(12 * P, 0, PROT_READ, MAP_SHARED | MAP_FIXED, "rw")], errno.EINVAL),
    ("mmap_length_overflows_page_align", [RW_FILE], BASE_STATE + [
        mmap(4 * P, U64 - 1, PROT_READ, ANON | MAP_FIXED)], errno.ENOMEM),
    ("mmap_length_overflows_page_align_hint", [], [
        mmap(4 * P, U64 - P + 1, PROT_READ, ANON)], errno.ENOMEM),
    ("mmap_length_above_task_size", [], [
        mmap(4 * P, TASK_SIZE + P, PROT_READ, ANON)], errno.ENOMEM),
    ("mmap_null_length_task_size", [], [
        mmap(None, TASK_SIZE, PROT_NONE, ANON | MAP_NORESERVE)], errno.ENOMEM),
    ("mmap_fixed_at_task_size", [], [
        mmap(None, P, PROT_READ, ANON | MAP_FIXED, addr_abs=TASK_SIZE)], errno.ENOMEM),
    ("mmap_fixed_crossing_task_size", [], [
        mmap(None, 2 * P, PROT_READ, ANON | MAP_FIXED, addr_abs=TASK_SIZE - P)], errno.ENOMEM),
    ("mmap_fixed_length_past_task_size", [RW_FILE], BASE_STATE + [
        mmap(0, TASK_SIZE, PROT_NONE, ANON | MAP_FIXED)], errno.ENOMEM),
    ("mmap_offset_plus_length_overflow_file", [RW_FILE], BASE_STATE + [
        mmap(20 * P, 2 * P, PROT_READ, MAP_SHARED | MAP_FIXED, "rw", (1 << 63) - P)],
     errno.EOVERFLOW),
    ("mmap_negative_offset_file", [RW_FILE], BASE_STATE + [
        mmap(20 * P, P, PROT_READ, MAP_PRIVATE | MAP_FIXED, "rw", U64 - P)], errno.EOVERFLOW),
    ("mmap_huge_offset_anon_ignored", [], [
        mmap(20 * P, P, PROT_READ, ANON | MAP_FIXED, None, (1 << 63) - P)], 0),
    ("mmap_offset_beyond_eof_ok_then_sigbus", [RW_FILE], [
        mmap(20 * P, 2 * P, PROT_READ, MAP_SHARED | MAP_FIXED, "rw", 8 * P),
        touch(20 * P)], errno.EFAULT),
    ("mmap_unaligned_length_rounds_up", [], [
        mmap(20 * P, P + 1, PROT_READ, ANON | MAP_FIXED)], 0),
    ("mmap_unaligned_hint_rounds_up", [], [
        munmap(8 * P, 8 * P),
        mmap(10 * P - 5, P, PROT_READ, ANON)], 0),
    # -- mmap: prot ------------------------------------------------------------------
    ("mmap_prot_unknown_bit_ignored", [], [
        mmap(20 * P, P, PROT_READ | 0x100, ANON | MAP_FIXED)], 0),
    ("mmap_prot_growsdown_ignored", [], [
        mmap(20 * P, P, PROT_READ | PROT_GROWSDOWN, ANON | MAP_FIXED)], 0),
    # -- mmap: flags -----------------------------------------------------------------
    ("mmap_map_type_zero", [], [
        mmap(20 * P, P, PROT_READ, MAP_ANONYMOUS | MAP_FIXED)], errno.EINVAL),
    ("mmap_map_type_0xf", [], [
        mmap(20 * P, P, PROT_READ, 0xF | MAP_ANONYMOUS | MAP_FIXED)], errno.EINVAL),
    ("mmap_map_type_0x4", [RW_FILE], [
        mmap(20 * P, P, PROT_READ, 0x4 | MAP_FIXED, "rw")], errno.EINVAL),
    ("mmap_droppable_file", [RW_FILE], [
        mmap(20 * P, P, PROT_READ, MAP_DROPPABLE | MAP_FIXED, "rw")], errno.EINVAL),
    ("mmap_shared_validate_unknown_flag_file", [RW_FILE], BASE_STATE + [
        mmap(20 * P, P, PROT_READ, MAP_SHARED_VALIDATE | MAP_FIXED | 0x200, "rw")],
     errno.EOPNOTSUPP),
    ("mmap_shared_validate_map_sync_regular_file", [RW_FILE], BASE_STATE + [
        mmap(20 * P, P, PROT_READ, MAP_SHARED_VALIDATE | MAP_FIXED | MAP_SYNC, "rw")],
     errno.EOPNOTSUPP),
    # MAP_FIXED_NOREPLACE is not in LEGACY_MAP_MASK: refused by MAP_SHARED_VALIDATE, but
    # only once get_unmapped_area found the range free.
    ("mmap_shared_validate_fixed_noreplace_file_in_hole", [RW_FILE], BASE_STATE + [
        munmap(20 * P, 2 * P),
        mmap(20 * P, P, PROT_READ, MAP_SHARED_VALIDATE | MAP_FIXED_NOREPLACE, "rw")],
     errno.EOPNOTSUPP),
    ("mmap_shared_validate_fixed_noreplace_file_over_map", [RW_FILE], BASE_STATE + [
        mmap(20 * P, P, PROT_READ, MAP_SHARED_VALIDATE | MAP_FIXED_NOREPLACE, "rw")],
     errno.EEXIST),
    ("mmap_shared_validate_anon", [], [
        mmap(20 * P, P, PROT_READ, MAP_SHARED_VALIDATE | MAP_ANONYMOUS | MAP_FIXED)],
     errno.EINVAL),
    ("mmap_shared_validate_unknown_flag_anon", [], [
        mmap(20 * P, P, PROT_READ, MAP_SHARED_VALIDATE | MAP_ANONYMOUS | MAP_FIXED | 0x200)],
     errno.EINVAL),
    ("mmap_droppable_anon_ok", [], [
        munmap(20 * P, 2 * P),
        mmap(20 * P, P, RW, MAP_DROPPABLE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE)], 0),
    ("mmap_shared_plain_unknown_flag_ignored", [RW_FILE], [
        mmap(20 * P, P, PROT_READ, MAP_SHARED | MAP_FIXED | 0x200, "rw")], 0),
    # vm.nr_hugepages is 0 on the test machine: no huge page can be reserved.
    ("mmap_hugetlb_anon_fixed_unaligned", [], [
        mmap(20 * P, P, RW, ANON | MAP_HUGETLB | MAP_FIXED)], errno.EINVAL),
    ("mmap_hugetlb_1gb_anon", [], [
        mmap(None, P, RW, ANON | MAP_HUGETLB | (30 << 26))], errno.ENOMEM),
    ("mmap_hugetlb_anon_empty_pool", [], [
        mmap(None, P, RW, ANON | MAP_HUGETLB)], errno.ENOMEM),
    ("mmap_hugetlb_anon_noreserve_ok", [], [
        mmap(None, P, RW, ANON | MAP_HUGETLB | MAP_NORESERVE)], 0),
    ("mmap_hugetlb_unsupported_size", [], [
        mmap(None, P, RW, ANON | MAP_HUGETLB | (25 << 26))], errno.EINVAL),
    ("mmap_hugetlb_regular_file", [RW_FILE], [
        mmap(20 * P, P, PROT_READ, MAP_SHARED | MAP_HUGETLB | MAP_FIXED, "rw")], errno.EINVAL),
    ("mmap_32bit_ignores_hint", [], [
        munmap(8 * P, 8 * P),
        mmap(10 * P, P, PROT_READ, ANON | MAP_32BIT)], 0),
    ("mmap_growsdown_private_then_hint_below_in_guard_gap", [], [
        munmap(0, 20 * P),
        mmap(16 * P, 2 * P, RW, ANON | MAP_GROWSDOWN | MAP_FIXED),
        mmap(8 * P, P, PROT_READ, ANON)], 0),
    ("mprotect_growsdown_on_growsdown_vma", [], [
        mmap(16 * P, 4 * P, RW, ANON | MAP_GROWSDOWN | MAP_FIXED),
        mprotect(18 * P, P, PROT_READ | PROT_GROWSDOWN)], 0),
    ("mprotect_write_on_locked_private_populates", [RW_FILE], [
        mmap(20 * P, 3 * P, PROT_READ, MAP_PRIVATE | MAP_LOCKED | MAP_FIXED, "rw"),
        mprotect(20 * P, 2 * P, RW)], 0),
    ("mmap_growsdown_shared_anon", [], [
        mmap(20 * P, P, RW, SHANON | MAP_GROWSDOWN | MAP_FIXED)], errno.EINVAL),
    ("mmap_no_anonymous_no_file_ebadf", [], [
        mmap(20 * P, P, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd=-1)], errno.EBADF),
    ("mmap_anonymous_ignores_fd", [RW_FILE], [
        mmap(20 * P, 2 * P, RW, SHANON | MAP_FIXED, "rw")], 0),
    # -- mmap: permissions -----------------------------------------------------------
    ("mmap_write_shared_readonly_file", [RO], [
        mmap(20 * P, P, RW, MAP_SHARED | MAP_FIXED, "ro")], errno.EACCES),
    ("mmap_write_shared_validate_readonly_file", [RO], [
        mmap(20 * P, P, RW, MAP_SHARED_VALIDATE | MAP_FIXED, "ro")], errno.EACCES),
    ("mmap_write_shared_readonly_file_leaves_old_map", [RO, RW_FILE], BASE_STATE + [
        mmap(4 * P, 4 * P, RW, MAP_SHARED | MAP_FIXED, "ro")], errno.EACCES),
    ("mmap_write_private_readonly_file_ok", [RO], [
        mmap(20 * P, 2 * P, RW, MAP_PRIVATE | MAP_FIXED, "ro"),
        touch(20 * P, write=True)], 0),
    # -- mmap: MAP_FIXED_NOREPLACE -----------------------------------------------------
    ("mmap_fixed_noreplace_over_mapping", [RW_FILE], BASE_STATE + [
        mmap(4 * P, 4 * P, PROT_READ, ANON | MAP_FIXED_NOREPLACE)], errno.EEXIST),
    ("mmap_fixed_noreplace_partial_overlap", [RW_FILE], BASE_STATE + [
        munmap(0, 4 * P),
        mmap(2 * P, 4 * P, PROT_READ, ANON | MAP_FIXED_NOREPLACE)], errno.EEXIST),
    ("mmap_fixed_noreplace_over_reservation", [], [
        mmap(20 * P, P, PROT_READ, ANON | MAP_FIXED_NOREPLACE)], errno.EEXIST),
    ("mmap_fixed_noreplace_into_hole_ok", [RW_FILE], BASE_STATE + [
        munmap(20 * P, 4 * P),
        mmap(21 * P, 2 * P, PROT_READ, ANON | MAP_FIXED_NOREPLACE)], 0),
    ("mmap_fixed_and_fixed_noreplace_over_mapping", [RW_FILE], BASE_STATE + [
        mmap(12 * P, P, PROT_READ, ANON | MAP_FIXED | MAP_FIXED_NOREPLACE)], errno.EEXIST),
    # -- munmap ----------------------------------------------------------------------------
    ("munmap_unaligned", [RW_FILE], BASE_STATE + [munmap(4 * P + 1, P)], errno.EINVAL),
    ("munmap_zero_length", [RW_FILE], BASE_STATE + [munmap(4 * P, 0)], errno.EINVAL),
    ("munmap_start_above_task_size", [], [
        munmap(None, P, addr_abs=TASK_SIZE + P)], errno.EINVAL),
    ("munmap_crossing_task_size", [], [
        munmap(None, 2 * P, addr_abs=TASK_SIZE - P)], errno.EINVAL),
    ("munmap_length_above_task_size", [RW_FILE], BASE_STATE + [
        munmap(4 * P, TASK_SIZE)], errno.EINVAL),
    ("munmap_length_overflow", [RW_FILE], BASE_STATE + [munmap(4 * P, U64 - 1)], errno.EINVAL),
    ("munmap_of_a_hole_ok", [RW_FILE], BASE_STATE + [
        munmap(20 * P, 4 * P), munmap(20 * P, 4 * P)], 0),
    # -- mprotect -------------------------------------------------------------------------
    ("mprotect_unaligned", [RW_FILE], BASE_STATE + [
        mprotect(4 * P + 0x10, P, PROT_READ)], errno.EINVAL),
    ("mprotect_zero_length_ok", [RW_FILE], BASE_STATE + [
        mprotect(4 * P, 0, PROT_READ)], 0),
    ("mprotect_zero_length_unmapped_ok", [RW_FILE], BASE_STATE + [
        munmap(20 * P, 4 * P), mprotect(21 * P, 0, PROT_READ)], 0),
    ("mprotect_length_overflow", [RW_FILE], BASE_STATE + [
        mprotect(4 * P, U64 - 1, PROT_READ)], errno.ENOMEM),
    ("mprotect_of_unmapped", [RW_FILE], BASE_STATE + [
        munmap(20 * P, 4 * P), mprotect(21 * P, P, PROT_READ)], errno.ENOMEM),
    ("mprotect_starting_in_hole", [RW_FILE], BASE_STATE + [
        munmap(0, 4 * P), mprotect(2 * P, 4 * P, PROT_READ)], errno.ENOMEM),
    ("mprotect_over_hole_partial_application", [RW_FILE], BASE_STATE + [
        munmap(8 * P, 2 * P), mprotect(6 * P, 8 * P, PROT_READ)], errno.ENOMEM),
    ("mprotect_over_hole_partial_application_merges", [RW_FILE], BASE_STATE + [
        mprotect(2 * P, 2 * P, PROT_READ),
        munmap(10 * P, P), mprotect(4 * P, 8 * P, PROT_NONE)], errno.ENOMEM),
    ("mprotect_unknown_bit_0x100", [RW_FILE], BASE_STATE + [
        mprotect(4 * P, P, PROT_READ | 0x100)], errno.EINVAL),
    ("mprotect_prot_sem_accepted", [RW_FILE], BASE_STATE + [
        mprotect(4 * P, P, PROT_READ | 0x8)], 0),
    ("mprotect_growsdown_on_plain_vma", [RW_FILE], BASE_STATE + [
        mprotect(4 * P, P, PROT_READ | PROT_GROWSDOWN)], errno.EINVAL),
    ("mprotect_growsup_x86", [RW_FILE], BASE_STATE + [
        mprotect(4 * P, P, PROT_READ | PROT_GROWSUP)], errno.EINVAL),
    ("mprotect_growsdown_and_growsup", [RW_FILE], BASE_STATE + [
        mprotect(4 * P, P, PROT_READ | PROT_GROWSDOWN | PROT_GROWSUP)], errno.EINVAL),
    ("mprotect_write_on_readonly_shared_file", [RO], [
        mmap(20 * P, 2 * P, PROT_READ, MAP_SHARED | MAP_FIXED, "ro"),
        mprotect(20 * P, 2 * P, RW)], errno.EACCES),
    ("mprotect_write_on_readonly_shared_file_spanning", [RO], [
        mmap(18 * P, 2 * P, RW, ANON | MAP_FIXED),
        mmap(20 * P, 2 * P, PROT_READ, MAP_SHARED | MAP_FIXED, "ro"),
        mprotect(18 * P, 4 * P, RW | PROT_EXEC)], errno.EACCES),
    ("mprotect_exec_on_readonly_shared_file_ok", [RO], [
        mmap(20 * P, 2 * P, PROT_READ, MAP_SHARED | MAP_FIXED, "ro"),
        mprotect(20 * P, P, PROT_READ | PROT_EXEC)], 0),
    # -- which check comes first ----------------------------------------------------------
    ("order_mprotect_zero_length_bad_bits", [RW_FILE], BASE_STATE + [
        mprotect(4 * P, 0, PROT_READ | 0x100)], 0),
    ("order_mprotect_overflow_bad_bits", [RW_FILE], BASE_STATE + [
        mprotect(4 * P, U64 - 1, PROT_READ | 0x100)], errno.ENOMEM),
    ("order_mprotect_unaligned_growsdown_growsup", [RW_FILE], BASE_STATE + [
        mprotect(4 * P + 1, P, PROT_READ | PROT_GROWSDOWN | PROT_GROWSUP)], errno.EINVAL),
    ("order_mmap_bad_fd_bad_type", [], [
        mmap(20 * P, P, PROT_READ, 0xF | MAP_FIXED, fd=-1)], errno.EBADF),
    ("order_mmap_unaligned_offset_bad_fd", [], [
        mmap(20 * P, P, PROT_READ, MAP_PRIVATE | MAP_FIXED, None, 0x10, fd=-1)], errno.EINVAL),
    ("order_mmap_zero_length_bad_fd", [], [
        mmap(20 * P, 0, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd=-1)], errno.EBADF),
    ("order_mmap_noreplace_over_map_write_shared_readonly", [RO], [
        mmap(20 * P, P, RW, MAP_SHARED | MAP_FIXED_NOREPLACE, "ro")], errno.EEXIST),
    ("order_mmap_validate_unknown_flag_write_readonly", [RO], [
        munmap(20 * P, P),
        mmap(20 * P, P, RW, MAP_SHARED_VALIDATE | MAP_FIXED | 0x200, "ro")],
     errno.EOPNOTSUPP),
    ("order_mmap_zero_length_bad_type", [], [
        mmap(20 * P, 0, PROT_READ, 0xF | MAP_ANONYMOUS | MAP_FIXED)], errno.EINVAL),
    ("order_mmap_fixed_unaligned_zero_length", [], [
        mmap(20 * P + 1, 0, PROT_READ, ANON | MAP_FIXED)], errno.EINVAL),
    ("order_mmap_overflow_offset_write_shared_readonly", [RO], [
        mmap(20 * P, P, RW, MAP_SHARED | MAP_FIXED, "ro", U64 - P)], errno.EOVERFLOW),
    # -- touches (faults) -------------------------------------------------------------------
    ("touch_write_readonly_mapping", [RW_FILE], BASE_STATE + [
        mprotect(4 * P, P, PROT_READ), touch(4 * P, write=True)], errno.EFAULT),
    ("touch_prot_none", [], [touch(3 * P)], errno.EFAULT),
    ("touch_unmapped", [], [munmap(3 * P, P), touch(3 * P, write=True)], errno.EFAULT),
    ("touch_partial_last_file_page_ok", [RW_FILE], [
        mmap(20 * P, 8 * P, PROT_READ, MAP_PRIVATE | MAP_FIXED, "rw"),
        touch(25 * P + 8)], 0),
    ("touch_beyond_eof_sigbus", [RW_FILE], [
        mmap(20 * P, 8 * P, RW, MAP_PRIVATE | MAP_FIXED, "rw"),
        touch(26 * P, write=True)], errno.EFAULT),
]


def _sequence(name: str, files: list[dict], ops: list[dict]) -> dict[str, Any]:
    clean = [{k: v for k, v in op.items() if v is not None or k in ("addr", "file")}
             for op in ops]
    return {"name": name, "files": files, "ops": clean}


@pytest.fixture(scope="module")
def kernel_catalogue() -> dict[str, Any]:
    batch = run_on_kernel([_sequence(n, f, o) for n, f, o, _ in CASES])
    batch["by_name"] = {s["name"]: s for s in batch["sequences"]}
    return batch


def test_catalogue_is_large_enough() -> None:
    assert len(CASES) >= 30
    assert len({c[0] for c in CASES}) == len(CASES), "case names must be unique"


@pytest.mark.parametrize(("name", "expected"), [(c[0], c[3]) for c in CASES],
                         ids=[c[0] for c in CASES])
def test_bad_input(name: str, expected: int | None, kernel_catalogue: dict[str, Any]) -> None:
    kres = kernel_catalogue["by_name"][name]
    last = kres["results"][-1]
    if expected is not None:
        assert last["errno"] == expected, (
            f"catalogue out of date: the kernel answers {errno_name(last['errno'])}, "
            f"the case expects {errno_name(expected)}"
        )
    for op, res in zip(kres["ops"][:-1], kres["results"][:-1], strict=True):
        if not op.get("setup"):
            assert res["errno"] == 0 or op["op"] == "touch", (
                f"setup op failed on the kernel: {op} -> {errno_name(res['errno'])}"
            )
    require_model()
    mismatch = replay_on_model(kres, kernel_catalogue)
    assert mismatch is None, "\n" + format_mismatch(mismatch)
