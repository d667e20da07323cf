"""Shared anonymous memory, backed by a shmem file as in Linux.

Models ``shmem_zero_setup()`` and ``shmem_fault()`` (mm/shmem.c): a
``MAP_SHARED|MAP_ANONYMOUS`` mapping gets its own unlinked shmem file named
``/dev/zero``, so /proc/<pid>/maps shows ``/dev/zero (deleted)``, pgoff 0, and
two such mappings never merge (different files).

Follows Linux 7.0 with the "mm: expand mmap_prepare functionality" v4 series applied.
"""

from __future__ import annotations

from .fs import File, FileOperations, FMode, Inode, fput
from .mm_types import MmStruct, VmAreaStruct, VmFault, VmOperationsStruct
from .page_alloc import alloc_page

__all__ = ["shmem_zero_setup", "shmem_anon_vm_ops"]

#: Device numbers of the internal shm mount as /proc/<pid>/maps shows them.
SHM_DEV = (0, 1)


def shmem_fault(vmf: VmFault) -> int:
    """``shmem_fault()``: find or allocate the page at ``vmf.pgoff``."""
    file = vmf.vma.vm_file
    assert file is not None
    pages = file.f_mapping.pages
    page = pages.get(vmf.pgoff)
    if page is None:
        page = pages[vmf.pgoff] = alloc_page("shmem")
    vmf.page = page
    return 0


shmem_anon_vm_ops = VmOperationsStruct(name="shmem_anon_vm_ops", fault=shmem_fault)
_shmem_fops = FileOperations(name="shmem_file_operations")


def shmem_zero_setup(mm: MmStruct, vma: VmAreaStruct) -> int:
    """``shmem_zero_setup()``: give a shared anonymous VMA its shmem file and ops."""
    inode = Inode("/dev/zero", vma.vm_end - vma.vm_start, dev=SHM_DEV)
    inode.deleted = True
    file = File(inode, _shmem_fops, FMode.READ | FMode.WRITE)
    if vma.vm_file is not None:
        fput(vma.vm_file)
    vma.vm_file = file
    vma.vm_ops = shmem_anon_vm_ops
    mm.trace.step("shmem_zero_setup", "backing file /dev/zero (deleted)")
    return 0
