"""Reports are readable: wrapped to 100 columns, flags by name, VMAs numbered per mm."""

from __future__ import annotations

from mmaplab import MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, MAP_SHARED, MM, PAGE_SIZE, PROT_READ
from mmaplab.kernel.debug.report_text import WIDTH, wrap
from mmaplab.kernel.flags import PROT_WRITE, map_flags_names, prot_names


def test_wrap_keeps_every_word_and_indents_continuations():
    text = "  rule [x]: " + " ".join(f"w{i}" for i in range(80)) + "\nshort"
    out = wrap(text)
    lines = out.split("\n")
    assert max(map(len, lines)) <= WIDTH and len(lines) > 3
    assert lines[1].startswith("      w") and lines[-1] == "short"
    assert out.split() == text.split()


def test_flags_and_prot_by_name():
    assert prot_names(PROT_READ | PROT_WRITE) == "PROT_READ|PROT_WRITE"
    assert prot_names(0) == "PROT_NONE"
    assert map_flags_names(MAP_SHARED | MAP_FIXED) == "MAP_SHARED|MAP_FIXED"
    assert map_flags_names(MAP_PRIVATE | MAP_ANONYMOUS) == "MAP_PRIVATE|MAP_ANONYMOUS"
    assert map_flags_names(MAP_SHARED | 0x40000000) == "MAP_SHARED|0x40000000"  # never dropped


def test_vma_numbers_are_per_mm():
    numbers = []
    for _ in range(2):
        mm = MM(trace=True)
        mm.mmap(None, 2 * PAGE_SIZE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS)
        numbers.append([v.nr for v in mm.vmas()])
    assert numbers == [[1], [1]]
    vma = mm.vmas()[0]
    mm.mprotect(vma.vm_start, PAGE_SIZE, PROT_READ | PROT_WRITE)  # split: a second VMA
    assert sorted(v.nr for v in mm.vmas()) == [1, 2]
    child = mm.fork()
    assert sorted(v.nr for v in child.vmas()) == [1, 2]
