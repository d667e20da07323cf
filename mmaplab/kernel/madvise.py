"""``madvise(2)``.

Models mm/madvise.c of Linux 7.0: ``do_madvise()`` validates the advice and the
range, then ``madvise_walk_vmas()`` visits every VMA of the range.  A hole does
not stop the walk: the VMAs around it are advised and the call returns ENOMEM
at the end.  An error on a VMA stops the walk at once (earlier VMAs keep their
change).  Advice that changes VMA flags goes through ``madvise_update_vma()``
(merge or split via ``vma_modify_flags()``); a split that runs out of memory is
reported as EAGAIN, as Linux does.  MADV_DONTNEED zaps the PTEs
(``zap_page_range_single()``): anonymous memory reads back as zeroes, a private
file mapping shows the file again.  On a sealed VMA, discarding advice is
refused with EPERM where it would discard read-only anonymous data
(``can_madvise_modify()``, mm/madvise.c + mm/mseal.c).
"""

from __future__ import annotations

import errno

from .errors import kerr
from .flags import (
    MADV_DODUMP,
    MADV_DOFORK,
    MADV_DONTDUMP,
    MADV_DONTFORK,
    MADV_DONTNEED,
    MADV_KEEPONFORK,
    MADV_NORMAL,
    MADV_RANDOM,
    MADV_SEQUENTIAL,
    MADV_WILLNEED,
    MADV_WIPEONFORK,
    VM_SPECIAL,
    VMFlag,
    user_range_end,
)
from .mm_types import MmStruct, VmAreaStruct
from .vma import vma_modify_flags

__all__ = ["do_madvise", "madvise_update_vma", "MODELLED_ADVICE"]

#: The advice the model implements (``madvise_behavior_valid()`` knows more).
MODELLED_ADVICE = frozenset({
    MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_WILLNEED, MADV_DONTNEED, MADV_DONTFORK,
    MADV_DOFORK, MADV_DONTDUMP, MADV_DODUMP, MADV_WIPEONFORK, MADV_KEEPONFORK,
})
#: Valid on Linux 7.0 but not modelled: FREE, REMOVE, MERGEABLE, UNMERGEABLE, HUGEPAGE,
#: NOHUGEPAGE, COLD, PAGEOUT, POPULATE_READ/WRITE, DONTNEED_LOCKED, COLLAPSE, GUARD_*, ...
_UNMODELLED_ADVICE = frozenset({8, 9, 12, 13, 14, 15, 20, 21, 22, 23, 24, 25, 100, 101, 102, 103})
#: ``is_discard()`` (mm/madvise.c): advice that may throw data away.
_DISCARD = frozenset({MADV_DONTNEED, MADV_DONTFORK, MADV_WIPEONFORK})


def _is_ro_anon(vma: VmAreaStruct) -> bool:
    """``is_ro_anon()``: private anonymous memory the user cannot write."""
    anon = vma.vm_file is None and VMFlag.SHARED not in vma.vm_flags
    return anon and VMFlag.WRITE not in vma.vm_flags


def can_madvise_modify(vma: VmAreaStruct, behavior: int) -> bool:
    """``can_madvise_modify()``: a sealed VMA refuses discarding read-only anonymous data."""
    if VMFlag.SEALED not in vma.vm_flags or behavior not in _DISCARD:
        return True
    return not _is_ro_anon(vma)


def _new_flags(vma: VmAreaStruct, behavior: int) -> VMFlag:
    """The flags an advice gives ``vma``; raises EINVAL where ``madvise_vma_behavior()`` does."""
    new = vma.vm_flags
    if behavior == MADV_NORMAL:
        return new & ~(VMFlag.RAND_READ | VMFlag.SEQ_READ)
    if behavior == MADV_SEQUENTIAL:
        return (new & ~VMFlag.RAND_READ) | VMFlag.SEQ_READ
    if behavior == MADV_RANDOM:
        return (new & ~VMFlag.SEQ_READ) | VMFlag.RAND_READ
    if behavior == MADV_DONTFORK:
        return new | VMFlag.DONTCOPY
    if behavior == MADV_DOFORK:
        if VMFlag.IO in new:
            raise kerr(errno.EINVAL, "MADV_DOFORK on a VM_IO mapping")
        return new & ~VMFlag.DONTCOPY
    if behavior == MADV_WIPEONFORK:
        if vma.vm_file is not None or VMFlag.SHARED in new:
            raise kerr(errno.EINVAL, "MADV_WIPEONFORK is for private anonymous memory only")
        return new | VMFlag.WIPEONFORK
    if behavior == MADV_KEEPONFORK:
        if VMFlag.DROPPABLE in new:
            raise kerr(errno.EINVAL, "MADV_KEEPONFORK on a MAP_DROPPABLE mapping")
        return new & ~VMFlag.WIPEONFORK
    if behavior == MADV_DONTDUMP:
        return new | VMFlag.DONTDUMP
    assert behavior == MADV_DODUMP
    if (VMFlag.HUGETLB not in new and new & VM_SPECIAL) or VMFlag.DROPPABLE in new:
        raise kerr(errno.EINVAL, "MADV_DODUMP on a VM_SPECIAL or droppable mapping")
    return new & ~VMFlag.DONTDUMP


def madvise_update_vma(mm: MmStruct, prev: VmAreaStruct | None, vma: VmAreaStruct, start: int,
                       end: int, new_flags: VMFlag) -> VmAreaStruct:
    """``madvise_update_vma()``: apply ``new_flags`` to ``[start, end)`` (merge or split)."""
    if new_flags == vma.vm_flags:
        return vma
    try:
        vma, new_flags = vma_modify_flags(mm, prev, vma, start, end, new_flags)
    except OSError as exc:
        if exc.errno == errno.ENOMEM:  # "temporarily unavailable" kernel resources
            raise kerr(errno.EAGAIN, f"madvise: {exc}") from exc
        raise
    vma.vm_flags = new_flags
    return vma


def _dontneed(mm: MmStruct, vma: VmAreaStruct, start: int, end: int) -> None:
    """``madvise_dontneed_free()``: EINVAL on VM_LOCKED/VM_PFNMAP, else zap the PTEs."""
    if vma.vm_flags & (VMFlag.LOCKED | VMFlag.PFNMAP) and VMFlag.HUGETLB not in vma.vm_flags:
        raise kerr(errno.EINVAL, "MADV_DONTNEED on a VM_LOCKED or VM_PFNMAP mapping")
    mm.trace.step("zap_page_range_single", f"{start:#x}-{end:#x}")
    mm.pagetable.zap(start, end)


def madvise_vma_behavior(mm: MmStruct, prev: VmAreaStruct | None, vma: VmAreaStruct, start: int,
                         end: int, behavior: int) -> VmAreaStruct:
    """``madvise_vma_behavior()``: one VMA; returns the VMA now covering the range."""
    if not can_madvise_modify(vma, behavior):
        raise kerr(errno.EPERM, "the mapping is sealed (read-only anonymous memory)")
    if behavior == MADV_DONTNEED:
        _dontneed(mm, vma, start, end)
        return vma
    if behavior == MADV_WILLNEED:
        return vma  # readahead / swap-in: nothing the model can observe
    return madvise_update_vma(mm, prev, vma, start, end, _new_flags(vma, behavior))


def do_madvise(mm: MmStruct, start: int, len_in: int, behavior: int) -> None:
    """``do_madvise()`` + ``madvise_walk_vmas()`` (the caller holds the mmap lock)."""
    if behavior not in MODELLED_ADVICE:
        if behavior in _UNMODELLED_ADVICE:
            raise kerr(errno.EINVAL, f"advice {behavior} is valid on Linux but not modelled")
        raise kerr(errno.EINVAL, f"unknown advice {behavior}")
    end = user_range_end(start, len_in)  # is_valid_madvise()
    if end == start:
        return
    with mm.trace.enter("do_madvise", f"{start:#x}-{end:#x} advice={behavior}"):
        unmapped_error = False
        vma = mm.mt.find(start)
        prev = vma if vma is not None and start > vma.vm_start else mm.mt.prev(start)
        while True:
            if vma is None:
                raise kerr(errno.ENOMEM, f"{start:#x}-{end:#x} is not mapped")
            if start < vma.vm_start:
                unmapped_error = True
                start = vma.vm_start
                if start >= end:
                    break
            tmp = min(vma.vm_end, end)
            prev = madvise_vma_behavior(mm, prev, vma, start, tmp, behavior)
            start = max(tmp, prev.vm_end) if prev is not None else tmp
            if start >= end:
                break
            vma = mm.mt.find(start)
        if unmapped_error:
            raise kerr(errno.ENOMEM, "part of the range is not mapped (the rest was advised)")
