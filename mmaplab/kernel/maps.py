"""``/proc/<pid>/maps`` lines.

Models ``show_map_vma()`` / ``show_vma_header_prefix()`` (fs/proc/task_mmu.c):
``start-end perms offset major:minor inode``, then, when the VMA has a name,
padding to column 73 and the name.  Anonymous memory shows offset 0; shared
anonymous memory is backed by a shmem file shown as ``/dev/zero (deleted)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .flags import PAGE_SHIFT, prot_string

if TYPE_CHECKING:
    from .mm_types import VmAreaStruct

__all__ = ["show_map_vma"]

#: ``seq_setwidth(m, 25 + sizeof(void *) * 6 - 1)`` on 64-bit.
_NAME_COLUMN = 25 + 8 * 6 - 1


def show_map_vma(vma: VmAreaStruct) -> str:
    """One maps line for ``vma`` (without the newline)."""
    file = vma.vm_file
    if file is not None:
        inode = file.f_inode
        major, minor = inode.dev
        ino = inode.i_ino
        pgoff = vma.vm_pgoff << PAGE_SHIFT
        name = file.path()
    else:
        major = minor = ino = pgoff = 0
        name = ""
    line = (f"{vma.vm_start:08x}-{vma.vm_end:08x} {prot_string(vma.vm_flags)} {pgoff:08x} "
            f"{major:02x}:{minor:02x} {ino} ")
    if name:
        line = line.ljust(_NAME_COLUMN) + " " + name
    return line
