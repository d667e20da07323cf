"""Anonymous huge-page mappings (MAP_HUGETLB) on a machine with no huge pages reserved.

Models ``ksys_mmap_pgoff()``'s MAP_HUGETLB branch (mm/mmap.c):
``hstate_sizelog()`` picks the page size from ``MAP_HUGE_*`` (EINVAL if the
size is not one the kernel knows), ``hugetlb_file_setup()`` makes an unlinked
file named ``anon_hugepage``, ``hugetlb_get_unmapped_area()`` needs huge-page
alignment (EINVAL for an unaligned MAP_FIXED), and ``hugetlbfs_file_mmap()``
(fs/hugetlbfs/inode.c) reserves pages — ENOMEM with ``vm.nr_hugepages`` at 0,
the default, unless MAP_NORESERVE skips the reservation.  Linux 6.18.
"""

from __future__ import annotations

import errno

from .errors import kerr
from .flags import MAP_FIXED, MAP_HUGE_SHIFT, PAGE_SHIFT, PMD_SIZE
from .fs import File, FileOperations, FMode, Inode
from .mm_types import MmStruct, VmAreaDesc, vma_desc_set_flags, vma_desc_test
from .mmap import vm_unmapped_area_topdown
from .vma_flags import VMA_DONTEXPAND_BIT, VMA_HUGETLB_BIT, VMA_NORESERVE_BIT

__all__ = ["hugetlb_file_setup", "huge_page_size_for"]

MAP_HUGE_MASK = 0x3F
#: Huge page sizes this x86-64 machine registers (``hstate``s): 2 MiB and 1 GiB.
_HSTATES = {21: PMD_SIZE, 30: 1 << 30}
#: Device numbers of the internal hugetlbfs mount as /proc/<pid>/maps shows them.
HUGETLBFS_DEV = (0, 0x0F)


def huge_page_size_for(flags: int) -> int:
    """``hstate_sizelog()``: the huge page size MAP_HUGE_* asks for (0 = default 2 MiB)."""
    log = (flags >> MAP_HUGE_SHIFT) & MAP_HUGE_MASK
    if log == 0:
        return PMD_SIZE
    if log not in _HSTATES:
        raise kerr(errno.EINVAL, f"no huge page size of 2^{log} bytes on this machine")
    return _HSTATES[log]


def _hugetlbfs_mmap_prepare(desc: VmAreaDesc) -> int:
    """``hugetlbfs_file_mmap()``: mark the VMA and reserve pages (none are available)."""
    hsize = desc.file.f_inode.i_size
    if desc.pgoff & ((hsize >> PAGE_SHIFT) - 1):
        return -errno.EINVAL
    vma_desc_set_flags(desc, VMA_HUGETLB_BIT, VMA_DONTEXPAND_BIT)
    if not vma_desc_test(desc, VMA_NORESERVE_BIT):
        return -errno.ENOMEM  # hugetlb_reserve_pages(): vm.nr_hugepages is 0
    return 0


def _hugetlb_get_unmapped_area(mm: MmStruct, file: File, addr: int, length: int, pgoff: int,
                               flags: int) -> int:
    """``hugetlb_get_unmapped_area()``: everything aligned to the huge page size."""
    hsize = file.f_inode.i_size
    if length & (hsize - 1):
        raise kerr(errno.EINVAL, "length is not a multiple of the huge page size")
    if flags & MAP_FIXED:
        if addr & (hsize - 1):
            raise kerr(errno.EINVAL, f"MAP_FIXED address {addr:#x} is not huge-page aligned")
        return addr
    top = vm_unmapped_area_topdown(mm, length + hsize, max(hsize, mm.mmap_min_addr),
                                   mm.mmap_base)
    return (top + hsize - 1) & ~(hsize - 1)


_hugetlbfs_fops = FileOperations(name="hugetlbfs_file_operations",
                                 mmap_prepare=_hugetlbfs_mmap_prepare,
                                 get_unmapped_area=_hugetlb_get_unmapped_area)


def hugetlb_file_setup(hsize: int) -> File:
    """``hugetlb_file_setup()``: the unlinked file behind an anonymous huge mapping.

    The inode's ``i_size`` records the huge page size (the model's stand-in for
    the file's ``hstate``).
    """
    inode = Inode("/anon_hugepage", hsize, dev=HUGETLBFS_DEV)
    inode.deleted = True
    return File(inode, _hugetlbfs_fops, FMode.READ | FMode.WRITE)
