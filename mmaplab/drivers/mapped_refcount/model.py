"""Exercise 02's device: a file whose live mappings are counted (the afs ``cb_nr_mmap``
pattern of fs/afs/file.c, v6.18; converted as in v4 09/21).

The legacy ``->mmap`` counts each new VMA; ``open``/``close`` keep the count equal to
the number of live VMAs.  ``mmap_prepare`` runs before the merge decision and before
the VMA is allocated (mm/vma.c ``__mmap_region()``, v4 series), so counting there
leaks on a merge or a late failure; ``vm_ops->mapped`` (v4 08/21) runs only for a new,
unmerged VMA, and publishes through its ``vm_private_data`` out-parameter that it ran.
A mapping that fails after the VMA exists (the action, or ``mapped`` itself) is unmapped
with its ``vm_ops`` installed (``mmap_action_finish()``): ``close`` then runs for a VMA
``mapped`` never counted, and must drop nothing.
"""

from __future__ import annotations

import errno

from ...kernel.filemap import VM_FAULT_SIGBUS
from ...kernel.fs import File, FileOperations
from ...kernel.mm_types import (
    VmAreaDesc,
    VmAreaStruct,
    VmOperationsStruct,
    vma_desc_pages,
    vma_pages,
)
from ...kernel.page_alloc import alloc_pages
from ..base import CharDevice

__all__ = ["TrkDev", "trk_fault", "trk_mmap", "trk_legacy_vm_ops", "trk_mapped",
           "trk_vm_open", "trk_vm_close", "trk_vm_ops", "trk_mmap_prepare"]


class TrkDev(CharDevice):
    """A file of ``nr_pages`` pages whose live mappings are counted in ``nr_mmaps``."""

    name = "trk"
    path = "/srv/trk/data"
    devno = (0, 42)

    def __init__(self, variant: str = "prepare", fops: FileOperations | None = None, *,
                 nr_pages: int = 8) -> None:
        self.nr_pages = nr_pages
        self.pages = alloc_pages(nr_pages, kind="pagecache")
        self.nr_mmaps = 0
        super().__init__(variant, fops)

    def file_operations(self, variant: str) -> FileOperations:
        if variant == "legacy":
            return FileOperations(name="trk_fops", mmap=trk_mmap)
        return FileOperations(name="trk_fops", mmap_prepare=trk_mmap_prepare)

    def add_open_mmap(self) -> None:
        """``trk_add_open_mmap()``: one more VMA maps this file."""
        self.nr_mmaps += 1

    def drop_open_mmap(self) -> None:
        """``trk_drop_open_mmap()``: one VMA fewer."""
        self.nr_mmaps -= 1

    def observe(self) -> dict[str, object]:
        return {"nr_mmaps": self.nr_mmaps}


def trk_fault(vmf):
    """The (given) fault handler: the file's page at ``vmf.pgoff``."""
    dev = vmf.vma.vm_file.private_data
    if vmf.pgoff >= dev.nr_pages:
        return VM_FAULT_SIGBUS
    vmf.page = dev.pages[vmf.pgoff]
    return 0


# -- legacy --------------------------------------------------------------------------------

def _legacy_open(vma: VmAreaStruct) -> None:
    vma.vm_file.private_data.add_open_mmap()  # type: ignore[union-attr]  # a file mapping


def _legacy_close(vma: VmAreaStruct) -> None:
    vma.vm_file.private_data.drop_open_mmap()  # type: ignore[union-attr]  # a file mapping


trk_legacy_vm_ops = VmOperationsStruct(name="trk_vm_ops", open=_legacy_open,
                                       close=_legacy_close, fault=trk_fault)


def trk_mmap(file: File, vma: VmAreaStruct) -> int:
    """``trk_mmap()``: size check, count the new VMA, install the operations."""
    dev: TrkDev = file.private_data
    if vma.vm_pgoff + vma_pages(vma) > dev.nr_pages:
        return -errno.EINVAL
    dev.add_open_mmap()
    vma.vm_ops = trk_legacy_vm_ops
    return 0


# -- converted: the reference answer ------------------------------------------------------

def trk_mapped(start, end, pgoff, file, vm_private_data):
    dev = file.private_data
    dev.add_open_mmap()
    vm_private_data.value = dev  # this VMA is counted
    return 0


def trk_vm_open(vma):
    vma.vm_private_data.add_open_mmap()


def trk_vm_close(vma):
    if vma.vm_private_data is None:  # mapped never ran: nothing to drop
        return
    vma.vm_private_data.drop_open_mmap()


trk_vm_ops = VmOperationsStruct(name="trk_vm_ops", mapped=trk_mapped, open=trk_vm_open,
                                close=trk_vm_close, fault=trk_fault)


def trk_mmap_prepare(desc: VmAreaDesc) -> int:
    dev = desc.file.private_data
    if desc.pgoff + vma_desc_pages(desc) > dev.nr_pages:
        return -errno.EINVAL
    desc.vm_ops = trk_vm_ops
    return 0
