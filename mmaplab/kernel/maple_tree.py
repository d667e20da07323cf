"""The ordered VMA store of an mm, with O(log n) lookup and gap search.

Models the queries mm code makes of the maple tree (lib/maple_tree.c,
include/linux/mm.h ``find_vma()``, ``vma_lookup()``, ``vma_prev()``/
``vma_next()``) and its gap tracking, which ``unmapped_area_topdown()``
(mm/vma.c) uses to find free space without visiting every VMA.

The VMAs are kept sorted in blocks of up to ``2 * BLOCK`` entries.  Lookups
bisect the blocks' first addresses, then the block.  Those addresses are kept in
contiguous arrays (``array("Q")``), as a maple node keeps its pivots inline: a lookup
then reads two small arrays instead of a dozen int objects spread over the heap, which
is what made a fault at 65,530 VMAs cost much more than at 100 (cache and TLB misses).

Each block caches the largest free gap *below the start of* each of its entries'
successors (``maxgap``), recomputed lazily after a change, so a top-down search skips
whole blocks that cannot hold the request — the model's stand-in for the maple tree's
per-node gap tracking.

Follows Linux 7.0 with the "mm: expand mmap_prepare functionality" v4 series applied.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from collections.abc import Iterator
from typing import Generic, Protocol, TypeVar

from .flags import STACK_GUARD_GAP, VMFlag


class VmaEntry(Protocol):
    """What the tree reads of an entry: its range and flags (the kernel's tree stores
    ``void *`` entries and knows nothing of VMAs; mm_types builds on the tree, not back)."""

    vm_start: int
    vm_end: int
    vm_flags: VMFlag


#: The entry type: :class:`~mmaplab.kernel.mm_types.VmAreaStruct` in an mm.
E = TypeVar("E", bound=VmaEntry)

__all__ = ["MapleTree", "VmaEntry", "vm_start_gap", "BLOCK"]

#: Target block size; a block splits when it grows past twice this.
BLOCK = 64


def vm_start_gap(vma: VmaEntry) -> int:
    """``vm_start_gap()``: a VM_GROWSDOWN VMA keeps ``stack_guard_gap`` free below it."""
    if VMFlag.GROWSDOWN in vma.vm_flags:
        return max(vma.vm_start - STACK_GUARD_GAP, 0)
    return vma.vm_start


#: The gap recorded for a block whose summary is stale: "might hold anything".
_UNKNOWN = 1 << 65


class _Block(Generic[E]):
    __slots__ = ("vmas", "starts")

    def __init__(self, vmas: list[E]) -> None:
        self.vmas = vmas
        self.starts = array("Q", [v.vm_start for v in vmas])


class MapleTree(Generic[E]):
    """VMAs sorted by ``vm_start``; ranges never overlap.

    Code that moves a linked VMA's ``vm_start`` calls :meth:`reindex`; code that
    moves its ``vm_end`` calls :meth:`touch` (both only in mm/vma.c's model).
    """

    __slots__ = ("blocks", "firsts", "gaps", "count")

    def __init__(self) -> None:
        self.blocks: list[_Block[E]] = []
        self.firsts = array("Q")  # the first vm_start of each block
        #: Per block: the largest gap above any of its VMAs (``_UNKNOWN`` when stale).
        self.gaps: list[int] = []
        self.count = 0

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[E]:
        for blk in self.blocks:
            yield from blk.vmas

    @property
    def vmas(self) -> list[E]:
        """All VMAs in address order (a new list)."""
        return [v for blk in self.blocks for v in blk.vmas]

    # -- positions ---------------------------------------------------------------
    def _locate(self, addr: int) -> tuple[int, int]:
        """(block, index) of the last VMA with ``vm_start <= addr``; index -1 if none."""
        bi = bisect_right(self.firsts, addr) - 1
        if bi < 0:
            return 0, -1
        return bi, bisect_right(self.blocks[bi].starts, addr) - 1

    def _at(self, bi: int, i: int) -> E | None:
        return self.blocks[bi].vmas[i] if i >= 0 else None

    def _next(self, bi: int, i: int) -> E | None:
        """The VMA after position (bi, i) (i = -1: the very first)."""
        if not self.blocks:
            return None
        blk = self.blocks[bi]
        if i + 1 < len(blk.vmas):
            return blk.vmas[i + 1]
        if bi + 1 < len(self.blocks):
            return self.blocks[bi + 1].vmas[0]
        return None

    def _find_pos(self, vma: E, start: int) -> tuple[int, int]:
        bi = bisect_right(self.firsts, start) - 1  # _locate(), inline: every update runs it
        i = bisect_right(self.blocks[bi].starts, start) - 1 if bi >= 0 else -1
        if i < 0 or self.blocks[bi].vmas[i] is not vma:
            raise KeyError(f"VMA {vma!r} is not in the tree at {start:#x}")
        return bi, i

    def _dirty(self, bi: int) -> None:
        """A change in block ``bi`` can change its summary and its predecessor's (whose
        last gap ends at block ``bi``'s first VMA); no other summary reads block ``bi``."""
        gaps = self.gaps
        gaps[bi] = _UNKNOWN
        if bi:
            gaps[bi - 1] = _UNKNOWN

    # -- queries -------------------------------------------------------------------
    def find(self, addr: int) -> E | None:
        """``find_vma()``: first VMA with ``vm_end > addr`` (may start above addr)."""
        blocks = self.blocks
        if not blocks:
            return None
        bi = bisect_right(self.firsts, addr) - 1  # _locate(), inline: the hottest query
        if bi < 0:
            return blocks[0].vmas[0]
        vmas = blocks[bi].vmas
        i = bisect_right(blocks[bi].starts, addr) - 1
        if i >= 0 and vmas[i].vm_end > addr:
            return vmas[i]
        return self._next(bi, i)

    def lookup(self, addr: int) -> E | None:
        """``vma_lookup()``: the VMA containing ``addr``, if any."""
        blocks = self.blocks
        if not blocks:
            return None
        bi = bisect_right(self.firsts, addr) - 1  # _locate(), inline: every fault runs it
        if bi < 0:
            return None
        i = bisect_right(blocks[bi].starts, addr) - 1
        if i < 0:
            return None
        cur = blocks[bi].vmas[i]
        return cur if cur.vm_end > addr else None

    def prev(self, addr: int) -> E | None:
        """Last VMA that ends at or below ``addr`` (``vma_prev`` from a gap at addr)."""
        if not self.blocks:
            return None
        bi, i = self._locate(addr - 1)
        while i >= 0:
            cur = self.blocks[bi].vmas[i]
            if cur.vm_end <= addr:
                return cur
            i -= 1
            if i < 0 and bi > 0:
                bi -= 1
                i = len(self.blocks[bi].vmas) - 1
        return None

    def next_after(self, addr: int) -> E | None:
        """First VMA starting at or above ``addr``."""
        bi, i = self._locate(addr - 1)
        return self._next(bi, i)

    def range(self, start: int, end: int) -> list[E]:
        """VMAs intersecting ``[start, end)``, in order (``for_each_vma_range``)."""
        out: list[E] = []
        if not self.blocks:
            return out
        bi, i = self._locate(start)
        cur = self._at(bi, i)
        if cur is None or cur.vm_end <= start:
            i += 1
        blocks = self.blocks
        while bi < len(blocks):
            vmas = blocks[bi].vmas
            while i < len(vmas):
                v = vmas[i]
                if v.vm_start >= end:
                    return out
                out.append(v)
                i += 1
            bi += 1
            i = 0
        return out

    # -- updates ----------------------------------------------------------------------
    def insert(self, vma: E) -> None:
        """``vma_iter_store_new()``: the range must be free."""
        start = vma.vm_start
        self.count += 1
        if not self.blocks:
            self.blocks.append(_Block([vma]))
            self.firsts.append(start)
            self.gaps.append(_UNKNOWN)
            return
        bi = max(bisect_right(self.firsts, start) - 1, 0)
        blk = self.blocks[bi]
        i = bisect_right(blk.starts, start)
        blk.vmas.insert(i, vma)
        blk.starts.insert(i, start)
        if i == 0:
            self.firsts[bi] = start
        if len(blk.vmas) > 2 * BLOCK:
            upper = _Block(blk.vmas[BLOCK:])
            del blk.vmas[BLOCK:]
            del blk.starts[BLOCK:]
            self.blocks.insert(bi + 1, upper)
            self.firsts.insert(bi + 1, upper.starts[0])
            self.gaps.insert(bi + 1, _UNKNOWN)
        self._dirty(bi)

    def remove(self, vma: E) -> None:
        """``vma_iter_clear()``: take ``vma`` out of the tree."""
        bi, i = self._find_pos(vma, vma.vm_start)
        blk = self.blocks[bi]
        del blk.vmas[i]
        del blk.starts[i]
        self.count -= 1
        if not blk.vmas:
            del self.blocks[bi]
            del self.firsts[bi]
            del self.gaps[bi]
            if self.blocks:  # the block before it now ends at the next one's first VMA
                self._dirty(bi - 1 if bi == len(self.blocks) else bi)
            return
        if i == 0:
            self.firsts[bi] = blk.starts[0]
        self._dirty(bi)

    def reindex(self, vma: E, old_start: int) -> None:
        """Re-key ``vma`` after its ``vm_start`` moved (order is unchanged by construction)."""
        bi, i = self._find_pos(vma, old_start)
        blk = self.blocks[bi]
        blk.starts[i] = vma.vm_start
        if i == 0:
            self.firsts[bi] = vma.vm_start
        self._dirty(bi)

    def touch(self, vma: E) -> None:
        """``vma``'s ``vm_end`` moved: the gaps around it changed."""
        bi, _ = self._find_pos(vma, vma.vm_start)
        self._dirty(bi)

    # -- gap search ------------------------------------------------------------------
    def _summarise(self, bi: int) -> None:
        """Largest gap above any VMA of block ``bi`` (up to its successor's start gap)."""
        blk = self.blocks[bi]
        vmas = blk.vmas
        best = max((vm_start_gap(b) - a.vm_end for a, b in zip(vmas, vmas[1:], strict=False)),
                   default=-1)
        if bi + 1 < len(self.blocks):
            best = max(best, vm_start_gap(self.blocks[bi + 1].vmas[0]) - vmas[-1].vm_end)
        self.gaps[bi] = best

    def gap_topdown(self, length: int, low: int, high: int) -> int | None:
        """``unmapped_area_topdown()``: the highest ``addr`` with ``[addr, addr+length)``
        free inside ``[low, high)`` (respecting stack guard gaps), or ``None``.

        State: ``below`` = ``blocks[bi].vmas[i]``, candidate gap ``[below.vm_end, upper)``.
        A block whose summary says no gap fits is skipped without visiting its VMAs.
        """
        blocks, gaps = self.blocks, self.gaps
        bi, i = self._locate(high - 1)
        if not blocks or i < 0:
            first = blocks[0].vmas[0] if blocks else None
            upper = high if first is None else min(high, vm_start_gap(first))
            return upper - length if upper - low >= length else None
        nxt = self._next(bi, i)
        upper = high if nxt is None else min(high, vm_start_gap(nxt))
        # The topmost gap is bounded by ``high``, not by a successor: no summary covers it.
        below = blocks[bi].vmas[i]
        if upper - max(low, below.vm_end) >= length:
            return upper - length
        if below.vm_end <= low:
            return None
        upper = min(high, vm_start_gap(below))
        if i > 0:
            i -= 1
        else:
            bi, i, upper = self._skip_down(bi - 1, length, high, upper)
            if bi < 0:
                return upper - length if upper - low >= length else None
        while True:
            if gaps[bi] == _UNKNOWN:
                self._summarise(bi)
            vmas = blocks[bi].vmas
            if gaps[bi] >= length:
                while True:
                    below = vmas[i]
                    if upper - max(low, below.vm_end) >= length:
                        return upper - length
                    if below.vm_end <= low:
                        return None
                    upper = min(high, vm_start_gap(below))
                    if i == 0:
                        break
                    i -= 1
            else:
                upper = min(high, vm_start_gap(vmas[0]))
            bi, i, upper = self._skip_down(bi - 1, length, high, upper)
            if bi < 0:
                return upper - length if upper - low >= length else None

    def _skip_down(self, bi: int, length: int, high: int, upper: int) -> tuple[int, int, int]:
        """From block ``bi`` down, pass over clean blocks whose gaps are all too small.

        Returns the block to walk next (its last VMA) and the gap's upper bound.
        """
        gaps = self.gaps
        top = bi
        while bi >= 0 and gaps[bi] < length:
            bi -= 1
        if bi < top:
            upper = min(high, vm_start_gap(self.blocks[bi + 1].vmas[0]))
        return bi, (len(self.blocks[bi].vmas) - 1 if bi >= 0 else -1), upper
