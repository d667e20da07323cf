"""The page table (mmaplab.kernel.pgtable.PageTable): a range operation costs the PTEs
present, not the size of the range (``walk_page_range()`` skips ``pmd_none()``).

The cost is counted, not timed: every table of the page table is replaced by a dict that
counts each access to it and fails the test once an operation goes past a bound (so an
O(range) walk of a 1 TiB range fails at once instead of running for hours).
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from mmaplab import MAP_ANONYMOUS, MAP_NORESERVE, MAP_PRIVATE, MM, PAGE_SIZE, PROT_READ, PROT_WRITE
from mmaplab.kernel.page_alloc import Page
from mmaplab.kernel.pgtable import PMD_SHIFT, PTRS_PER_PTE, PageTable, Pgprot, Pte

TiB = 1 << 40
ANON_NORESERVE = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE


class _Budget:
    def __init__(self, limit: int) -> None:
        self.limit, self.used = limit, 0

    def spend(self, n: int = 1) -> None:
        self.used += n
        if self.used > self.limit:
            raise AssertionError(f"more than {self.limit} page-table accesses")


class CountingTable(dict[int, Pte]):
    """A page-table page whose every read, test, iteration step and removal is counted."""

    budget: _Budget

    def __contains__(self, key: object) -> bool:
        self.budget.spend()
        return super().__contains__(key)

    def __getitem__(self, key: int) -> Pte:
        self.budget.spend()
        return super().__getitem__(key)

    def get(self, key: int, default: Any = None) -> Any:
        self.budget.spend()
        return super().get(key, default)

    def pop(self, key: int, *default: Any) -> Any:
        self.budget.spend()
        return super().pop(key, *default)

    def __iter__(self) -> Any:
        for k in super().__iter__():
            self.budget.spend()
            yield k


def _count_accesses(pt: PageTable, limit: int) -> _Budget:
    budget = _Budget(limit)
    for pmd, table in list(pt.tables.items()):
        counted = CountingTable(table)
        counted.budget = budget
        pt.tables[pmd] = counted
    return budget


#: PTEs mapped outside the huge range: four full tables a range walk must not read.
OUTSIDE = 4 * PTRS_PER_PTE


def _mm_with_three_ptes() -> tuple[MM, int, list[int]]:
    """A 1 TiB mapping with three PTEs, and another mapping with OUTSIDE PTEs."""
    mm = MM()
    other = mm.mmap(None, OUTSIDE * PAGE_SIZE, PROT_READ, ANON_NORESERVE)
    for i in range(OUTSIDE):
        mm.fault(other + i * PAGE_SIZE)
    base = mm.mmap(None, TiB, PROT_READ | PROT_WRITE, ANON_NORESERVE)
    pages = [base, base + TiB // 2 + 5 * PAGE_SIZE, base + TiB - PAGE_SIZE]
    for a in pages:
        mm.fault(a, write=True)
    assert len(mm.pagetable) == OUTSIDE + 3
    return mm, base, pages


def test_huge_mprotect_visits_only_the_tables_present() -> None:
    mm, base, pages = _mm_with_three_ptes()
    # Three PTEs 2^27 pages apart: three tables, besides the other mapping's.
    assert len(mm.pagetable.tables) == 3 + OUTSIDE // PTRS_PER_PTE
    budget = _count_accesses(mm.pagetable, limit=100)
    mm.mprotect(base, TiB, PROT_READ)
    assert 0 < budget.used <= 100
    ptes = mm.pagetable.entries(base, base + TiB)
    assert list(ptes) == pages
    assert all(Pgprot.RW not in p.prot and Pgprot.PRESENT in p.prot for p in ptes.values())


def test_huge_munmap_visits_only_the_tables_present() -> None:
    mm, base, pages = _mm_with_three_ptes()
    ptes = [mm.pagetable.lookup(a) for a in pages]
    anon = [p.page for p in ptes if p is not None and p.page is not None]
    assert len(anon) == 3
    budget = _count_accesses(mm.pagetable, limit=100)
    mm.munmap(base, TiB)
    assert 0 < budget.used <= 100
    assert len(mm.pagetable) == OUTSIDE and len(mm.pagetable.pmds) == OUTSIDE // PTRS_PER_PTE
    assert mm.maps().count("\n") == 1  # the other mapping
    assert [p.mapcount for p in anon] == [0, 0, 0]  # zap dropped each page's mapping


def test_a_one_page_zap_in_a_full_table_does_not_scan_it() -> None:
    pt = PageTable()
    for i in range(PTRS_PER_PTE):
        pt.set(i * PAGE_SIZE, Pte(i, Pgprot.PRESENT))
    budget = _count_accesses(pt, limit=10)
    assert [p.pfn for p in pt.zap(7 * PAGE_SIZE, 8 * PAGE_SIZE)] == [7]
    assert budget.used <= 10
    budget.limit = 10**6  # now read the whole table
    assert len(pt) == PTRS_PER_PTE - 1 and pt.count(0, PTRS_PER_PTE * PAGE_SIZE) == 511


def test_zap_drops_page_counts_but_not_for_special_ptes() -> None:
    pt = PageTable()
    page = Page(0x42, kind="anon")
    page.mapcount = page.refcount = 1
    pt.set(0, Pte(page.pfn, Pgprot.PRESENT, page))
    pt.set(PAGE_SIZE, Pte(0x99, Pgprot.PRESENT, None, special=True))
    assert len(pt.zap(0, 2 * PAGE_SIZE)) == 2
    assert (page.mapcount, page.refcount) == (0, 0)


# Page numbers over a few tables, so ranges cross table edges.
_VPNS = st.integers(0, 4 * PTRS_PER_PTE - 1)
_OPS = st.lists(st.tuples(st.sampled_from(["set", "clear", "zap"]), _VPNS, _VPNS),
                max_size=60)


@settings(max_examples=150, derandomize=True, deadline=None)
@given(ops=_OPS, query=st.tuples(_VPNS, _VPNS))
def test_range_operations_agree_with_a_flat_dict(ops: list[tuple[str, int, int]],
                                                 query: tuple[int, int]) -> None:
    """Against the obvious model (one dict of every PTE, ranges scanned page by page)."""
    pt, flat = PageTable(), {}
    for op, a, b in ops:
        lo, hi = min(a, b), max(a, b) + 1
        if op == "set":
            flat[a] = pte = Pte(a, Pgprot.PRESENT)
            pt.set(a * PAGE_SIZE, pte)
        elif op == "clear":
            assert pt.clear(a * PAGE_SIZE) is flat.pop(a, None)
        else:
            gone = [flat.pop(k) for k in range(lo, hi) if k in flat]
            assert pt.zap(lo * PAGE_SIZE, hi * PAGE_SIZE) == gone
    lo, hi = min(query), max(query) + 1
    want = {k * PAGE_SIZE: flat[k] for k in sorted(flat) if lo <= k < hi}
    assert pt.entries(lo * PAGE_SIZE, hi * PAGE_SIZE) == want
    assert pt.count(lo * PAGE_SIZE, hi * PAGE_SIZE) == len(want)
    assert pt.entries() == {k * PAGE_SIZE: flat[k] for k in sorted(flat)}
    assert len(pt) == len(flat)
    for k in range(4 * PTRS_PER_PTE):
        assert pt.lookup(k * PAGE_SIZE) is flat.get(k)
    # No empty table is kept, and the index lists exactly the tables, in order.
    assert pt.pmds == sorted(pt.tables) == sorted({k * PAGE_SIZE >> PMD_SHIFT for k in flat})
