"""Page tables: one PTE per mapped user page, with pfn and protection.

Models the leaf level of the x86-64 page tables (``pte_t``,
arch/x86/include/asm/pgtable_types.h) and ``vm_get_page_prot()``
(mm/mmap.c, x86 ``protection_map``).  Page tables belong to the ``mm``, as in
Linux; a VMA's entries are the PTEs inside its range.

Follows Linux 7.0 with the "mm: expand mmap_prepare functionality" v4 series applied.
"""

from __future__ import annotations

import enum
from bisect import bisect_left, insort
from collections.abc import Iterator
from dataclasses import dataclass
from typing import cast

from .config import MemEncrypt, cc_platform
from .flags import PAGE_SHIFT, PAGE_SIZE, VMFlag, fast_flag_ops
from .page_alloc import Page

__all__ = ["Pgprot", "Pte", "PageTable", "PTRS_PER_PTE", "PMD_SHIFT", "pgprot", "vm_get_page_prot",
           "pgprot_modify", "vm_pgprot_modify",
           "pgprot_noncached", "pgprot_writecombine", "pgprot_decrypted", "pgprot_encrypted"]


@fast_flag_ops
class Pgprot(enum.Flag):
    """x86 PTE permission/caching bits (``_PAGE_*``)."""

    NONE = 0
    PRESENT = 1 << 0
    RW = 1 << 1
    USER = 1 << 2
    PWT = 1 << 3
    PCD = 1 << 4
    #: Intel TDX: the guest-physical *shared* bit (set = decrypted, shared with the host).
    SHARED = 1 << 47
    #: AMD SME/SEV: the C-bit (``sme_me_mask``; set = encrypted).
    ENC = 1 << 51
    NX = 1 << 63

    def describe(self) -> str:
        """``r-``/``rw`` plus ``x`` and caching, e.g. ``rw- uc``."""
        if Pgprot.PRESENT not in self:
            return "none"
        s = "r" + ("w" if Pgprot.RW in self else "-") + ("-" if Pgprot.NX in self else "x")
        if Pgprot.PCD in self:
            s += " uc"
        elif Pgprot.PWT in self:
            s += " wc"
        if Pgprot.ENC in self:
            s += " enc"
        if Pgprot.SHARED in self:
            s += " shared"
        return s


#: enum.Flag's own map of members and seen combinations by value.
_PGPROTS = cast(dict[int, Pgprot], Pgprot._value2member_map_)


def pgprot(value: int) -> Pgprot:
    """The ``Pgprot`` with the bits of ``value`` (``__pgprot()``): for hot paths that
    combine protections as ints, as :func:`mmaplab.kernel.flags.vmflag` does for flags."""
    hit = _PGPROTS.get(value)
    return hit if hit is not None else Pgprot(value)


#: The confidential-computing bits ``pte_modify()`` keeps (x86 ``_PAGE_CC`` in the
#: change mask): mprotect() never turns a decrypted mapping back into an encrypted one.
CC_BITS = Pgprot.ENC | Pgprot.SHARED
#: The protection bits ``pgprot_modify()`` and ``pte_modify()`` keep from the old value
#: (the prot part of x86 ``_PAGE_CHG_MASK``): the caching a driver chose, and CC_BITS.
PAGE_CHG_PROT_BITS = Pgprot.PCD | Pgprot.PWT | CC_BITS
_CHG = PAGE_CHG_PROT_BITS._value_


def pgprot_modify(oldprot: Pgprot, newprot: Pgprot) -> Pgprot:
    """``pgprot_modify()`` (arch/x86/include/asm/pgtable.h, 7.0): ``newprot``, keeping
    the bits of ``oldprot`` a protection change must not lose (``PAGE_CHG_PROT_BITS``).

    ``pte_modify()`` keeps the same bits of a PTE, so mprotect's ``change_protection()``
    uses this for PTEs too.
    """
    return pgprot((newprot._value_ & ~_CHG) | (oldprot._value_ & _CHG))


def vm_pgprot_modify(oldprot: Pgprot, vm_flags: VMFlag) -> Pgprot:
    """``vm_pgprot_modify()`` (mm/mmap.c): the protection ``vm_flags`` select, with the
    caching and CC bits of ``oldprot`` (what ``vma_set_page_prot()`` stores)."""
    return pgprot_modify(oldprot, vm_get_page_prot(vm_flags))


#: The bits ``vm_get_page_prot()`` looks at (the index of x86's ``protection_map``).
_PROTECTION_MAP_BITS = (VMFlag.READ | VMFlag.WRITE | VMFlag.EXEC | VMFlag.SHARED)._value_
#: ``protection_map``, filled as entries are asked for: (the indexing bits, cc_vendor).
_protection_map: dict[tuple[int, MemEncrypt], Pgprot] = {}


def vm_get_page_prot(flags: VMFlag) -> Pgprot:
    """``vm_get_page_prot()``: private writable maps read-only until a write fault (COW).

    Like the kernel, a table lookup by the access and shared bits (``protection_map``,
    arch/x86/mm/pgprot.c); the table is per memory-encryption platform.
    """
    key = (flags._value_ & _PROTECTION_MAP_BITS, cc_platform())
    prot = _protection_map.get(key)
    if prot is None:
        prot = _protection_map[key] = _protection_map_entry(VMFlag(key[0]))
    return prot


def _protection_map_entry(flags: VMFlag) -> Pgprot:
    """One entry of ``protection_map`` (what ``sme_early_init()`` leaves in it)."""
    access = flags & (VMFlag.READ | VMFlag.WRITE | VMFlag.EXEC)
    if not access:
        return Pgprot.NONE
    prot = Pgprot.PRESENT | Pgprot.USER
    if VMFlag.WRITE in flags and VMFlag.SHARED in flags:
        prot |= Pgprot.RW
    if VMFlag.EXEC not in flags:
        prot |= Pgprot.NX
    # sme_early_init() encrypts every protection_map entry (a no-op without SME/SEV).
    return pgprot_encrypted(prot)


def pgprot_noncached(prot: Pgprot) -> Pgprot:
    """``pgprot_noncached()``: uncached (UC-) device memory."""
    return prot | Pgprot.PCD


def pgprot_writecombine(prot: Pgprot) -> Pgprot:
    """``pgprot_writecombine()``."""
    return prot | Pgprot.PWT


def pgprot_decrypted(prot: Pgprot) -> Pgprot:
    """``pgprot_decrypted()`` (x86 ``cc_mkdec()``): the mapping reads memory unencrypted.

    SME/SEV clear the C-bit, TDX sets the shared bit, without memory encryption it is
    the identity (see :class:`mmaplab.kernel.config.MemEncrypt`).
    """
    kind = cc_platform()
    if kind is MemEncrypt.TDX:
        return prot | Pgprot.SHARED
    if kind in (MemEncrypt.SME, MemEncrypt.SEV):
        return prot & ~Pgprot.ENC
    return prot


def pgprot_encrypted(prot: Pgprot) -> Pgprot:
    """``pgprot_encrypted()`` (x86 ``cc_mkenc()``): the inverse of ``pgprot_decrypted()``."""
    kind = cc_platform()
    if kind is MemEncrypt.TDX:
        return prot & ~Pgprot.SHARED
    if kind in (MemEncrypt.SME, MemEncrypt.SEV):
        return prot | Pgprot.ENC
    return prot


@dataclass(slots=True)
class Pte:
    """A present PTE: the pfn it maps, its protection, and the page if RAM.

    ``special`` marks pfn mappings (``pte_mkspecial``: no struct page is
    refcounted, as for ``remap_pfn_range``).
    """

    pfn: int
    prot: Pgprot
    page: Page | None = None
    special: bool = False
    dirty: bool = False

    @property
    def writable(self) -> bool:
        return Pgprot.RW in self.prot

    def __str__(self) -> str:
        kind = "pfnmap" if self.special else (self.page.kind if self.page else "io")
        return f"pfn {self.pfn:#x} {self.prot.describe()} {kind}"


#: PTEs per page-table page (x86-64: 512 eight-byte entries in one 4 KiB page).
PTRS_PER_PTE = 512
#: Address bits one page-table page covers (``PMD_SHIFT``: 2 MiB).
PMD_SHIFT = PAGE_SHIFT + 9


class PageTable:
    """The mm's PTEs, in page-table pages: one table per 2 MiB that has a PTE.

    Like the kernel's walk (``walk_page_range()``, ``zap_pmd_range()``: ``pmd_none()``
    is skipped), a range operation visits only the tables that exist, so it costs what
    is mapped, not how large the range is: munmap of a 1 TiB range with three PTEs looks
    at three tables.  A table is keyed by its pmd index (``addr >> PMD_SHIFT``) and holds
    ``{virtual page number: Pte}``; ``pmds`` lists the indexes in address order.  The
    upper levels (pgd, p4d, pud) are not modelled, and an emptied table is freed at
    once (the kernel frees page tables in ``free_pgtables()``, at munmap).
    """

    __slots__ = ("tables", "pmds", "nr")

    def __init__(self) -> None:
        self.tables: dict[int, dict[int, Pte]] = {}
        self.pmds: list[int] = []
        #: PTEs present in all tables.
        self.nr = 0

    def lookup(self, addr: int) -> Pte | None:
        """``follow_pte()``: the PTE mapping ``addr``, if present."""
        table = self.tables.get(addr >> PMD_SHIFT)
        return None if table is None else table.get(addr >> PAGE_SHIFT)

    def set(self, addr: int, pte: Pte) -> None:
        """``set_pte_at()`` (allocating the table first, as ``pte_alloc()`` does)."""
        pmd = addr >> PMD_SHIFT
        table = self.tables.get(pmd)
        if table is None:
            table = self.tables[pmd] = {}
            insort(self.pmds, pmd)
        vpn = addr >> PAGE_SHIFT
        if vpn not in table:
            self.nr += 1
        table[vpn] = pte

    def clear(self, addr: int) -> Pte | None:
        """``ptep_get_and_clear()``: remove the PTE mapping ``addr``; returns it (or None).

        Only the PTE: the page's counts are the caller's (``zap`` drops them).
        """
        pmd = addr >> PMD_SHIFT
        table = self.tables.get(pmd)
        if table is None:
            return None
        pte = table.pop(addr >> PAGE_SHIFT, None)
        if pte is not None:
            self.nr -= 1
            if not table:
                self._free_table(pmd)
        return pte

    def _free_table(self, pmd: int) -> None:
        del self.tables[pmd]
        del self.pmds[bisect_left(self.pmds, pmd)]

    def _walk(self, start: int, end: int | None) -> Iterator[tuple[int, list[int]]]:
        """Per table with a PTE in ``[start, end)``: its pmd index and those PTEs' page
        numbers, ascending.  Costs the tables in the range and, in each, the fewer of its
        PTEs and its pages in the range."""
        lo = start >> PAGE_SHIFT
        hi = (end >> PAGE_SHIFT) if end is not None else 1 << 64
        if hi <= lo:
            return
        pmds, tables = self.pmds, self.tables
        last = (hi - 1) >> 9
        for i in range(bisect_left(pmds, lo >> 9), len(pmds)):
            pmd = pmds[i]
            if pmd > last:
                return
            table = tables[pmd]
            first, stop = max(lo, pmd << 9), min(hi, (pmd + 1) << 9)
            if stop - first == PTRS_PER_PTE:  # the whole table is in the range
                keys = sorted(table)
            elif stop - first <= len(table):
                keys = [k for k in range(first, stop) if k in table]
            else:
                keys = sorted(k for k in table if first <= k < stop)
            if keys:
                yield pmd, keys

    def entries(self, start: int = 0, end: int | None = None) -> dict[int, Pte]:
        """PTEs in ``[start, end)`` as ``{page address: Pte}``, in address order."""
        if not self.nr:
            return {}
        tables = self.tables
        return {k << PAGE_SHIFT: tables[pmd][k]
                for pmd, keys in self._walk(start, end) for k in keys}

    def zap(self, start: int, end: int) -> list[Pte]:
        """Clear PTEs in ``[start, end)`` — ``zap_page_range_single()``; returns them."""
        if not self.nr:
            return []
        removed: list[Pte] = []
        emptied = []
        for pmd, keys in list(self._walk(start, end)):
            table = self.tables[pmd]
            removed.extend(table.pop(k) for k in keys)
            if not table:
                emptied.append(pmd)
        for pmd in emptied:
            self._free_table(pmd)
        self.nr -= len(removed)
        for pte in removed:
            if pte.page is not None and not pte.special:
                pte.page.mapcount -= 1
                pte.page.refcount -= 1
        return removed

    def count(self, start: int, end: int) -> int:
        """How many PTEs are present in ``[start, end)``."""
        return sum(len(keys) for _, keys in self._walk(start, end)) if self.nr else 0

    def __len__(self) -> int:
        return self.nr


def pages_in(start: int, end: int) -> range:
    """Page addresses of ``[start, end)``."""
    return range(start, end, PAGE_SIZE)
