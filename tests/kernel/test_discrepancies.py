"""The review's discrepancies (shared/reviews/fidelity.md, D1-D11 and C3-C6), each pinned
to what the kernel does (mm/vma.c, mm/mmap.c, mm/memory.c, mm/util.c @334fbe73 and the v4
series).  Each test names its id; /work/wt/fidelity_D_table.md lists them.
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
    PROT_READ,
    PROT_WRITE,
    File,
    FileOperations,
    FMode,
    Inode,
    VmOperationsStruct,
)
from mmaplab.kernel.fs import get_file

P = PAGE_SIZE
BASE = 0x7F0000000000
RW = PROT_READ | PROT_WRITE


def _counting_file() -> tuple[File, list[str]]:
    calls: list[str] = []

    def mapped(start, end, pgoff, file, priv):
        calls.append(f"mapped {(end - start) // P}p pgoff={pgoff}")
        return 0

    ops = VmOperationsStruct(name="d1_vm_ops", mapped=mapped)

    def prepare(desc):
        desc.vm_ops = ops
        return 0

    fops = FileOperations(name="d1_fops", mmap_prepare=prepare)
    return File(Inode("/dev/d1", 64 * P), fops, FMode.READ | FMode.WRITE), calls


def test_d1_failed_merge_prealloc_builds_an_unmerged_vma():
    """D1: __mmap_region() ignores VMA_MERGE_ERROR_NOMEM and goes on to __mmap_new_vma()."""
    file, calls = _counting_file()
    mm = MM()
    mm.mmap(BASE, 2 * P, RW, MAP_SHARED | MAP_FIXED, file, 0)
    with mm.injecting("vma_iter_prealloc", 1):  # the merge's; the new VMA's own succeeds
        assert mm.mmap(BASE + 2 * P, 2 * P, RW, MAP_SHARED | MAP_FIXED, file, 2 * P) \
            == BASE + 2 * P
    assert [(v.vm_start - BASE, v.vm_end - BASE) for v in mm.vmas()] == [(0, 2 * P),
                                                                          (2 * P, 4 * P)]
    assert calls == ["mapped 2p pgoff=0", "mapped 2p pgoff=2"]


def test_d1_anonymous_mmap_too():
    mm = MM()
    mm.mmap(BASE, P, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED)
    with mm.injecting("vma_iter_prealloc", 1):
        mm.mmap(BASE + P, P, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED)
    assert len(mm.vmas()) == 2 and mm.committed_pages == 2


def test_d3_swapped_vm_file_reference_is_dropped_when_vma_alloc_fails():
    """D3: the abort path fputs the file mmap_prepare swapped in (file_doesnt_need_get)."""
    backing = File(Inode("/backing", 16 * P), FileOperations(
        name="backing_fops", mmap_prepare=lambda desc: 0), FMode.READ | FMode.WRITE)

    def prepare(desc):
        desc.vm_file = get_file(backing)
        return 0

    outer = File(Inode("/dev/stacked", 16 * P), FileOperations(
        name="stacked_fops", mmap_prepare=prepare), FMode.READ | FMode.WRITE)
    mm = MM()
    for point in ("vm_area_alloc", "vma_iter_prealloc"):
        with mm.injecting(point), pytest.raises(OSError) as ei:
            mm.mmap(BASE, 2 * P, RW, MAP_SHARED | MAP_FIXED, outer, 0)
        assert ei.value.errno == errno.ENOMEM
        assert backing.f_count == 1 and outer.f_count == 1
    mm.mmap(BASE, 2 * P, RW, MAP_SHARED | MAP_FIXED, outer, 0)
    assert backing.f_count == 2 and outer.f_count == 1  # the VMA owns the swapped reference
