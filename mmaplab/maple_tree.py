"""The ordered VMA store of an mm, with O(log n) lookup.

Models the queries mm code makes of the maple tree (lib/maple_tree.c,
include/linux/mm.h ``find_vma()``, ``vma_lookup()``, ``find_vma_intersection()``,
``vma_prev()``/``vma_next()``): a sorted array of start addresses searched by
bisection.  Insertion shifts the array (a memmove), which stays fast at the
tens of thousands of VMAs a process may have.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .mm_types import VmAreaStruct

__all__ = ["MapleTree"]


class MapleTree:
    """VMAs sorted by ``vm_start``; ranges never overlap."""

    __slots__ = ("starts", "vmas")

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.vmas: list[VmAreaStruct] = []

    def __len__(self) -> int:
        return len(self.vmas)

    def __iter__(self) -> Iterator[VmAreaStruct]:
        return iter(self.vmas)

    def _index_after(self, addr: int) -> int:
        """Index of the first VMA with ``vm_end > addr``."""
        i = bisect_right(self.starts, addr) - 1
        if i >= 0 and self.vmas[i].vm_end > addr:
            return i
        return i + 1

    def find(self, addr: int) -> VmAreaStruct | None:
        """``find_vma()``: first VMA with ``vm_end > addr`` (may start above addr)."""
        i = self._index_after(addr)
        return self.vmas[i] if i < len(self.vmas) else None

    def lookup(self, addr: int) -> VmAreaStruct | None:
        """``vma_lookup()``: the VMA containing ``addr``, if any."""
        i = bisect_right(self.starts, addr) - 1
        if i >= 0 and self.vmas[i].vm_end > addr:
            return self.vmas[i]
        return None

    def prev(self, addr: int) -> VmAreaStruct | None:
        """Last VMA that ends at or below ``addr`` (``vma_prev`` from a gap at addr)."""
        i = bisect_right(self.starts, addr - 1) - 1
        while i >= 0 and self.vmas[i].vm_end > addr:
            i -= 1
        return self.vmas[i] if i >= 0 else None

    def next_after(self, addr: int) -> VmAreaStruct | None:
        """First VMA starting at or above ``addr``."""
        i = bisect_right(self.starts, addr - 1)
        return self.vmas[i] if i < len(self.vmas) else None

    def range(self, start: int, end: int) -> list[VmAreaStruct]:
        """VMAs intersecting ``[start, end)``, in order (``for_each_vma_range``)."""
        i = self._index_after(start)
        out = []
        vmas = self.vmas
        while i < len(vmas) and vmas[i].vm_start < end:
            out.append(vmas[i])
            i += 1
        return out

    def insert(self, vma: VmAreaStruct) -> None:
        """``vma_iter_store_new()``: the range must be free."""
        i = bisect_right(self.starts, vma.vm_start)
        self.starts.insert(i, vma.vm_start)
        self.vmas.insert(i, vma)

    def remove(self, vma: VmAreaStruct) -> None:
        i = bisect_right(self.starts, vma.vm_start) - 1
        while self.vmas[i] is not vma:
            i -= 1
        del self.starts[i]
        del self.vmas[i]

    def reindex(self, vma: VmAreaStruct, old_start: int) -> None:
        """Re-key ``vma`` after its ``vm_start`` moved (order is unchanged by construction)."""
        i = bisect_right(self.starts, old_start) - 1
        while self.vmas[i] is not vma:
            i -= 1
        self.starts[i] = vma.vm_start
