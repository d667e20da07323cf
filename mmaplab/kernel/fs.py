"""Files, inodes and ``file_operations``: what a mapping is backed by.

Models ``struct file``, ``struct inode``, ``struct address_space`` and
``struct file_operations`` (include/linux/fs.h, Linux 7.0 with the
"expand mmap_prepare" v4 series applied) far enough for mmap: open mode,
reference counting (``get_file``/``fput``), the rmap tree of VMAs mapping a file
(``i_mmap``) and its lock (``i_mmap_rwsem``), and the rule that a file offers
exactly one of ``->mmap`` (deprecated) and ``->mmap_prepare``.
"""

from __future__ import annotations

import enum
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import UseAfterFreeError
from .locks import RwSemaphore

if TYPE_CHECKING:
    from .mm_types import VmAreaDesc, VmAreaStruct

__all__ = ["FMode", "FileOperations", "Inode", "AddressSpace", "File", "can_mmap_file",
           "get_file", "fput", "MmapHook", "MmapPrepareHook"]

MmapHook = Callable[["File", "VmAreaStruct"], "int | None"]
MmapPrepareHook = Callable[["VmAreaDesc"], "int | None"]

_ino = itertools.count(1000)


class FMode(enum.Flag):
    """``fmode_t`` bits that matter to mmap."""

    NONE = 0
    READ = 1 << 0
    WRITE = 1 << 1


@dataclass(frozen=True)
class FileOperations:
    """``struct file_operations``: a driver provides ``mmap`` *or* ``mmap_prepare``."""

    name: str = "file_operations"
    mmap: MmapHook | None = None
    mmap_prepare: MmapPrepareHook | None = None
    get_unmapped_area: Callable[..., int] | None = None
    release: Callable[[File], None] | None = None
    #: ``FOP_MMAP_SYNC``: the file accepts MAP_SYNC with MAP_SHARED_VALIDATE.
    mmap_sync: bool = False


def can_mmap_file(file: File) -> bool:
    """``can_mmap_file()`` (include/linux/fs.h): exactly one of the two hooks.

    With both present the kernel warns and refuses; with neither it refuses.
    """
    f_op = file.f_op
    has_mmap = f_op.mmap is not None
    has_prepare = f_op.mmap_prepare is not None
    return has_mmap != has_prepare


class AddressSpace:
    """``struct address_space``: page cache plus the rmap of VMAs mapping the file."""

    __slots__ = ("host", "pages", "i_mmap", "i_mmap_rwsem", "i_mmap_writable")

    def __init__(self, host: Inode) -> None:
        self.host = host
        self.pages: dict[int, Any] = {}
        #: ``i_mmap``: VMAs mapping this file (an interval tree in Linux).
        self.i_mmap: dict[int, VmAreaStruct] = {}
        self.i_mmap_rwsem = RwSemaphore(f"&mapping->i_mmap_rwsem ({host.name})", "i_mmap_rwsem")
        #: ``mapping_map_writable()`` count of shared writable mappings.
        self.i_mmap_writable = 0


class Inode:
    """``struct inode``: identity, size, device numbers shown in /proc/<pid>/maps."""

    __slots__ = ("name", "i_ino", "i_size", "dev", "i_mapping", "append_only", "deleted")

    def __init__(self, name: str, size: int = 0, dev: tuple[int, int] = (0, 0),
                 ino: int | None = None) -> None:
        self.name = name
        self.i_ino = next(_ino) if ino is None else ino
        self.i_size = size
        self.dev = dev
        self.append_only = False
        self.deleted = False
        self.i_mapping = AddressSpace(self)


class File:
    """``struct file``: one open of an inode, with a mode and a reference count.

    Two opens of the same inode are different files: VMAs of different files
    never merge, exactly as the kernel compares ``vm_file`` pointers.
    """

    def __init__(self, inode: Inode, f_op: FileOperations, mode: FMode = FMode.READ,
                 private_data: Any = None, noexec: bool = False) -> None:
        self.f_inode = inode
        self.f_mapping = inode.i_mapping
        self.f_op = f_op
        self.f_mode = mode
        self.private_data = private_data
        self.f_count = 1
        #: Mounted noexec: PROT_EXEC mappings are refused with EPERM.
        self.noexec = noexec

    @property
    def name(self) -> str:
        return self.f_inode.name

    def path(self) -> str:
        """``d_path()`` as /proc/<pid>/maps prints it."""
        return self.f_inode.name + (" (deleted)" if self.f_inode.deleted else "")

    def __repr__(self) -> str:
        return f"<file {self.name} {self.f_op.name} count={self.f_count}>"


class FreedFile(File):
    """A ``struct file`` after its last ``fput()``: any access is a use-after-free."""

    def __getattribute__(self, attr: str) -> Any:
        if attr in ("__class__", "__repr__", "__dict__"):
            return object.__getattribute__(self, attr)
        name = object.__getattribute__(self, "__dict__").get("f_inode")
        raise UseAfterFreeError(
            f"use-after-free: file {name.name if name else '?'} was released by its last "
            f"fput() and then its field '{attr}' was read", obj="file"
        )

    def __repr__(self) -> str:
        return "<freed file>"


def get_file(file: File) -> File:
    """``get_file()``: take a reference."""
    file.f_count += 1
    return file


def fput(file: File) -> None:
    """``fput()``: drop a reference; the last one releases and frees the file."""
    file.f_count -= 1
    if file.f_count == 0:
        if file.f_op.release is not None:
            file.f_op.release(file)
        file.__class__ = FreedFile
