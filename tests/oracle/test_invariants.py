"""Hypothesis state-machine tests of address-space invariants, on the model only.

Rules: mmap (anonymous private/shared, regular file private/shared read-write and
read-only, and a file whose legacy ``->mmap`` installs counting ``vm_ops``), munmap,
mprotect, fault, fork and exit, madvise, mlock/munlock, mremap and mseal, on a small
window, against several address spaces (a parent and its forked children), plus the
same calls with an injected allocation failure (``MM.injecting``). Invariants checked
after every step:

* VMAs sorted, disjoint, page aligned, ``vm_start < vm_end``;
* ``maps()`` has exactly one line per VMA, with its boundaries;
* every PTE lies inside a VMA of its own mm; a writable PTE only in a VM_WRITE VMA;
* a failed mmap or munmap leaves ``maps()`` unchanged; a failed mprotect leaves every page
  outside ``[addr, addr+len)`` as it was (Linux may have changed VMAs inside the range
  before it hit the hole); with an injected failure, pages outside the range are as they
  were, and inside it each page keeps its old mapping, gets the new one, or (MAP_FIXED
  after the old range was torn down) is unmapped;
* ``vm_ops`` open/close balance: hook calls (first mappings) + opens == closes + live VMAs
  (mremap's copies call ``open``, its unmapped sources ``close``);
* a successful mremap leaves ``[ret, ret+new_len)`` mapped; DONTNEED leaves no PTE in an
  unlocked range; a sealed VMA refuses munmap/mprotect (EPERM) and stays as it was.
"""

from __future__ import annotations

import errno
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from tests.oracle.kernel_oracle import parse_maps_line
from tests.tiers import examples

mmaplab = pytest.importorskip("mmaplab")
if not hasattr(mmaplab, "MM"):  # the package is still being written
    pytest.skip("mmaplab.MM does not exist yet", allow_module_level=True)

from mmaplab import (  # noqa: E402
    MADV_DOFORK,
    MADV_DONTDUMP,
    MADV_DONTFORK,
    MADV_DONTNEED,
    MADV_NORMAL,
    MADV_RANDOM,
    MADV_WIPEONFORK,
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_FIXED_NOREPLACE,
    MAP_NORESERVE,
    MAP_PRIVATE,
    MAP_SHARED,
    MM,
    MREMAP_DONTUNMAP,
    MREMAP_FIXED,
    MREMAP_MAYMOVE,
    PAGE_SIZE,
    RegularFile,
)
from mmaplab.kernel.flags import VMFlag  # noqa: E402
from mmaplab.kernel.fs import File, FileOperations, FMode, Inode  # noqa: E402
from mmaplab.kernel.mm_types import VmOperationsStruct  # noqa: E402

P = PAGE_SIZE
WINDOW = 0x10000000  # well above mmap_min_addr
WPAGES = 24
MAX_MMS = 3

pages = st.integers(0, WPAGES - 1)
lengths = st.integers(1, 8)
prots = st.integers(0, 7)
placements = st.sampled_from([MAP_FIXED, MAP_FIXED, MAP_FIXED_NOREPLACE, 0])
kinds = st.sampled_from(["anon_private", "anon_shared", "file_rw", "file_ro", "counted"])
INJECTION_POINTS = ["vm_area_alloc", "vma_iter_prealloc", "vm_enough_memory",
                    "anon_vma_prepare", "anon_vma_clone", "pte_alloc", "alloc_page", "mmap",
                    "munmap_clear_tree", "move_page_tables"]
advices = st.sampled_from([MADV_DONTNEED, MADV_DONTFORK, MADV_DOFORK, MADV_WIPEONFORK,
                           MADV_DONTDUMP, MADV_NORMAL, MADV_RANDOM])
remap_flags = st.sampled_from([0, MREMAP_MAYMOVE, MREMAP_MAYMOVE | MREMAP_FIXED,
                               MREMAP_MAYMOVE | MREMAP_DONTUNMAP | MREMAP_FIXED])


def sealed_in(mm: MM, lo: int, hi: int) -> bool:
    return any(VMFlag.SEALED in v.vm_flags for v in mm.vmas() if v.vm_start < hi and v.vm_end > lo)


class Counted:
    """A file whose deprecated ``->mmap`` installs vm_ops that count open/close calls."""

    def __init__(self) -> None:
        self.hook_calls = 0
        self.opens = 0
        self.closes = 0
        self.vm_ops = VmOperationsStruct(name="counted_vm_ops", open=self._open,
                                         close=self._close)
        fops = FileOperations(name="counted_fops", mmap=self._mmap)
        self.file = File(Inode("/dev/counted", 64 * P), fops, FMode.READ | FMode.WRITE)

    def _mmap(self, file: Any, vma: Any) -> int:
        self.hook_calls += 1
        vma.vm_ops = self.vm_ops
        return 0

    def _open(self, vma: Any) -> None:
        self.opens += 1

    def _close(self, vma: Any) -> None:
        self.closes += 1


def page_view(mm: MM) -> dict[int, tuple[str, int, int]]:
    """Per page: (perms, identity of the backing, page offset into it)."""
    out = {}
    for vma in mm.vmas():
        backing = id(vma.vm_file) if vma.vm_file is not None else 0
        for i, addr in enumerate(range(vma.vm_start, vma.vm_end, P)):
            pgoff = vma.vm_pgoff + i if vma.vm_file is not None else 0
            out[addr] = (_perms(vma.vm_flags), backing, pgoff)
    return out


def _perms(flags: VMFlag) -> str:
    """The maps ``rwxp`` column for these flags."""
    return "".join(c if bit in flags else "-" for c, bit in (
        ("r", VMFlag.READ), ("w", VMFlag.WRITE), ("x", VMFlag.EXEC))) + \
        ("s" if VMFlag.MAYSHARE in flags else "p")


class AddressSpaceMachine(RuleBasedStateMachine):
    @initialize()
    def setup(self) -> None:
        self.mms: list[MM] = [MM()]
        self.counted = Counted()
        self.files = {
            "file_rw": RegularFile("/tmp/inv-rw", 10 * P - 123, writable=True),
            "file_ro": RegularFile("/tmp/inv-ro", 6 * P, writable=False),
        }

    # -- rules -----------------------------------------------------------------------

    def _pick(self, which: int) -> MM:
        return self.mms[which % len(self.mms)]

    @rule(which=st.integers(0, MAX_MMS - 1), kind=kinds, start=pages, npages=lengths,
          prot=prots, placement=placements, noreserve=st.booleans(),
          offset=st.integers(0, 8))
    def mmap(self, which: int, kind: str, start: int, npages: int, prot: int, placement: int,
             noreserve: bool, offset: int) -> None:
        mm = self._pick(which)
        npages = min(npages, WPAGES - start)
        flags = placement | (MAP_NORESERVE if noreserve else 0)
        file = None
        if kind == "anon_private":
            flags |= MAP_PRIVATE | MAP_ANONYMOUS
        elif kind == "anon_shared":
            flags |= MAP_SHARED | MAP_ANONYMOUS
        else:
            file = self.counted.file if kind == "counted" else self.files[kind]
            flags |= MAP_SHARED if offset % 2 else MAP_PRIVATE
        before, before_pages = mm.maps(), page_view(mm)
        try:
            addr = mm.mmap(WINDOW + start * P, npages * P, prot, flags, file=file,
                           offset=offset * P)
        except OSError as exc:
            if exc.errno == errno.EPERM:  # a sealed VMA: the split at the start may stay
                assert page_view(mm) == before_pages, "a refused mmap changed pages"
            else:
                assert mm.maps() == before, "a failed mmap changed the address space"
            return
        assert addr % P == 0
        if placement:
            assert addr == WINDOW + start * P

    @rule(which=st.integers(0, MAX_MMS - 1), start=pages, npages=lengths,
          sloppy=st.sampled_from([0, 0, 0, 1]))
    def munmap(self, which: int, start: int, npages: int, sloppy: int) -> None:
        mm = self._pick(which)
        before, before_pages = mm.maps(), page_view(mm)
        try:
            mm.munmap(WINDOW + start * P + sloppy, npages * P)
        except OSError as exc:
            lo, hi = WINDOW + start * P, WINDOW + (start + npages) * P
            if exc.errno == errno.EPERM:  # sealed: the split at the start may stay
                assert sealed_in(mm, lo, hi) and page_view(mm) == before_pages
                return
            assert sloppy and exc.errno == errno.EINVAL, exc
            assert mm.maps() == before, "a failed munmap changed the address space"
        else:
            assert not sloppy
            lo, hi = WINDOW + start * P, WINDOW + (start + npages) * P
            assert not any(v.vm_start < hi and v.vm_end > lo for v in mm.vmas())
            assert not mm.pagetable.entries(lo, hi)

    @rule(which=st.integers(0, MAX_MMS - 1), start=pages, npages=lengths, prot=prots)
    def mprotect(self, which: int, start: int, npages: int, prot: int) -> None:
        mm = self._pick(which)
        lo, hi = WINDOW + start * P, WINDOW + (start + npages) * P
        before = page_view(mm)
        try:
            mm.mprotect(lo, npages * P, prot)
        except OSError as exc:
            assert exc.errno in (errno.ENOMEM, errno.EACCES) or (
                exc.errno == errno.EPERM and sealed_in(mm, lo, hi)), exc
            after = page_view(mm)
            outside = {a: v for a, v in before.items() if not lo <= a < hi}
            assert outside == {a: v for a, v in after.items() if not lo <= a < hi}, \
                "a failed mprotect changed pages outside its range"
            assert set(before) == set(after), "a failed mprotect (un)mapped pages"
        else:
            want = "".join(c if prot & b else "-" for c, b in (("r", 1), ("w", 2), ("x", 4)))
            for vma in mm.vmas():
                if vma.vm_start < hi and vma.vm_end > lo:
                    assert _perms(vma.vm_flags)[:3] == want

    @rule(which=st.integers(0, MAX_MMS - 1), page=pages, write=st.booleans())
    def fault(self, which: int, page: int, write: bool) -> None:
        mm = self._pick(which)
        addr = WINDOW + page * P + 8
        try:
            mm.fault(addr, write=write)
        except OSError as exc:
            assert exc.errno == errno.EFAULT, exc
        else:
            pte = mm.pagetable.lookup(addr)
            assert pte is not None, "a successful fault left no PTE"
            if write:
                assert pte.writable, "a successful write fault left a read-only PTE"

    @precondition(lambda self: len(self.mms) < MAX_MMS)
    @rule(which=st.integers(0, MAX_MMS - 1))
    def fork(self, which: int) -> None:
        parent = self._pick(which)
        child = parent.fork()
        kept = "".join(f"{line}\n" for line, v in zip(parent.maps().splitlines(),
                                                      parent.vmas(), strict=True)
                       if VMFlag.DONTCOPY not in v.vm_flags)
        assert child.maps() == kept, "the child is not the parent minus its DONTFORK VMAs"
        self.mms.append(child)

    @rule(which=st.integers(0, MAX_MMS - 1), start=pages, npages=lengths, advice=advices)
    def madvise(self, which: int, start: int, npages: int, advice: int) -> None:
        mm = self._pick(which)
        lo, hi = WINDOW + start * P, WINDOW + (start + npages) * P
        try:
            mm.madvise(lo, hi - lo, advice)
        except OSError as exc:
            assert exc.errno in (errno.ENOMEM, errno.EINVAL, errno.EAGAIN, errno.EPERM), exc
        else:
            if advice == MADV_DONTNEED:
                assert not mm.pagetable.entries(lo, hi), "DONTNEED left PTEs behind"

    @rule(which=st.integers(0, MAX_MMS - 1), start=pages, npages=lengths,
          how=st.sampled_from(["mlock", "onfault", "munlock"]))
    def mlock(self, which: int, start: int, npages: int, how: str) -> None:
        mm = self._pick(which)
        lo, hi = WINDOW + start * P, WINDOW + (start + npages) * P
        try:
            if how == "munlock":
                mm.munlock(lo, hi - lo)
            else:
                mm.mlock2(lo, hi - lo, 1 if how == "onfault" else 0)
        except OSError as exc:
            assert exc.errno in (errno.ENOMEM, errno.EAGAIN), exc
        else:
            for vma in mm.vmas():
                if vma.vm_start < hi and vma.vm_end > lo and not vma.vm_flags & VMFlag.IO:
                    assert (VMFlag.LOCKED in vma.vm_flags) == (how != "munlock"), vma

    @rule(which=st.integers(0, MAX_MMS - 1), start=pages, npages=lengths,
          new_npages=lengths, flags=remap_flags, dest=pages)
    def mremap(self, which: int, start: int, npages: int, new_npages: int, flags: int,
               dest: int) -> None:
        mm = self._pick(which)
        if flags & MREMAP_FIXED:
            new_npages = npages if flags & MREMAP_DONTUNMAP else new_npages
        try:
            ret = mm.mremap(WINDOW + start * P, npages * P, new_npages * P, flags,
                            WINDOW + dest * P)
        except OSError as exc:
            assert exc.errno in (errno.EINVAL, errno.EFAULT, errno.ENOMEM, errno.EPERM,
                                 errno.EAGAIN, errno.EBUSY), exc
        else:
            assert ret % P == 0
            if new_npages <= npages:
                # A no-op resize or a shrink in place returns old_address without checking
                # that the range was all mapped; a FIXED move of several VMAs keeps the gaps
                # between them, as Linux does.
                assert ret == WINDOW + (dest if flags & MREMAP_FIXED else start) * P
                return
            covered = sum(min(v.vm_end, ret + new_npages * P) - max(v.vm_start, ret)
                          for v in mm.vmas() if v.vm_start < ret + new_npages * P
                          and v.vm_end > ret)
            assert covered == new_npages * P, "mremap returned a range that is not mapped"

    @rule(which=st.integers(0, MAX_MMS - 1), start=pages, npages=st.integers(1, 2))
    def mseal(self, which: int, start: int, npages: int) -> None:
        mm = self._pick(which)
        lo, hi = WINDOW + start * P, WINDOW + (start + npages) * P
        before = mm.maps()
        try:
            mm.mseal(lo, hi - lo)
        except OSError as exc:
            assert exc.errno == errno.ENOMEM and mm.maps() == before, exc
        else:
            assert sealed_in(mm, lo, hi)
            with pytest.raises(OSError) as exc:
                mm.munmap(lo, hi - lo)
            assert exc.value.errno == errno.EPERM

    # -- invariants ----------------------------------------------------------------------

    @precondition(lambda self: len(self.mms) > 1)
    @rule(which=st.integers(1, MAX_MMS - 1))
    def exit_child(self, which: int) -> None:
        mm = self.mms.pop(1 + (which - 1) % (len(self.mms) - 1))
        mm.exit()
        assert not mm.vmas() and not mm.pagetable.entries(0, None)

    @rule(which=st.integers(0, MAX_MMS - 1), call=st.sampled_from(["mmap", "munmap",
                                                                   "mprotect", "fault"]),
          point=st.sampled_from(INJECTION_POINTS), nth=st.integers(1, 3), kind=kinds,
          start=pages, npages=lengths, prot=prots)
    def injected_failure(self, which: int, call: str, point: str, nth: int, kind: str,
                         start: int, npages: int, prot: int) -> None:
        mm = self._pick(which)
        npages = min(npages, WPAGES - start)
        lo, hi = WINDOW + start * P, WINDOW + (start + npages) * P
        before = page_view(mm)
        want = "".join(c if prot & b else "-" for c, b in (("r", 1), ("w", 2), ("x", 4)))
        try:
            with mm.injecting(point, nth):
                if call == "mmap":
                    file = None
                    flags = MAP_FIXED
                    if kind == "anon_private":
                        flags |= MAP_PRIVATE | MAP_ANONYMOUS
                    elif kind == "anon_shared":
                        flags |= MAP_SHARED | MAP_ANONYMOUS
                    else:
                        file = self.counted.file if kind == "counted" else self.files[kind]
                        flags |= MAP_PRIVATE
                    mm.mmap(lo, hi - lo, prot, flags, file=file)
                elif call == "munmap":
                    mm.munmap(lo, hi - lo)
                elif call == "mprotect":
                    mm.mprotect(lo, hi - lo, prot)
                else:
                    mm.fault(lo + 8, write=bool(prot & 2))
        except OSError as exc:
            assert exc.errno in (errno.ENOMEM, errno.EFAULT, errno.EACCES, errno.EINVAL) or (
                exc.errno == errno.EPERM and sealed_in(mm, lo, hi)), exc
        else:
            return
        after = page_view(mm)
        for addr in set(before) | set(after):
            old, new = before.get(addr), after.get(addr)
            if not lo <= addr < hi or call in ("munmap", "fault"):
                assert old == new, (
                    f"{call} failed under injected {point} #{nth} and changed the page at "
                    f"{addr:#x}: {old} -> {new}")
            elif call == "mprotect":
                assert new == old or (old is not None and new is not None
                                      and new[0][:3] == want and new[1:] == old[1:]), (
                    f"failed mprotect left page {addr:#x} as {new} (was {old})")
            else:
                assert new in (old, None), (
                    f"failed MAP_FIXED mmap left page {addr:#x} as {new} (was {old})")

    @invariant()
    def vmas_sorted_disjoint_aligned(self) -> None:
        for mm in self.mms:
            prev_end = 0
            for vma in mm.vmas():
                assert vma.vm_start % P == 0 and vma.vm_end % P == 0, vma
                assert vma.vm_start < vma.vm_end, vma
                assert vma.vm_start >= prev_end, f"overlap or disorder at {vma}"
                prev_end = vma.vm_end

    @invariant()
    def maps_one_line_per_vma(self) -> None:
        for mm in self.mms:
            lines = mm.maps().splitlines()
            vmas = mm.vmas()
            assert len(lines) == len(vmas)
            for line, vma in zip(lines, vmas, strict=True):
                f = parse_maps_line(line)
                assert (f["start"], f["end"]) == (vma.vm_start, vma.vm_end)
                assert f["perms"] == _perms(vma.vm_flags)

    @invariant()
    def ptes_inside_vmas(self) -> None:
        for mm in self.mms:
            vmas = mm.vmas()
            for addr, pte in mm.pagetable.entries(0, None).items():
                owner = [v for v in vmas if v.vm_start <= addr < v.vm_end]
                assert owner, f"PTE at {addr:#x} outside every VMA of its mm"
                vma = owner[0]
                assert vma.vm_mm is mm, "PTE inside a VMA of another mm"
                if pte.writable:
                    assert VMFlag.WRITE in vma.vm_flags, \
                        f"writable PTE at {addr:#x} in a VMA without VM_WRITE: {vma}"

    @invariant()
    def open_close_balanced(self) -> None:
        c = self.counted
        live = sum(1 for mm in self.mms for v in mm.vmas() if v.vm_ops is c.vm_ops)
        assert c.hook_calls + c.opens == c.closes + live, (
            f"->mmap calls {c.hook_calls} + opens {c.opens} != closes {c.closes} "
            f"+ live VMAs {live}"
        )


AddressSpaceMachine.TestCase.settings = settings(
    max_examples=examples(150),
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestAddressSpace = AddressSpaceMachine.TestCase
