"""``/proc/<pid>/maps`` lines and ``/proc/<pid>/smaps`` blocks.

Models ``show_map_vma()`` / ``show_vma_header_prefix()`` (fs/proc/task_mmu.c):
``start-end perms offset major:minor inode``, then, when the VMA has a name,
padding to column 73 and the name.  Anonymous memory shows offset 0; shared
anonymous memory is backed by a shmem file shown as ``/dev/zero (deleted)``.

Follows Linux 7.0 with the "mm: expand mmap_prepare functionality" v4 series applied.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .flags import PAGE_SHIFT, PAGE_SIZE, VMFlag, prot_string

if TYPE_CHECKING:
    from .mm_types import MmStruct, VmAreaStruct

__all__ = ["show_map_vma", "vma_is_initial_heap", "show_smap", "vm_flags_mnemonics",
           "SMAPS_MNEMONICS"]

#: ``seq_setwidth(m, 25 + sizeof(void *) * 6 - 1)`` on 64-bit.
_NAME_COLUMN = 25 + 8 * 6 - 1


def vma_is_initial_heap(vma: VmAreaStruct) -> bool:
    """``vma_is_initial_heap()`` (include/linux/mm.h, 7.0): does the VMA overlap the heap
    ``(start_brk, brk)``?  Both ends strict, as the running 6.18 kernel shows: a VMA that
    ends at ``start_brk`` is not ``[heap]``."""
    mm = vma.vm_mm
    return mm is not None and vma.vm_start < mm.cur_brk and vma.vm_end > mm.start_brk


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
        ops = vma.vm_ops
        name = ""
        if ops is not None and ops.vma_name is not None:
            name = ops.vma_name(vma) or ""  # the kernel's vm_ops->name callback (C3)
        if not name and vma_is_initial_heap(vma):
            name = "[heap]"
    line = (f"{vma.vm_start:08x}-{vma.vm_end:08x} {prot_string(vma.vm_flags)} {pgoff:08x} "
            f"{major:02x}:{minor:02x} {ino} ")
    if name:
        line = line.ljust(_NAME_COLUMN) + " " + name
    return line


#: ``show_smap_vma_flags()`` (fs/proc/task_mmu.c, 7.0): the two-letter name of each VM_* bit.
SMAPS_MNEMONICS: dict[str, str] = {
    "READ": "rd", "WRITE": "wr", "EXEC": "ex", "SHARED": "sh", "MAYREAD": "mr",
    "MAYWRITE": "mw", "MAYEXEC": "me", "MAYSHARE": "ms", "GROWSDOWN": "gd",
    "UFFD_MISSING": "um", "PFNMAP": "pf", "MAYBE_GUARD": "gu", "UFFD_WP": "uw", "LOCKED": "lo",
    "IO": "io", "SEQ_READ": "sr", "RAND_READ": "rr", "DONTCOPY": "dc", "DONTEXPAND": "de",
    "LOCKONFAULT": "lf", "ACCOUNT": "ac", "NORESERVE": "nr", "HUGETLB": "ht", "SYNC": "sf",
    "ARCH_1": "ar", "WIPEONFORK": "wf", "DONTDUMP": "dd", "SOFTDIRTY": "sd", "MIXEDMAP": "mm",
    "HUGEPAGE": "hg", "NOHUGEPAGE": "nh", "MERGEABLE": "mg", "DROPPABLE": "dp", "SEALED": "sl",
}


def vm_flags_mnemonics(flags: VMFlag) -> str:
    """The ``VmFlags:`` value: mnemonics in bit order, space separated."""
    names = [SMAPS_MNEMONICS[m.name] for m in type(flags)
             if m.value and m.name in SMAPS_MNEMONICS and m in flags]
    return " ".join(names)


def _kb_line(name: str, kb: int) -> str:
    """``SEQ_PUT_DEC()``: the field name padded to 16 columns, the value to 8, ``kB``."""
    return f"{name + ':':<16}{kb:>8} kB\n"


def show_smap(mm: MmStruct, vma: VmAreaStruct) -> str:
    """``show_smap()``: one VMA's ``/proc/<pid>/smaps`` block (the fields the model knows).

    Rss counts normal pages (not the zero page, not pfn mappings, as
    ``vm_normal_page()`` decides); Pss shares each page among its mappers;
    ``Locked:`` is the Pss of a VM_LOCKED VMA, as ``smap_gather_stats()`` sums it.
    """
    rss = pss = anon = 0.0
    for pte in mm.pagetable.entries(vma.vm_start, vma.vm_end).values():
        page = pte.page
        if page is None or pte.special or page.kind == "zero":
            continue
        rss += 1
        pss += 1 / max(1, page.mapcount)
        if page.kind == "anon":
            anon += 1
    kb = PAGE_SIZE // 1024
    locked = pss if VMFlag.LOCKED in vma.vm_flags else 0
    return (show_map_vma(vma) + "\n"
            + _kb_line("Size", (vma.vm_end - vma.vm_start) // 1024)
            + _kb_line("KernelPageSize", kb) + _kb_line("MMUPageSize", kb)
            + _kb_line("Rss", int(rss) * kb) + _kb_line("Pss", int(pss * kb))
            + _kb_line("Anonymous", int(anon) * kb) + _kb_line("Locked", int(locked * kb))
            + f"VmFlags: {vm_flags_mnemonics(vma.vm_flags)}\n")
