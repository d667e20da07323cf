"""Page-cache-backed regular files.

Models a regular file on ext4 (the filesystem the differential tests run on):
``ext4_file_mmap_prepare()`` (fs/ext4/file.c, mmap_prepare since Linux 6.17),
which refuses MAP_SYNC on a non-DAX file *after* do_mmap accepted it
(``FOP_MMAP_SYNC``), and ``filemap_fault()`` (mm/filemap.c).  A fault beyond
the end of the file is SIGBUS.
"""

from __future__ import annotations

import errno

from .errors import KernelError
from .flags import PAGE_SHIFT, PAGE_SIZE
from .fs import File, FileOperations, FMode, Inode
from .mm_types import VmAreaDesc, VmFault, VmOperationsStruct, vma_desc_test
from .page_alloc import alloc_page
from .vma_flags import VMA_SYNC_BIT

__all__ = ["RegularFile", "generic_file_vm_ops", "generic_file_mmap_prepare",
           "filemap_fault", "VM_FAULT_SIGBUS", "VM_FAULT_OOM", "VM_FAULT_NOPAGE"]

VM_FAULT_OOM = 0x0001
VM_FAULT_SIGBUS = 0x0002
VM_FAULT_SIGSEGV = 0x0040
VM_FAULT_NOPAGE = 0x0100
VM_FAULT_ERROR = VM_FAULT_OOM | VM_FAULT_SIGBUS | VM_FAULT_SIGSEGV

#: Device numbers shown for regular files in /proc/<pid>/maps (like a first disk).
DISK_DEV = (0x08, 0x01)


def filemap_fault(vmf: VmFault) -> int:
    """``filemap_fault()``: the page-cache page at ``vmf.pgoff``, SIGBUS past EOF."""
    file = vmf.vma.vm_file
    assert file is not None
    inode = file.f_inode
    if vmf.pgoff >= (inode.i_size + PAGE_SIZE - 1) >> PAGE_SHIFT:
        return VM_FAULT_SIGBUS
    pages = file.f_mapping.pages
    page = pages.get(vmf.pgoff)
    if page is None:
        page = pages[vmf.pgoff] = alloc_page("pagecache")
    vmf.page = page
    return 0


generic_file_vm_ops = VmOperationsStruct(name="ext4_file_vm_ops", fault=filemap_fault)


def generic_file_mmap_prepare(desc: VmAreaDesc) -> int:
    """``ext4_file_mmap_prepare()``: no MAP_SYNC without DAX, then the page-cache vm_ops."""
    if vma_desc_test(desc, VMA_SYNC_BIT):
        return -errno.EOPNOTSUPP  # daxdev_mapping_supported() is false for non-DAX files
    desc.vm_ops = generic_file_vm_ops
    return 0


generic_file_operations = FileOperations(name="ext4_file_operations",
                                         mmap_prepare=generic_file_mmap_prepare, mmap_sync=True)


class RegularFile(File):
    """An open regular file: ``RegularFile(name, size, writable=True)``.

    ``writable`` opens it read-write (``O_RDWR``), else read-only.  Each
    instance is a new inode; use :meth:`reopen` for a second open of the same
    inode (a different ``struct file``, so its VMAs never merge with the first's).
    """

    def __init__(self, name: str, size: int, writable: bool = True, readable: bool = True,
                 noexec: bool = False, *, _inode: Inode | None = None) -> None:
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise KernelError(errno.EINVAL, f"file size must be a non-negative integer: {size!r}")
        mode = (FMode.READ if readable else FMode.NONE) | (
            FMode.WRITE if writable else FMode.NONE)
        inode = _inode if _inode is not None else Inode(name, size, dev=DISK_DEV)
        super().__init__(inode, generic_file_operations, mode, noexec=noexec)

    @property
    def size(self) -> int:
        return self.f_inode.i_size

    def reopen(self, writable: bool = True, readable: bool = True) -> RegularFile:
        """Open the same inode again (``open(2)`` of the same path)."""
        return RegularFile(self.name, self.size, writable, readable, self.noexec,
                           _inode=self.f_inode)

    def truncate(self, size: int) -> None:
        """Change ``i_size`` (pages beyond it fault with SIGBUS afterwards)."""
        self.f_inode.i_size = size
