"""The VMA store: ordered queries and the block-skipping top-down gap search.

The gap search must return exactly what a plain walk over every VMA returns
(``unmapped_area_topdown()`` semantics, stack guard gaps included), whatever
the history of inserts, removals and boundary moves.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mmaplab.kernel.flags import PAGE_SIZE as P
from mmaplab.kernel.flags import VMFlag
from mmaplab.kernel.maple_tree import MapleTree, vm_start_gap
from mmaplab.kernel.mm_types import VmAreaStruct
from tests.tiers import examples

BASE = 0x10000


def naive_topdown(vmas: list[VmAreaStruct], length: int, low: int, high: int) -> int | None:
    upper = high
    for v in reversed(vmas):
        if v.vm_start >= high:
            upper = min(high, vm_start_gap(v))
            continue
        if upper - max(low, v.vm_end) >= length:
            return upper - length
        if v.vm_end <= low:
            return None
        upper = min(high, vm_start_gap(v))
    return upper - length if upper - low >= length else None


layouts = st.lists(st.tuples(st.sampled_from([0, 0, 0, 1, 2, 10]), st.integers(1, 3),
                             st.booleans()), max_size=400)


@settings(max_examples=examples(120), deadline=None)
@given(layout=layouts, seed=st.randoms(use_true_random=False),
       queries=st.lists(st.tuples(st.sampled_from([1, 2, 5, 20, 1000]),
                                  st.integers(0, 300), st.integers(0, 3000)), min_size=1,
                        max_size=15))
def test_gap_search_matches_a_linear_walk(layout, seed, queries):
    vmas, addr = [], BASE
    for gap, pages, growsdown in layout:
        addr += gap * P
        flags = VMFlag.GROWSDOWN if growsdown and gap == 10 else VMFlag.READ
        vmas.append(VmAreaStruct(None, addr, addr + pages * P, 0, flags))
        addr += pages * P
    mt = MapleTree()
    for v in seed.sample(vmas, len(vmas)):
        mt.insert(v)
    for _ in range(seed.randint(0, 40)):  # removals and shrinking ends
        if not vmas:
            break
        v = seed.choice(vmas)
        if seed.random() < 0.5 or v.pages == 1:
            mt.remove(v)
            vmas.remove(v)
        else:
            v.vm_end -= P
            mt.touch(v)
    assert list(mt) == vmas and len(mt) == len(vmas)
    for pages, low_off, high_off in queries:
        low, high = BASE + low_off * P, BASE + high_off * P
        if high <= low:
            continue
        assert mt.gap_topdown(pages * P, low, high) == naive_topdown(vmas, pages * P, low, high)


def test_queries_across_blocks():
    mt = MapleTree()
    vmas = [VmAreaStruct(None, BASE + 2 * i * P, BASE + (2 * i + 1) * P, 0, VMFlag.READ)
            for i in range(1000)]
    for v in vmas:
        mt.insert(v)
    assert len(mt.blocks) > 1
    assert mt.find(BASE + 3 * P) is vmas[2] and mt.lookup(BASE + 3 * P) is None
    assert mt.prev(BASE + 3 * P) is vmas[1] and mt.next_after(BASE + 3 * P) is vmas[2]
    assert mt.range(BASE + P, BASE + 7 * P) == vmas[1:4]
    for v in vmas[::2]:
        mt.remove(v)
    assert list(mt) == vmas[1::2]
