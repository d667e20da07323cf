"""``mm_populate()`` ignores errors (``__mm_populate(..., ignore_errors=1)``, mm/gup.c 7.0).

mmap with MAP_POPULATE or MAP_LOCKED, mlockall(MCL_CURRENT), brk and mremap of a locked
mapping pre-fault after the mapping is made; a page that cannot be faulted in is passed
over and the call still succeeds, its mapping in place.  Only mlock reports the error.
A fault handler that is broken (negative errno, garbage, raises) is still named: the
model records the report in ``mm.warnings``, where the mmap's caller can see it.
"""

from __future__ import annotations

import errno

import pytest

from mmaplab import (
    MAP_LOCKED,
    MAP_POPULATE,
    MAP_PRIVATE,
    MAP_SHARED,
    MCL_CURRENT,
    MM,
    PAGE_SIZE,
    PROT_READ,
    File,
    FileOperations,
    FMode,
    Inode,
    VmOperationsStruct,
)
from mmaplab.kernel.filemap import VM_FAULT_OOM, VM_FAULT_SIGBUS
from mmaplab.kernel.page_alloc import alloc_page

P = PAGE_SIZE


class Boom(Exception):
    pass


def _file(fault, calls: list[int]) -> File:
    def counted(vmf):
        calls.append(vmf.pgoff)
        if isinstance(fault, type):
            raise fault("from the fault handler")
        if fault == 0:
            vmf.page = alloc_page("driver")
        return fault

    ops = VmOperationsStruct(name="pop", fault=counted)

    def prepare(desc):
        desc.vm_ops = ops
        return 0

    return File(Inode("/dev/pop", 16 * P, dev=(10, 7)),
                FileOperations(name="pop", mmap_prepare=prepare), FMode.READ | FMode.WRITE)


@pytest.mark.parametrize("fault", [VM_FAULT_SIGBUS, VM_FAULT_OOM, -errno.ENOMEM, "x", None,
                                   Boom, OSError])
@pytest.mark.parametrize("flags", [MAP_POPULATE, MAP_LOCKED])
def test_mmap_returns_the_address_and_keeps_the_vma_when_populate_fails(fault, flags):
    calls: list[int] = []
    f = _file(fault, calls)
    mm = MM()
    addr = mm.mmap(None, 3 * P, PROT_READ, MAP_SHARED | flags, f)
    [vma] = mm.vmas()
    assert (vma.vm_start, vma.vm_end) == (addr, addr + 3 * P)
    assert f.f_count == 2  # ours + the VMA's
    # the first failing page stops this VMA's populate (the rest is passed over)
    assert calls == [0] and len(mm.pagetable.entries()) == 0
    # None is a 0 without a page: SIGBUS, as VM_FAULT_SIGBUS; the rest are broken hooks
    broken = fault in (-errno.ENOMEM, "x", Boom, OSError)
    reports = [w for w in mm.warnings if w.startswith("__mm_populate ignored")]
    assert len(reports) == (1 if broken else 0)
    if broken:
        assert "pop->fault" in reports[0]
    mm.munmap(addr, 3 * P)
    assert f.f_count == 1


def test_a_good_fault_handler_is_populated_in_full():
    calls: list[int] = []
    mm = MM()
    mm.mmap(None, 3 * P, PROT_READ, MAP_SHARED | MAP_POPULATE, _file(0, calls))
    assert calls == [0, 1, 2] and len(mm.pagetable.entries()) == 3 and mm.warnings == []


def test_mlockall_current_ignores_populate_errors_but_mlock_reports_them():
    mm = MM()
    addr = mm.mmap(None, 2 * P, PROT_READ, MAP_PRIVATE, _file(-errno.EIO, []))
    mm.mlockall(MCL_CURRENT)  # no error
    assert mm.locked_vm == 2 and len(mm.warnings) == 1
    mm.munlockall()
    with pytest.raises(OSError) as ei:
        mm.mlock(addr, 2 * P)
    assert "pop->fault" in str(ei.value)  # the broken hook is named
