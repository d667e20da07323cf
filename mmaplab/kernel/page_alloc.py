"""Physical pages: ``struct page`` and a deterministic page allocator.

Models ``alloc_page()`` (mm/page_alloc.c) and the refcount/mapcount fields of
``struct page`` (include/linux/mm_types.h) just far enough to observe which
physical page each PTE points at and whether pages leak.  Pfns are handed out
from a fixed base in allocation order, so notebook outputs are reproducible.

Follows Linux 7.0 with the "mm: expand mmap_prepare functionality" v4 series applied.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Page", "alloc_page", "alloc_pages", "ZERO_PFN", "pfn_to_page", "RAM_BASE_PFN"]

#: The shared zero page read faults on anonymous memory map (``my_zero_pfn()``).
ZERO_PFN = 0x1000
#: First pfn the allocator hands out.
RAM_BASE_PFN = 0x10000


@dataclass(eq=False, slots=True)
class Page:
    """A physical page frame: ``pfn``, ``refcount`` (``page_ref_count``), ``mapcount``."""

    pfn: int
    refcount: int = 1
    mapcount: int = 0
    kind: str = "anon"
    data: dict[int, int] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"<page pfn={self.pfn:#x} {self.kind} ref={self.refcount} map={self.mapcount}>"


class _Allocator:
    def __init__(self) -> None:
        self.next_pfn = RAM_BASE_PFN
        self.pages: dict[int, Page] = {}

    def reset(self) -> None:
        """Forget every page and number from ``RAM_BASE_PFN`` again."""
        self.next_pfn = RAM_BASE_PFN
        self.pages.clear()

    def alloc(self, kind: str) -> Page:
        """The next pfn, as a fresh page with refcount 1."""
        page = Page(self.next_pfn, kind=kind)
        self.pages[page.pfn] = page
        self.next_pfn += 1
        return page


_allocator = _Allocator()
ZERO_PAGE = Page(ZERO_PFN, refcount=1, kind="zero")


def alloc_page(kind: str = "anon") -> Page:
    """``alloc_page()``: a fresh page with refcount 1."""
    return _allocator.alloc(kind)


def alloc_pages(n: int, kind: str = "kernel") -> list[Page]:
    """``n`` pages, as a driver's ``vmalloc``/``alloc_pages`` buffer would be."""
    return [_allocator.alloc(kind) for _ in range(n)]


def pfn_to_page(pfn: int) -> Page | None:
    """``pfn_to_page()`` for RAM; ``None`` for I/O memory (no struct page)."""
    if pfn == ZERO_PFN:
        return ZERO_PAGE
    return _allocator.pages.get(pfn)


def reset_allocator() -> None:
    """Restart pfn numbering (tests and notebooks call this for reproducible output)."""
    _allocator.reset()
