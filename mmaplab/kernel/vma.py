"""VMA merging, splitting and unmapping.

Models mm/vma.c of Linux 7.0 (unchanged there by the v4 series): ``vma_merge_new_range()``,
``vma_merge_existing_range()``, ``commit_merge()``, ``vma_modify()``/``vma_modify_flags()``,
``split_vma()``/``__split_vma()``, ``vms_gather_munmap_vmas()``,
``vms_clean_up_area()``, ``vms_complete_munmap_vmas()``,
``vms_abort_munmap_vmas()``, ``do_vmi_munmap()``, and the rmap linking
helpers ``vma_link_file()``/``unlink_file_vma()``.  The merge rules are those
encoded by the kernel's userland VMA tests (tools/testing/vma).

Every function here runs with ``mmap_lock`` held for write by the system call
(``MM._locked``); the ones that change a file VMA's range take that file's rmap lock
(``i_mmap_rwsem``) themselves, as ``vma_prepare()``/``vma_complete()`` do.

The merge cases (our drawings; ``----`` a VMA that stays, ``****`` the range being
mapped or changed, ``xxxx`` a VMA that a merge removes, ``|`` adjacent edges):

A new range (``vma_merge_new_range()``, called by mmap and brk)::

       prev     new     next          result
    |-------|*******|-------|   ->  |-----------------------|   both: prev grows,
                                                                next is removed
    |-------|*******|               |---------------|           left: prev grows
            |*******|-------|               |---------------|   right: next starts lower

An existing range ``[start, end)`` of ``middle`` changes its attributes
(``vma_merge_existing_range()``, called by mprotect, madvise, mlock)::

       prev   middle    next          result
    |-------|xxxxxxxx|-------|  ->  |------------------------|  the whole middle, both
                                                               sides: prev absorbs
                                                               middle and next
    |-------|xxxxxxxx|              |----------------|          the whole middle, left
             |xxxxxxxx|-------|             |----------------|  the whole middle, right
    |-------|****----|              |-----------|----|          the start of middle:
                                                               prev grows, middle shrinks
             |----****|-------|             |----|-----------|  its end: next starts lower,
                                                               middle shrinks

A change in the interior of ``middle`` never merges: the caller splits instead.
All of them end in :func:`commit_merge`, as the kernel's do.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass, field

from .debug import events
from .errors import kerr
from .flags import PAGE_SHIFT, VM_IGNORE_MERGE, VM_SPECIAL, VM_STICKY, VMFlag, vmflag
from .fs import File, fput, get_file
from .hooks import call_hook, call_void_hook
from .mm_types import AnonVma, MmStruct, VmAreaStruct, vm_area_free, vma_dummy_vm_ops

__all__ = [
    "vma_merge_new_range", "vma_merge_existing_range", "vma_modify_flags", "split_vma",
    "do_vmi_munmap", "MunmapState", "vms_gather_munmap_vmas", "vms_clean_up_area",
    "vms_complete_munmap_vmas", "vms_abort_munmap_vmas", "vma_link", "vma_close", "remove_vma",
    "copy_vma", "vma_merge_extend",
]


# -- rmap (i_mmap) linking ----------------------------------------------------

def vma_link_file(mm: MmStruct, vma: VmAreaStruct, hold_rmap_lock: bool = False) -> None:
    """``vma_link_file()``: add a file VMA to the file's rmap, under ``i_mmap_rwsem``.

    With ``hold_rmap_lock`` the lock stays held so rmap walkers cannot see the
    VMA until ``mmap_action_complete()`` drops it ("hide from rmap").
    """
    file = vma.vm_file
    if file is None:
        return
    mapping = file.f_mapping
    mapping.i_mmap_rwsem.down_write(mm.trace.where)
    mapping.i_mmap[vma.serial] = vma
    if not hold_rmap_lock:
        mapping.i_mmap_rwsem.up_write()


def unlink_file_vma(mm: MmStruct, vma: VmAreaStruct) -> None:
    """``unlink_file_vma()``: remove a file VMA from the rmap, under ``i_mmap_rwsem``."""
    file = vma.vm_file
    if file is None:
        return
    mapping = file.f_mapping
    mapping.i_mmap_rwsem.down_write(mm.trace.where)
    mapping.i_mmap.pop(vma.serial, None)
    mapping.i_mmap_rwsem.up_write()


def vma_link(mm: MmStruct, vma: VmAreaStruct, hold_rmap_lock: bool = False) -> None:
    """Insert into the mm's tree and the file rmap (``vma_iter_store_new`` + link)."""
    mm.mt.insert(vma)
    vma.detached = False
    mm.total_vm += (vma.vm_end - vma.vm_start) >> PAGE_SHIFT
    vma_link_file(mm, vma, hold_rmap_lock)
    if mm.observers:  # the event point costs nothing when nobody listens
        events.vma_linked(mm, vma)


def _rmap_lock(mm: MmStruct, vma: VmAreaStruct) -> None:
    """``vma_prepare()`` takes the file's rmap lock around a VMA's range change."""
    if vma.vm_file is not None:
        vma.vm_file.f_mapping.i_mmap_rwsem.down_write(mm.trace.where)


def _rmap_unlock(vma: VmAreaStruct) -> None:
    """``vma_complete()`` drops it."""
    if vma.vm_file is not None:
        vma.vm_file.f_mapping.i_mmap_rwsem.up_write()


def vma_close(vma: VmAreaStruct) -> None:
    """``vma_close()``: call ``close`` once and swap in dummy ops so it never runs twice."""
    ops = vma.vm_ops
    if ops is not None and ops.close is not None:
        mm = vma.vm_mm
        if mm is not None:
            mm.trace.step(f"{ops.name}->close", f"{vma.vm_start:#x}-{vma.vm_end:#x}")
        call_void_hook(f"{ops.name}->close", ops.close, vma)
    if ops is not None:
        vma.vm_ops = vma_dummy_vm_ops


def remove_vma(mm: MmStruct, vma: VmAreaStruct) -> None:
    """``remove_vma()``: close, drop the file reference, free the VMA."""
    with mm.trace.enter("remove_vma", f"{vma.vm_start:#x}-{vma.vm_end:#x}"
                        if mm.trace.enabled else ""):
        vma_close(vma)
        if vma.vm_file is not None:
            fput(vma.vm_file)
        vm_area_free(vma, mm.trace.where)


def _drop_merged(mm: MmStruct, vma: VmAreaStruct) -> None:
    """A VMA absorbed by a merge: unlinked and freed *without* ``close`` (it had none).

    The caller holds the file's rmap lock (``vma_prepare()`` took it for the
    whole merge), so the VMA leaves ``i_mmap`` without taking it again.
    """
    mm.mt.remove(vma)
    mm.total_vm -= (vma.vm_end - vma.vm_start) >> PAGE_SHIFT
    if vma.vm_file is not None:
        vma.vm_file.f_mapping.i_mmap.pop(vma.serial, None)
        fput(vma.vm_file)
    vm_area_free(vma, mm.trace.where)


# -- merge compatibility ------------------------------------------------------

def _had_uncowed_parents(vma: VmAreaStruct | None) -> bool:
    """``vma_had_uncowed_parents()``: an anon_vma chain longer than one (fork child)."""
    return vma is not None and vma.anon_vma is not None and len(vma.anon_vma_chain) > 1


# The hot merge checks test flags as ints (``flags._value_``): see flags.vmflag.
_MERGE_MASK = ~VM_IGNORE_MERGE._value_
_SPECIAL, _STICKY = VM_SPECIAL._value_, VM_STICKY._value_
_SEALED, _ACCOUNT, _LOCKED = (VMFlag.SEALED._value_, VMFlag.ACCOUNT._value_,
                              VMFlag.LOCKED._value_)


def is_mergeable_vma(target: VmAreaStruct, flags: VMFlag, file: File | None) -> bool:
    """``is_mergeable_vma()``: same file object and same flags but for the sticky ones.

    Mempolicy, userfaultfd context and anon names are not modelled (always equal).
    """
    return target.vm_file is file and not (
        (target.vm_flags._value_ ^ flags._value_) & _MERGE_MASK)


def is_mergeable_anon_vma(target: VmAreaStruct, src_anon: AnonVma | None,
                          src: VmAreaStruct | None) -> bool:
    """``is_mergeable_anon_vma()`` (6.12+ form)."""
    tgt_anon = target.anon_vma
    if tgt_anon is None and src_anon is not None:
        return not _had_uncowed_parents(src)
    if tgt_anon is not None and src_anon is None:
        return not _had_uncowed_parents(target)
    return src_anon is tgt_anon


def are_anon_vmas_compatible(a: VmAreaStruct, b: VmAreaStruct) -> bool:
    """``are_anon_vmas_compatible()``: prev and next may share the merged anon_vma."""
    return a.anon_vma is None or b.anon_vma is None or a.anon_vma is b.anon_vma


def can_merge_remove_vma(vma: VmAreaStruct) -> bool:
    """``can_merge_remove_vma()``: a merge may not delete a VMA that has ``close``."""
    return vma.vm_ops is None or vma.vm_ops.close is None


@dataclass(slots=True)
class VmaMergeStruct:
    """``struct vma_merge_struct``: the proposed range and its attributes."""

    prev: VmAreaStruct | None
    next: VmAreaStruct | None
    start: int
    end: int
    pgoff: int
    flags: VMFlag
    file: File | None
    anon_vma: AnonVma | None = None
    middle: VmAreaStruct | None = None
    #: ``vmg->state == VMA_MERGE_ERROR_NOMEM``: the merge was possible but its tree
    #: preallocation failed.  Each caller decides (mmap and copy_vma go on to a new VMA;
    #: brk and mremap's in-place grow fail with ENOMEM).
    nomem: bool = False


def _can_merge_left(vmg: VmaMergeStruct) -> bool:
    """``can_vma_merge_left()`` / ``can_vma_merge_after()``."""
    prev = vmg.prev
    return (
        prev is not None and prev.vm_end == vmg.start
        and is_mergeable_vma(prev, vmg.flags, vmg.file)
        and is_mergeable_anon_vma(prev, vmg.anon_vma, vmg.middle)
        and prev.vm_pgoff + ((prev.vm_end - prev.vm_start) >> PAGE_SHIFT) == vmg.pgoff
    )


def _can_merge_right(vmg: VmaMergeStruct, can_left: bool) -> bool:
    """``can_vma_merge_right()`` / ``can_vma_merge_before()``."""
    nxt = vmg.next
    if not (
        nxt is not None and vmg.end == nxt.vm_start
        and is_mergeable_vma(nxt, vmg.flags, vmg.file)
        and is_mergeable_anon_vma(nxt, vmg.anon_vma, vmg.middle)
        and nxt.vm_pgoff == vmg.pgoff + ((vmg.end - vmg.start) >> PAGE_SHIFT)
    ):
        return False
    if not can_left:
        return True
    assert vmg.prev is not None
    return are_anon_vmas_compatible(vmg.prev, nxt)


def _dup_anon_vma(dst: VmAreaStruct, src: VmAreaStruct | None) -> None:
    """``dup_anon_vma()``: the surviving target inherits an anon_vma it lacks."""
    if src is not None and src.anon_vma is not None and dst.anon_vma is None:
        dst.anon_vma = src.anon_vma
        dst.anon_vma_chain = src.anon_vma_chain


def _set_range(mm: MmStruct, vma: VmAreaStruct, start: int, end: int, pgoff: int) -> None:
    old_start, old_pages = vma.vm_start, (vma.vm_end - vma.vm_start) >> PAGE_SHIFT
    vma.vm_start, vma.vm_end, vma.vm_pgoff = start, end, pgoff
    if not vma.detached:
        if start != old_start:
            mm.mt.reindex(vma, old_start)
        else:
            mm.mt.touch(vma)
        mm.total_vm += ((vma.vm_end - vma.vm_start) >> PAGE_SHIFT) - old_pages


def _prealloc_failed(mm: MmStruct) -> bool:
    return mm.inject is not None and mm.should_fail("vma_iter_prealloc")


@dataclass(slots=True)
class MergeCommit:
    """What one merge changes; the kernel keeps these in ``vma_merge_struct`` (``target``,
    ``__remove_middle``/``__remove_next``, ``__adjust_middle_start``/``__adjust_next_start``).
    """

    #: The VMA that survives and covers the merged range: ``[start, end)`` at ``pgoff``.
    target: VmAreaStruct
    start: int
    end: int
    pgoff: int
    #: A VMA whose anon_vma the target inherits if it has none (``dup_anon_vma()``).
    dup_from: VmAreaStruct | None = None
    #: VMAs the merge absorbs: unlinked and freed without ``close``.
    remove: tuple[VmAreaStruct, ...] = ()
    #: A neighbour that stays but shrinks (the middle of a partial merge): its new range.
    adjust: tuple[VmAreaStruct, int, int, int] | None = None


def commit_merge(mm: MmStruct, c: MergeCommit) -> VmAreaStruct:
    """``commit_merge()``: the one step that ends every merge; returns the target.

    ``vma_prepare()`` (take the target file's rmap lock), ``dup_anon_vma()``, drop the
    absorbed VMAs, shrink the adjusted neighbour, set the target's range, then
    ``vma_complete()`` (drop the rmap lock).  Absorbed VMAs leave the tree before the
    target grows over their range, so the tree never holds an overlap.

    Assumes: ``mmap_lock`` held for write; the maple tree preallocation succeeded
    (the callers check ``vma_iter_prealloc`` first, so nothing here can fail).
    """
    target = c.target
    file = target.vm_file  # (an anonymous VMA has no rmap lock to take)
    if file is not None:
        _rmap_lock(mm, target)
    _dup_anon_vma(target, c.dup_from)
    for vma in c.remove:
        _drop_merged(mm, vma)
    if c.adjust is not None:
        _set_range(mm, *c.adjust)
    _set_range(mm, target, c.start, c.end, c.pgoff)
    if file is not None:
        _rmap_unlock(target)
    return target


def vma_merge_new_range(mm: MmStruct, vmg: VmaMergeStruct) -> VmAreaStruct | None:
    """``vma_merge_new_range()``: try to absorb a new range into prev and/or next.

    Returns the VMA now covering the range, or ``None``: no merge, or a merge whose
    tree preallocation failed, which sets ``vmg.nomem`` (``vmg_nomem()``) and changes
    nothing.  It never raises: as in the kernel, the caller reads the merge state.

    Assumes: ``mmap_lock`` held for write; ``vmg.prev``/``vmg.next`` are the VMAs
    around ``[vmg.start, vmg.end)``, which no VMA covers.
    """
    prev, nxt = vmg.prev, vmg.next
    if vmg.flags._value_ & _SPECIAL or (prev is None and nxt is None):
        return None
    can_left = _can_merge_left(vmg)
    can_right = _can_merge_right(vmg, can_left)
    if can_left and can_right and nxt is not None and not can_merge_remove_vma(nxt):
        can_right = False  # prev grows over the new range only; next keeps its close hook
    if not can_left and not can_right:
        return None
    if _prealloc_failed(mm):
        vmg.nomem = True
        mm.trace.step("vma_expand", "maple tree preallocation failed: VMA_MERGE_ERROR_NOMEM")
        return None
    sticky = vmg.flags & VM_STICKY
    with mm.trace.enter("vma_expand" if can_left else "vma_merge_new_range(next)"):
        if can_left and prev is not None:
            sticky |= prev.vm_flags & VM_STICKY
            if can_right and nxt is not None:  # both sides: prev grows over new and next
                sticky |= nxt.vm_flags & VM_STICKY
                commit = MergeCommit(prev, prev.vm_start, nxt.vm_end, prev.vm_pgoff,
                                     dup_from=nxt, remove=(nxt,))
            else:  # left: prev grows over the new range
                commit = MergeCommit(prev, prev.vm_start, vmg.end, prev.vm_pgoff)
        else:  # right: next starts at the new range
            assert nxt is not None
            sticky |= nxt.vm_flags & VM_STICKY
            commit = MergeCommit(nxt, vmg.start, nxt.vm_end, vmg.pgoff)
        target = commit_merge(mm, commit)
        target.vm_flags |= sticky
    if mm.trace.enabled:
        mm.trace.step("merged", f"into VMA #{target.nr} {target.vm_start:#x}-{target.vm_end:#x}")
    return target


def vma_merge_existing_range(mm: MmStruct, vmg: VmaMergeStruct) -> VmAreaStruct | None:
    """``vma_merge_existing_range()``: merge a changed part of ``middle`` with a neighbour.

    Returns the VMA that now covers ``[start, end)`` with the new attributes, or
    ``None`` when no merge is possible (the caller then splits).  ``vmg.flags``
    is updated with the union of sticky flags, as the kernel writes it back.

    Assumes: ``mmap_lock`` held for write; ``[vmg.start, vmg.end)`` lies inside
    ``vmg.middle``, and ``vmg.prev``/``vmg.next`` are its neighbours.
    """
    middle = vmg.middle
    assert middle is not None
    start, end = vmg.start, vmg.end
    left_side = start == middle.vm_start
    right_side = end == middle.vm_end
    if vmg.flags._value_ & _SPECIAL or (not left_side and not right_side):
        return None
    merge_left = left_side and _can_merge_left(vmg)
    merge_right = right_side and _can_merge_right(vmg, merge_left)
    if not merge_left and not merge_right:
        return None
    remove_middle = left_side and right_side
    if remove_middle and not can_merge_remove_vma(middle):
        return None
    nxt, prev = vmg.next, vmg.prev
    if merge_left and merge_right and nxt is not None and not can_merge_remove_vma(nxt):
        merge_right = False
    if _prealloc_failed(mm):
        raise kerr(errno.ENOMEM, "vma_merge_existing_range: maple tree preallocation failed")
    sticky = (vmg.flags._value_ | middle.vm_flags._value_) & _STICKY
    pglen = (end - start) >> PAGE_SHIFT
    with mm.trace.enter("vma_merge_existing_range"):
        if merge_left and merge_right:  # the whole middle: prev absorbs middle and next
            assert prev is not None and nxt is not None
            sticky |= (prev.vm_flags._value_ | nxt.vm_flags._value_) & _STICKY
            commit = MergeCommit(prev, prev.vm_start, nxt.vm_end, prev.vm_pgoff,
                                 dup_from=nxt if nxt.anon_vma is not None else middle,
                                 remove=(middle, nxt))
        elif merge_left:  # prev grows to end; middle goes, or starts at end
            assert prev is not None
            sticky |= prev.vm_flags._value_ & _STICKY
            commit = MergeCommit(prev, prev.vm_start, end, prev.vm_pgoff, dup_from=middle)
            if remove_middle:
                commit.remove = (middle,)
            else:
                commit.adjust = (middle, end, middle.vm_end, middle.vm_pgoff + pglen)
        else:  # next starts at start; middle goes, or ends at start
            assert nxt is not None
            sticky |= nxt.vm_flags._value_ & _STICKY
            commit = MergeCommit(nxt, start, nxt.vm_end, nxt.vm_pgoff - pglen, dup_from=middle)
            if remove_middle:
                commit.remove = (middle,)
            else:
                commit.adjust = (middle, middle.vm_start, start, middle.vm_pgoff)
        target = commit_merge(mm, commit)
        vmg.flags = vmflag(vmg.flags._value_ | sticky)
    if mm.trace.enabled:
        mm.trace.step("merged", f"into VMA #{target.nr} {target.vm_start:#x}-{target.vm_end:#x}")
    return target


# -- split ----------------------------------------------------------------------

def vm_area_dup(mm: MmStruct, vma: VmAreaStruct) -> VmAreaStruct:
    """``vm_area_dup()``: a copy of the VMA's fields in a new object."""
    if mm.inject is not None and mm.should_fail("vm_area_alloc"):
        raise kerr(errno.ENOMEM, "vm_area_dup: out of memory for a vm_area_struct")
    new = VmAreaStruct(vma.vm_mm, vma.vm_start, vma.vm_end, vma.vm_pgoff, vma.vm_flags,
                       vma.vm_page_prot, vma.vm_file)
    new.vm_ops = vma.vm_ops
    new.null_vm_ops = vma.null_vm_ops
    new.vm_private_data = vma.vm_private_data
    return new


def split_vma(mm: MmStruct, vma: VmAreaStruct, addr: int, new_below: bool,
              check_count: bool = True) -> VmAreaStruct:
    """``split_vma()``/``__split_vma()``: cut ``vma`` at ``addr``; returns the new piece.

    ``new_below``: the new VMA is the lower part.  ``may_split`` may veto;
    ``open`` is called on the new piece.  ENOMEM at the map-count limit.

    Assumes: ``mmap_lock`` held for write; ``vma_start < addr < vma_end`` and ``addr``
    page aligned.  The file's rmap lock is taken here, around the range change.
    """
    if check_count and mm.map_count >= mm.max_map_count:
        raise kerr(errno.ENOMEM, f"split_vma: map count at the limit ({mm.max_map_count})")
    with mm.trace.enter("__split_vma", f"at {addr:#x}" if mm.trace.enabled else ""):
        ops = vma.vm_ops
        if ops is not None and ops.may_split is not None:
            ret = call_hook(f"{ops.name}->may_split", ops.may_split, vma, addr)
            if ret:
                raise kerr(-ret, f"{ops.name}->may_split refused a split at {addr:#x}")
        new = vm_area_dup(mm, vma)
        if new_below:
            new.vm_end = addr
        else:
            new.vm_start = addr
            new.vm_pgoff += (addr - vma.vm_start) >> PAGE_SHIFT
        if _prealloc_failed(mm):
            vm_area_free(new, mm.trace.where)
            raise kerr(errno.ENOMEM, "__split_vma: maple tree preallocation failed")
        if vma.anon_vma is not None and mm.should_fail("anon_vma_clone"):
            vm_area_free(new, mm.trace.where)
            raise kerr(errno.ENOMEM, "__split_vma: anon_vma_clone failed")
        new.anon_vma = vma.anon_vma
        new.anon_vma_chain = vma.anon_vma_chain
        if new.vm_file is not None:
            get_file(new.vm_file)
        if ops is not None and ops.open is not None:
            mm.trace.step(f"{ops.name}->open", f"{new.vm_start:#x}-{new.vm_end:#x}")
            call_void_hook(f"{ops.name}->open", ops.open, new)
        file = vma.vm_file  # (an anonymous VMA has no rmap lock to take)
        if file is not None:
            _rmap_lock(mm, vma)
        detached = vma.detached
        if new_below:
            old_start = vma.vm_start
            vma.vm_start = addr
            vma.vm_pgoff += (addr - new.vm_start) >> PAGE_SHIFT
            if not detached:
                mm.mt.reindex(vma, old_start)
        else:
            vma.vm_end = addr
            if not detached:
                mm.mt.touch(vma)
        if not detached:
            mm.mt.insert(new)
            new.detached = False
            if new.vm_file is not None:
                new.vm_file.f_mapping.i_mmap[new.serial] = new
        if file is not None:
            _rmap_unlock(vma)
    return new


def vma_modify_flags(mm: MmStruct, prev: VmAreaStruct | None, vma: VmAreaStruct, start: int,
                     end: int, newflags: VMFlag) -> tuple[VmAreaStruct, VMFlag]:
    """``vma_modify_flags()``: make ``[start, end)`` of ``vma`` its own VMA (merged or split).

    Returns the VMA covering exactly the range and the flags to apply (with the
    sticky bits a merge carried over).
    """
    nxt = mm.mt.next_after(vma.vm_end) if end == vma.vm_end else None
    vmg = VmaMergeStruct(  # prev, next, start, end, pgoff, flags, file, anon_vma, middle
        prev, nxt, start, end, vma.vm_pgoff + ((start - vma.vm_start) >> PAGE_SHIFT),
        newflags, vma.vm_file, vma.anon_vma, vma,
    )
    merged = vma_merge_existing_range(mm, vmg)
    if merged is not None:
        return merged, vmg.flags
    if vma.vm_start < start:
        split_vma(mm, vma, start, new_below=True)
    if vma.vm_end > end:
        split_vma(mm, vma, end, new_below=False)
    return vma, newflags


# -- munmap -------------------------------------------------------------------

@dataclass(slots=True)
class MunmapState:
    """``struct vma_munmap_struct``: VMAs detached from ``[start, end)``."""

    start: int
    end: int
    detached: list[VmAreaStruct] = field(default_factory=list)
    prev: VmAreaStruct | None = None
    next: VmAreaStruct | None = None
    nr_pages: int = 0
    nr_accounted: int = 0
    #: Pages of VM_LOCKED VMAs among them (``vms->locked_vm``).
    locked_vm: int = 0
    clear_ptes: bool = True
    closed_vm_ops: bool = False


def vms_gather_munmap_vmas(mm: MmStruct, start: int, end: int) -> MunmapState:
    """``vms_gather_munmap_vmas()``: split at the edges, detach the VMAs in range.

    On failure the detached VMAs are reattached; a split already made at the
    start is kept, as in Linux.

    Assumes: ``mmap_lock`` held for write, and no rmap lock held by the caller:
    splitting takes the file's ``i_mmap_rwsem`` (the v3 deadlock was a caller
    holding it here).
    """
    vms = MunmapState(start, end)
    with mm.trace.enter("vms_gather_munmap_vmas"):
        first = mm.mt.find(start)
        if first is None or first.vm_start >= end:
            vms.prev = mm.mt.prev(start)
            vms.next = first
            return vms
        if start > first.vm_start:
            if end < first.vm_end and mm.map_count >= mm.max_map_count:
                raise kerr(errno.ENOMEM, "munmap would exceed the map count limit")
            if VMFlag.SEALED in first.vm_flags:
                raise kerr(errno.EPERM, "the mapping is sealed")
            split_vma(mm, first, start, new_below=True, check_count=False)
        vms.prev = mm.mt.prev(start)
        try:
            for vma in mm.mt.range(start, end):
                flags = vma.vm_flags._value_
                if flags & _SEALED:
                    raise kerr(errno.EPERM, "the mapping is sealed")
                if vma.vm_end > end:
                    split_vma(mm, vma, end, new_below=False, check_count=False)
                vms.detached.append(vma)
                pages = (vma.vm_end - vma.vm_start) >> PAGE_SHIFT
                vms.nr_pages += pages
                if flags & _ACCOUNT:
                    vms.nr_accounted += pages
                if flags & _LOCKED:
                    vms.locked_vm += pages
        except OSError:
            vms.detached.clear()
            raise
        for vma in vms.detached:
            mm.mt.remove(vma)
            vma.detached = True
            mm.total_vm -= (vma.vm_end - vma.vm_start) >> PAGE_SHIFT
        vms.next = mm.mt.find(end)
    return vms


def reattach_vmas(mm: MmStruct, vms: MunmapState) -> None:
    """``reattach_vmas()``: put detached VMAs back unchanged."""
    for vma in vms.detached:
        mm.mt.insert(vma)
        vma.detached = False
        mm.total_vm += (vma.vm_end - vma.vm_start) >> PAGE_SHIFT
    vms.detached.clear()


def vms_clear_ptes(mm: MmStruct, vms: MunmapState) -> None:
    """``vms_clear_ptes()``: zap the PTEs and unlink file VMAs from the rmap."""
    if not vms.clear_ptes:
        return
    with mm.trace.enter("vms_clear_ptes"):
        for vma in vms.detached:
            mm.pagetable.zap(vma.vm_start, vma.vm_end)
            unlink_file_vma(mm, vma)
    vms.clear_ptes = False


def vms_clean_up_area(mm: MmStruct, vms: MunmapState) -> None:
    """``vms_clean_up_area()``: for MAP_FIXED over old VMAs, clear PTEs and call ``close``.

    After this the old VMAs cannot be restored: a later failure leaves a hole.
    """
    if not vms.nr_pages:
        return
    with mm.trace.enter("vms_clean_up_area"):
        vms_clear_ptes(mm, vms)
        for vma in vms.detached:
            vma_close(vma)
    vms.closed_vm_ops = True


def vms_complete_munmap_vmas(mm: MmStruct, vms: MunmapState) -> None:
    """``vms_complete_munmap_vmas()``: clear PTEs if not yet done, then free each VMA."""
    if not vms.detached:
        return
    with mm.trace.enter("vms_complete_munmap_vmas"):
        vms_clear_ptes(mm, vms)
        for vma in vms.detached:
            remove_vma(mm, vma)
        mm.committed_pages -= vms.nr_accounted
        mm.locked_vm -= vms.locked_vm
    vms.detached.clear()


def vms_abort_munmap_vmas(mm: MmStruct, vms: MunmapState) -> None:
    """``vms_abort_munmap_vmas()``: undo if PTEs are intact, else leave a hole."""
    if not vms.nr_pages:
        return
    if vms.clear_ptes:
        reattach_vmas(mm, vms)
        return
    mm.trace.step("vms_abort_munmap_vmas", "old VMAs already torn down: leaving a hole")
    vms_complete_munmap_vmas(mm, vms)


def do_vmi_munmap(mm: MmStruct, start: int, end: int) -> None:
    """``do_vmi_align_munmap()``: unmap ``[start, end)`` (page aligned, validated).

    Assumes: ``mmap_lock`` held for write; the caller holds no rmap lock (closing
    and unlinking the VMAs take ``i_mmap_rwsem``).
    """
    with mm.trace.enter("do_vmi_munmap", f"{start:#x}-{end:#x}" if mm.trace.enabled else ""):
        vms = vms_gather_munmap_vmas(mm, start, end)
        if not vms.detached:
            return
        if mm.should_fail("munmap_clear_tree"):
            reattach_vmas(mm, vms)
            raise kerr(errno.ENOMEM, "munmap: clearing the range from the tree failed")
        vms_complete_munmap_vmas(mm, vms)


# -- mremap helpers (mm/vma.c) --------------------------------------------------

def vma_merge_extend(mm: MmStruct, vma: VmAreaStruct, delta: int) -> VmAreaStruct | None:
    """``vma_merge_extend()`` (mm/vma.c, 7.0): grow ``vma`` in place by ``delta`` bytes.

    A new-range merge of ``[vm_end, vm_end + delta)`` with ``vma`` as prev (and
    the next VMA, if it then touches and is compatible).  ``None`` when the merge
    is refused (a VM_SPECIAL VMA) or cannot allocate: mremap() then fails ENOMEM.
    """
    start = vma.vm_end
    vmg = VmaMergeStruct(
        prev=vma, next=mm.mt.find(start), start=start, end=start + delta,
        pgoff=vma.vm_pgoff + ((start - vma.vm_start) >> PAGE_SHIFT), flags=vma.vm_flags,
        file=vma.vm_file, anon_vma=vma.anon_vma,
    )
    return vma_merge_new_range(mm, vmg)  # a failed preallocation: None, mremap's ENOMEM


def copy_vma(mm: MmStruct, vma: VmAreaStruct, addr: int, length: int, pgoff: int
             ) -> tuple[VmAreaStruct | None, VmAreaStruct]:
    """``copy_vma()`` (mm/vma.c, 7.0): a VMA for ``[addr, addr+length)`` like ``vma``.

    An anonymous VMA that was never faulted (no anon_vma) takes the pgoff of its
    new address, so that it can merge there.  The copy is merged with its new
    neighbours when they are compatible; otherwise it is a duplicate (file
    reference taken, ``vm_ops->open`` called, linked).  Returns ``(new_vma, vma)``:
    when the copy merged with the source itself (only possible unfaulted), the
    source is the merged VMA.  ``new_vma`` is ``None`` when allocation fails.
    """
    vma_start = vma.vm_start
    if vma.vm_ops is None and vma.vm_file is None and vma.anon_vma is None:
        pgoff = addr >> PAGE_SHIFT
    nxt = mm.mt.find(addr)
    if nxt is not None and nxt.vm_start < addr + length:
        return None, vma  # the caller unmapped the target first: "should never get here"
    vmg = VmaMergeStruct(
        prev=mm.mt.prev(addr), next=nxt, start=addr, end=addr + length, pgoff=pgoff,
        flags=vma.vm_flags, file=vma.vm_file, anon_vma=vma.anon_vma, middle=vma,
    )
    new = vma_merge_new_range(mm, vmg)  # copy_vma() ignores vmg.nomem: it allocates a VMA
    if new is not None:
        if new.vm_start <= vma_start < new.vm_end:
            vma = new
        return new, vma
    try:
        new = vm_area_dup(mm, vma)
    except OSError:
        return None, vma
    new.vm_start, new.vm_end, new.vm_pgoff = addr, addr + length, pgoff
    if vma.anon_vma is not None and mm.should_fail("anon_vma_clone"):
        vm_area_free(new, mm.trace.where)
        return None, vma
    new.anon_vma = vma.anon_vma
    new.anon_vma_chain = vma.anon_vma_chain
    if new.vm_file is not None:
        get_file(new.vm_file)
    ops = new.vm_ops
    if ops is not None and ops.open is not None:
        mm.trace.step(f"{ops.name}->open", f"{new.vm_start:#x}-{new.vm_end:#x}")
        call_void_hook(f"{ops.name}->open", ops.open, new)
    vma_link(mm, new)
    mm.trace.step("copy_vma", f"new VMA #{new.serial} {new.vm_start:#x}-{new.vm_end:#x}")
    return new, vma
