"""fs/afs/file.c: mapping an AFS file, before, during and after the series.

Three conversions of ``afs_file_operations``' mmap hook are modelled:

* ``AfsDriver("legacy")`` — ``afs_file_mmap()``, the ``f_op->mmap`` hook as restored by
  v4 09/21 "fs: afs: revert mmap_prepare() change" (identical to torvalds/linux
  @0050d7f5ee53 apart from where the open-mmaps list lives): take an open-mmap
  reference, ``generic_file_mmap()``, install ``afs_vm_ops``, drop the reference on error.
* ``AfsDriver("prepare")`` — v4 10/21 "fs: afs: restore mmap_prepare implementation":
  ``afs_file_mmap_prepare()`` only runs ``generic_file_mmap_prepare()`` and installs
  ``afs_vm_ops``; the reference is taken by the new ``afs_mapped()`` (``vm_ops->mapped``),
  which runs only once a *new* VMA exists.
* ``make_buggy()`` / ``AfsDriver("prepare", buggy=True)`` — the intermediate conversion of
  upstream 9d5403b1036c ("fs: convert most other generic_file_*mmap() users to
  .mmap_prepare()", linux-fsdevel/vfs fs/afs/file.c @183d05a8f87b): the reference is taken
  in ``afs_file_mmap_prepare()``, i.e. *before* the merge decision and before the VMA is
  allocated.  When the new range merges into a neighbouring mapping of the same file, or
  the mmap fails after the hook, nothing ever drops it: ``cb_nr_mmap`` leaks and the
  vnode stays on the volume's ``open_mmaps`` list for ever.

The state the hook depends on (``struct afs_vnode``): ``cb_nr_mmap`` (VMAs mapping the
file, across all mms) and membership of ``cb_mmap_link`` in ``volume->open_mmaps``
(under ``open_mmaps_lock``), which the callback-break code consults to decide whether
third-party changes must be pushed to mapped pages.  The file is backed by the page cache
(``filemap_fault``) like any regular file.  ``afs_vm_map_pages``/``afs_page_mkwrite`` are
not modelled (the model faults page by page).
"""

from __future__ import annotations

import errno
from dataclasses import dataclass
from typing import Any

from ...kernel.filemap import filemap_fault
from ...kernel.flags import PAGE_SIZE
from ...kernel.fs import File, FileOperations, FMode, Inode
from ...kernel.locks import RwSemaphore
from ...kernel.mm_types import Ref, VmAreaDesc, VmAreaStruct, VmOperationsStruct
from ..base import (
    Driver,
)

#: Size of the modelled AFS file, in pages.
AFS_FILE_PAGES = 8
#: Device numbers /proc/<pid>/maps shows for an AFS superblock (anonymous bdev).
AFS_DEV = (0x00, 0x2B)


@dataclass
class AfsVolume:
    """``struct afs_volume``: the ``open_mmaps`` list (names of vnodes on it)."""

    open_mmaps: list[str]
    open_mmaps_lock: RwSemaphore


class AfsVnode:
    """``struct afs_vnode``: the inode plus the mmap bookkeeping of the callback code."""

    def __init__(self, inode: Inode, volume: AfsVolume) -> None:
        self.inode = inode
        self.volume = volume
        #: ``atomic_t cb_nr_mmap``.
        self.cb_nr_mmap = 0
        #: ``!list_empty(&cb_mmap_link)``.
        self.listed = False
        #: ``flush_work(&vnode->cb_work)`` calls made by the last drop.
        self.cb_work_flushes = 0


class AfsDriver(Driver):
    """One AFS file (``/afs/example.org/doc.txt``, 8 pages) and its mmap conversion.

    ``variant``: ``"legacy"`` (``->mmap``) or ``"prepare"`` (``->mmap_prepare`` +
    ``->mapped``).  ``buggy=True`` (with ``"prepare"``) models 9d5403b1036c instead:
    the open-mmap reference is taken in ``mmap_prepare``.
    """

    name = "afs"

    def __init__(self, variant: str = "prepare", *, buggy: bool = False,
                 size: int = AFS_FILE_PAGES * PAGE_SIZE, read_folio: bool = True) -> None:
        super().__init__(variant)
        if buggy and variant != "prepare":
            raise ValueError("buggy=True is the 9d5403b1036c mmap_prepare conversion; "
                             "use it with variant='prepare'")
        self.buggy = buggy
        self.volume = AfsVolume([], RwSemaphore("&volume->open_mmaps_lock", "open_mmaps_lock"))
        self.inode = Inode("/afs/example.org/doc.txt", size, dev=AFS_DEV)
        self.vnode = AfsVnode(self.inode, self.volume)
        if variant == "legacy" or buggy:
            # afs_vm_ops before v4 10/21: no .mapped.
            self.vm_ops = VmOperationsStruct(name="afs_vm_ops", open=self.afs_vm_open,
                                             close=self.afs_vm_close, fault=filemap_fault)
        else:
            self.vm_ops = VmOperationsStruct(name="afs_vm_ops", open=self.afs_vm_open,
                                             close=self.afs_vm_close, fault=filemap_fault,
                                             mapped=self.afs_mapped)
        if variant == "legacy":
            self.fops = FileOperations(name="afs_file_operations", mmap=self.afs_file_mmap)
        else:
            hook = self.afs_file_mmap_prepare_buggy if buggy else self.afs_file_mmap_prepare
            self.fops = FileOperations(name="afs_file_operations", mmap_prepare=hook)
        #: ``mapping->a_ops->read_folio`` is set (``netfs_read_folio``) for AFS files.
        #: (``read_folio=False``: an address space without it, so the generic mmap
        #: fails with ENOEXEC.)
        self.has_read_folio = read_folio

    # -- the device side -------------------------------------------------------------
    def open(self, mode: FMode = FMode.READ | FMode.WRITE) -> File:
        """``afs_open()``: a new ``struct file`` on the vnode."""
        return File(self.inode, self.fops, mode, private_data=self.vnode)

    def observe(self) -> dict[str, Any]:
        return {"cb_nr_mmap": self.vnode.cb_nr_mmap,
                "on_open_mmaps": self.inode.name in self.volume.open_mmaps}

    def _vnode(self, file: File) -> AfsVnode:
        """``AFS_FS_I(file_inode(file))``."""
        vnode = file.private_data
        assert isinstance(vnode, AfsVnode)
        return vnode

    def AFS_FS_I(self, inode: Inode) -> AfsVnode:  # the kernel's name (fs/afs/internal.h)
        """``AFS_FS_I()``: the vnode that embeds ``inode`` (``container_of`` there)."""
        if inode is not self.vnode.inode:
            raise LookupError(f"AFS_FS_I(): {inode.name} is not this volume's AFS inode")
        return self.vnode

    # -- fs/afs/file.c helpers -----------------------------------------------------------
    def afs_add_open_mmap(self, vnode: AfsVnode) -> None:
        """``afs_add_open_mmap()``: count the mapping; the first one lists the vnode."""
        vnode.cb_nr_mmap += 1
        if vnode.cb_nr_mmap == 1:
            lock = vnode.volume.open_mmaps_lock
            lock.down_write("afs_add_open_mmap")
            try:
                if not vnode.listed:
                    vnode.volume.open_mmaps.append(vnode.inode.name)
                    vnode.listed = True
            finally:
                lock.up_write()

    def afs_drop_open_mmap(self, vnode: AfsVnode) -> None:
        """``afs_drop_open_mmap()`` (@183d05a8f87b): fast path ``atomic_add_unless(-1, 1)``,
        else under ``open_mmaps_lock`` + ``cb_lock`` decrement and unlist at zero."""
        if vnode.cb_nr_mmap != 1:
            vnode.cb_nr_mmap -= 1  # atomic_add_unless(&cb_nr_mmap, -1, 1) succeeded
            return
        lock = vnode.volume.open_mmaps_lock
        lock.down_write("afs_drop_open_mmap")
        try:
            vnode.cb_nr_mmap -= 1
            if vnode.cb_nr_mmap == 0 and vnode.listed:
                vnode.volume.open_mmaps.remove(vnode.inode.name)
                vnode.listed = False
        finally:
            lock.up_write()
        vnode.cb_work_flushes += 1  # flush_work(&vnode->cb_work)

    # -- mm/filemap.c, as afs uses them ------------------------------------------------------
    def generic_file_mmap(self, file: File, vma: VmAreaStruct) -> int:
        """``generic_file_mmap()`` (mm/filemap.c): ENOEXEC without ``read_folio``, else
        ``file_accessed()`` and the generic page-cache vm_ops."""
        if not self.has_read_folio:
            return -errno.ENOEXEC
        vma.vm_ops = _generic_file_vm_ops
        return 0

    def generic_file_mmap_prepare(self, desc: VmAreaDesc) -> int:
        """``generic_file_mmap_prepare()`` (mm/filemap.c): the same on a descriptor."""
        if not self.has_read_folio:
            return -errno.ENOEXEC
        desc.vm_ops = _generic_file_vm_ops
        return 0

    # -- legacy: afs_file_mmap (v4 09/21 revert = pre-9d5403b1036c) ---------------------
    def afs_file_mmap(self, file: File, vma: VmAreaStruct) -> int:
        """``afs_file_mmap()``: reference first, generic mmap, afs vm_ops or undo."""
        vnode = self._vnode(file)
        self.afs_add_open_mmap(vnode)
        ret = self.generic_file_mmap(file, vma)
        if ret == 0:
            vma.vm_ops = self.vm_ops
        else:
            self.afs_drop_open_mmap(vnode)
        return ret

    # -- converted: v4 10/21 ----------------------------------------------------------------
    def afs_file_mmap_prepare(self, desc: VmAreaDesc) -> int:
        """``afs_file_mmap_prepare()`` (v4 10/21): stateless — generic prepare + vm_ops."""
        ret = self.generic_file_mmap_prepare(desc)
        if ret:
            return ret
        desc.vm_ops = self.vm_ops
        return 0

    def afs_mapped(self, start: int, end: int, pgoff: int, file: File,
                   vm_private_data: Ref) -> int:
        """``afs_mapped()`` (v4 10/21): the new VMA exists — take the open-mmap reference."""
        self.afs_add_open_mmap(self._vnode(file))
        return 0

    # -- the buggy intermediate: 9d5403b1036c -----------------------------------------------
    def afs_file_mmap_prepare_buggy(self, desc: VmAreaDesc) -> int:
        """``afs_file_mmap_prepare()`` as of 9d5403b1036c: the reference is taken here,
        before the kernel knows whether a VMA will be created at all."""
        vnode = self._vnode(desc.file)
        self.afs_add_open_mmap(vnode)
        ret = self.generic_file_mmap_prepare(desc)
        if ret == 0:
            desc.vm_ops = self.vm_ops
        else:
            self.afs_drop_open_mmap(vnode)
        return ret

    # -- afs_vm_ops (unchanged by the series apart from .mapped) -----------------------------
    def afs_vm_open(self, vma: VmAreaStruct) -> None:
        """``afs_vm_open()``: a split or forked copy is one more mapping."""
        assert vma.vm_file is not None
        self.afs_add_open_mmap(self._vnode(vma.vm_file))

    def afs_vm_close(self, vma: VmAreaStruct) -> None:
        """``afs_vm_close()``: one mapping fewer."""
        assert vma.vm_file is not None
        self.afs_drop_open_mmap(self._vnode(vma.vm_file))


#: ``generic_file_vm_ops`` (mm/filemap.c): page-cache faults, no open/close.
_generic_file_vm_ops = VmOperationsStruct(name="generic_file_vm_ops", fault=filemap_fault)


def make_buggy() -> AfsDriver:
    """The 9d5403b1036c conversion (reference taken in ``mmap_prepare``)."""
    return AfsDriver("prepare", buggy=True)
