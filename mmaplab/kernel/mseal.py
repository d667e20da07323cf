"""``mseal(2)``.

Models mm/mseal.c of Linux 7.0: ``do_mseal()`` checks the flags (none are
defined) and the range, refuses a range with any unmapped part with ENOMEM
before changing anything (``range_contains_unmapped()``), then sets VM_SEALED
on every VMA of the range (``mseal_apply()``, splitting or merging through
``vma_modify_flags()``).  Sealing is for good: munmap, MAP_FIXED over it,
mprotect, mremap and discarding madvise on read-only anonymous memory are
refused with EPERM by those calls (mm/vma.c, mm/mprotect.c, mm/mremap.c,
mm/madvise.c); fork copies the seal.
"""

from __future__ import annotations

import errno

from .errors import kerr
from .flags import VMFlag, user_range_end
from .mm_types import MmStruct
from .vma import vma_modify_flags

__all__ = ["do_mseal", "range_contains_unmapped"]


def range_contains_unmapped(mm: MmStruct, start: int, end: int) -> bool:
    """``range_contains_unmapped()``: is any part of ``[start, end)`` a hole?"""
    prev_end = start
    for vma in mm.mt.range(start, end):
        if vma.vm_start > prev_end:
            return True
        prev_end = vma.vm_end
    return prev_end < end


def do_mseal(mm: MmStruct, start: int, len_in: int, flags: int) -> None:
    """``do_mseal()`` (the caller holds the mmap write lock)."""
    if flags:
        raise kerr(errno.EINVAL, f"mseal flags must be 0, not {flags:#x}")
    end = user_range_end(start, len_in)
    if end == start:
        return
    with mm.trace.enter("do_mseal", f"{start:#x}-{end:#x}"):
        if range_contains_unmapped(mm, start, end):
            raise kerr(errno.ENOMEM, f"{start:#x}-{end:#x} is not all mapped")
        vma = mm.mt.lookup(start)
        assert vma is not None
        prev = vma if start > vma.vm_start else mm.mt.prev(vma.vm_start)
        cur_start = start
        while vma is not None and vma.vm_start < end:
            cur_end = min(vma.vm_end, end)
            if VMFlag.SEALED not in vma.vm_flags:
                vma, flags_now = vma_modify_flags(mm, prev, vma, cur_start, cur_end,
                                                  vma.vm_flags | VMFlag.SEALED)
                vma.vm_flags = flags_now | VMFlag.SEALED
            prev = vma
            cur_start = cur_end
            vma = mm.mt.find(max(cur_end, vma.vm_end))
