"""Fault-injection sweep: every point of mmaplab.kernel.debug.fault_inject.POINTS,
every n-th evaluation.

For each representative request (anonymous, shmem, regular file via mmap_prepare, a legacy
->mmap driver, an mmap_prepare driver with a remap action and mapped/open/close reference
counting — into an empty range and MAP_FIXED over existing VMAs — plus munmap, mprotect,
fork and faults) each point is made to fail on its 1st, 2nd, ... evaluation until it no
longer fires.  After every call the state must be what Linux leaves (spec
vma-and-mmap_prepare.md §5):

* failure before the old VMAs were torn down: unchanged (splits already made at the range
  edges may persist — E2/M8; compared page by page so such a split is not a difference);
* MAP_FIXED failing after the old VMAs were cleaned up (mmap_prepare, ->mmap, the action,
  mapped, success hook, allocation of the new VMA): a hole where the range was (E3–E5);
* never a half-built VMA; no leaked reference: file f_count = 1 + VMAs using the file,
  driver references (taken in mapped/open/->mmap, dropped in close) = live VMAs,
  page refcount = 1 + mapcount = 1 + PTEs; lockdep's held-lock stack empty; right errno.
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from mmaplab import (
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_POPULATE,
    MAP_PRIVATE,
    MAP_SHARED,
    MM,
    MREMAP_FIXED,
    MREMAP_MAYMOVE,
    PAGE_SIZE,
    PROT_READ,
    PROT_WRITE,
    File,
    FileOperations,
    FMode,
    Inode,
    RegularFile,
    VMFlag,
    VmOperationsStruct,
)
from mmaplab.drivers.base import Driver
from mmaplab.kernel.debug.fault_inject import POINTS
from mmaplab.kernel.fs import FreedFile
from mmaplab.kernel.locks import lockdep
from mmaplab.kernel.memory import remap_pfn_range
from mmaplab.kernel.mm_types import FreedVmArea
from mmaplab.kernel.mmap_action import mmap_action_remap_full
from mmaplab.kernel.page_alloc import _allocator, reset_allocator

P = PAGE_SIZE
B = 0x7E0000000000
RW = PROT_READ | PROT_WRITE
HOOK_POINTS = {"mmap_prepare", "mmap", "mmap_action_complete", "mapped", "success_hook"}
INJ_ERR = errno.EIO  # what a failing hook returns (allocation points always give ENOMEM)


class TokenDriver(Driver):
    """A driver that holds one reference per VMA: a token in vm_private_data.

    ``live`` is the set of tokens the driver believes are mapped; ``errors`` records
    a close of an unknown token (a double close) — both must match the VMAs exactly.
    """

    def __init__(self, name: str, variant: str) -> None:
        super().__init__(variant)
        self.name = name
        self.live: set[object] = set()
        self.errors: list[str] = []
        self.vm_ops = VmOperationsStruct(
            name=f"{name}_vm_ops", open=self._open, close=self._close,
            mapped=self._mapped if variant == "prepare" else None)

    def _take(self) -> object:
        tok = object()
        self.live.add(tok)
        return tok

    def _open(self, vma) -> None:
        vma.vm_private_data = self._take()

    def _close(self, vma) -> None:
        tok = vma.vm_private_data
        if tok is None:  # mapped never ran (it failed): nothing was taken
            return
        if tok not in self.live:
            self.errors.append("close of a reference not held (double close)")
        self.live.discard(tok)

    def _mapped(self, start, end, pgoff, file, priv) -> int:
        priv.value = self._take()
        return 0

    def observe(self) -> dict:
        return {"live": len(self.live)}


class LegacyDrv(TokenDriver):
    def __init__(self) -> None:
        super().__init__("legacy", "legacy")

        def mmap(file, vma):
            err = remap_pfn_range(vma, vma.vm_start, 0xA0000 + vma.vm_pgoff,
                                  vma.vm_end - vma.vm_start, vma.vm_page_prot)
            if err:
                return err
            vma.vm_ops = self.vm_ops
            vma.vm_private_data = self._take()
            return 0

        self.fops = FileOperations(name="legacy_fops", mmap=mmap)

    def open(self, mode: FMode = FMode.READ | FMode.WRITE) -> File:
        return File(Inode("/dev/legacy", 64 * P, dev=(10, 1)), self.fops, mode,
                    private_data=self)


class PrepareDrv(TokenDriver):
    def __init__(self) -> None:
        super().__init__("prep", "prepare")

        def mmap_prepare(desc):
            desc.vm_ops = self.vm_ops
            mmap_action_remap_full(desc, 0xB0000 + desc.pgoff)
            desc.action.success_hook = lambda vma: 0
            return 0

        self.fops = FileOperations(name="prep_fops", mmap_prepare=mmap_prepare)

    def open(self, mode: FMode = FMode.READ | FMode.WRITE) -> File:
        return File(Inode("/dev/prep", 64 * P, dev=(10, 2)), self.fops, mode,
                    private_data=self)


@dataclass
class World:
    mm: MM
    legacy: LegacyDrv
    prep: PrepareDrv
    files: dict[str, File]
    children: list[MM]

    def mms(self) -> list[MM]:
        return [self.mm, *self.children]


def build() -> World:
    """A: anon RW [0,4) faulted; D: prep driver [4,8); R: regular file [8,12) faulted;
    gap [12,14); L: legacy driver [14,18); S: shmem [18,20) faulted; N: anon [20,22) untouched."""
    reset_allocator()  # page checks cover this world's pages only
    mm = MM()
    legacy, prep = LegacyDrv(), PrepareDrv()
    files = {"legacy": legacy.open(), "prep": prep.open(), "reg": RegularFile("/data", 64 * P)}
    fx = MAP_FIXED
    mm.mmap(B, 4 * P, RW, MAP_PRIVATE | MAP_ANONYMOUS | fx)
    for i in range(4):
        mm.fault(B + i * P, write=True)
    mm.mmap(B + 4 * P, 4 * P, RW, MAP_SHARED | fx, files["prep"])
    mm.mmap(B + 8 * P, 4 * P, RW, MAP_SHARED | fx, files["reg"])
    for i in range(8, 12):
        mm.fault(B + i * P)
    mm.mmap(B + 14 * P, 4 * P, RW, MAP_SHARED | fx, files["legacy"])
    mm.mmap(B + 18 * P, 2 * P, RW, MAP_SHARED | MAP_ANONYMOUS | fx)
    mm.fault(B + 18 * P, write=True)
    mm.mmap(B + 20 * P, 2 * P, RW, MAP_PRIVATE | MAP_ANONYMOUS | fx)
    return World(mm, legacy, prep, files, [])


@dataclass(frozen=True)
class Request:
    name: str
    kind: str  # mmap | munmap | mprotect | fork | fault | mremap
    run: Callable[[World], object]
    #: [start, end) the call may turn into a hole (MAP_FIXED over existing VMAs)
    hole: tuple[int, int] | None = None
    #: run first, without injection (part of the starting state)
    setup: Callable[[World], object] | None = None
    #: points after which Linux itself keeps more commit charge than VM_ACCOUNT VMAs show
    charge_kept_on: tuple[str, ...] = ()


FIXED = (B + 2 * P, B + 16 * P)  # partial A, all of D and R, the gap, partial L


def _mmap_req(name: str, flags: int, file: str | None, fixed: bool, offset: int = 0,
              at: tuple[int, int] = FIXED) -> Request:
    def run(w: World) -> object:
        f = w.files[file] if file else None
        addr, length = (at[0], at[1] - at[0]) if fixed else (None, 4 * P)
        return w.mm.mmap(addr, length, RW, flags | (MAP_FIXED if fixed else 0), f, offset)
    return Request(name, "mmap", run, at if fixed else None)


ANON, SHANON = MAP_PRIVATE | MAP_ANONYMOUS, MAP_SHARED | MAP_ANONYMOUS
REQUESTS = [
    _mmap_req("anon", ANON, None, False),
    _mmap_req("anon-populate", ANON | MAP_POPULATE, None, False),
    _mmap_req("shmem", SHANON, None, False),
    _mmap_req("regular-file", MAP_SHARED, "reg", False),
    _mmap_req("legacy-driver", MAP_SHARED, "legacy", False),
    _mmap_req("prepare-driver", MAP_SHARED, "prep", False),
    _mmap_req("anon-fixed", ANON, None, True),
    _mmap_req("shmem-fixed", SHANON, None, True),
    _mmap_req("regular-file-fixed", MAP_SHARED, "reg", True),
    _mmap_req("legacy-driver-fixed", MAP_SHARED, "legacy", True),
    _mmap_req("prepare-driver-fixed", MAP_SHARED, "prep", True),
    # fills the gap after R with the next 2 pages of the same file: merges into R
    _mmap_req("regular-file-merge", MAP_SHARED, "reg", True, 4 * P, (B + 12 * P, B + 14 * P)),
    Request("munmap-split-anon", "munmap", lambda w: w.mm.munmap(B + P, 2 * P)),
    Request("munmap-split-driver", "munmap", lambda w: w.mm.munmap(B + 5 * P, P)),
    Request("mprotect-split-anon", "mprotect", lambda w: w.mm.mprotect(B + P, P, PROT_READ)),
    Request("mprotect-split-driver", "mprotect",
            lambda w: w.mm.mprotect(B + 5 * P, 2 * P, PROT_READ)),
    Request("mprotect-writable-again", "mprotect", lambda w: w.mm.mprotect(B + 20 * P, P, RW),
            setup=lambda w: w.mm.mprotect(B + 20 * P, 2 * P, PROT_READ)),
    Request("fork", "fork", lambda w: w.children.append(w.mm.fork())),
    # mremap: move all of N past itself (copy_vma, move_page_tables, unmap the source).
    # When unmapping the source fails after the move, Linux re-charges the moved pages while
    # the source has lost VM_ACCOUNT (unmap_source_vma(), mm/mremap.c: "just get accounts
    # right"): the charge then exceeds what the VM_ACCOUNT VMAs show, in the kernel too.
    Request("mremap-move-anon", "mremap",
            lambda w: w.mm.mremap(B + 20 * P, 2 * P, 2 * P, MREMAP_MAYMOVE | MREMAP_FIXED,
                                  B + 24 * P),
            charge_kept_on=("munmap_clear_tree", "vma_iter_prealloc", "vm_area_alloc")),
    Request("fault-anon-write", "fault", lambda w: w.mm.fault(B + 20 * P, write=True)),
    Request("fault-cow-after-fork", "fault", lambda w: w.mm.fault(B, write=True),
            setup=lambda w: w.children.append(w.mm.fork())),
]


# -- observations ---------------------------------------------------------------------

def page_view(mm: MM, pte_prot: bool = True) -> dict[int, tuple]:
    """Every mapped page with what maps it: independent of how VMAs are split."""
    view: dict[int, tuple] = {}
    for v in mm.vmas():
        for i in range(v.pages):
            view[v.vm_start + i * P] = (
                v.vm_flags & ~VMFlag.SOFTDIRTY, id(v.vm_file), v.vm_pgoff + i,
                v.vm_ops.name if v.vm_ops else None, v.vm_page_prot)
    for addr, pte in mm.pagetable.entries().items():
        view[("pte", addr)] = (pte.pfn, pte.prot if pte_prot else None, pte.special)
    return view


def without(view: dict, start: int, end: int) -> dict:
    def inside(k) -> bool:
        a = k[1] if isinstance(k, tuple) else k
        return start <= a < end
    return {k: v for k, v in view.items() if not inside(k)}


def check_consistent(w: World, where: str, charge_may_exceed: bool = False) -> None:
    """Invariants that hold after every call, failed or not."""
    assert lockdep.held == [], f"{where}: locks left held: {lockdep.held}"
    mms = w.mms()
    users: dict[int, int] = {}
    ptes_of: dict[int, int] = {}
    tokens: list[tuple[str, object]] = []
    for mm in mms:
        total = committed = 0
        vmas = mm.vmas()
        for a, b in zip(vmas, vmas[1:], strict=False):
            assert a.vm_end <= b.vm_start, f"{where}: overlapping VMAs {a} {b}"
        for v in vmas:
            assert type(v) is not FreedVmArea, f"{where}: freed VMA still in the tree"
            assert v.vm_mm is mm and v.vm_start < v.vm_end and not v.detached, \
                f"{where}: half-built VMA {v!r}"
            total += v.pages
            if VMFlag.ACCOUNT in v.vm_flags:
                committed += v.pages
            if v.vm_file is not None:
                assert type(v.vm_file) is not FreedFile, f"{where}: VMA maps a freed file"
                users[id(v.vm_file)] = users.get(id(v.vm_file), 0) + 1
                assert v.vm_file.f_mapping.i_mmap.get(v.serial) is v, \
                    f"{where}: {v!r} missing from its file's rmap"
            if v.vm_ops is not None and v.vm_ops.name in ("legacy_vm_ops", "prep_vm_ops"):
                tokens.append((v.vm_ops.name, v.vm_private_data))
        assert mm.total_vm == total, f"{where}: total_vm {mm.total_vm} != {total}"
        assert mm.committed_pages == committed or (
            charge_may_exceed and mm is w.mm and mm.committed_pages > committed), \
            f"{where}: committed {mm.committed_pages}, VM_ACCOUNT VMAs have {committed}"
        for addr, pte in mm.pagetable.entries().items():
            assert mm.vma_lookup(addr) is not None, f"{where}: PTE {addr:#x} outside any VMA"
            if pte.page is not None and not pte.special:
                ptes_of[id(pte.page)] = ptes_of.get(id(pte.page), 0) + 1
    for name, f in w.files.items():
        assert type(f) is not FreedFile, f"{where}: our open file {name} was freed"
        assert f.f_count == 1 + users.get(id(f), 0), (
            f"{where}: {name} f_count {f.f_count} but {users.get(id(f), 0)} VMAs use it "
            "(a leaked or a dropped file reference)")
        for vma in f.f_mapping.i_mmap.values():
            assert type(vma) is not FreedVmArea and any(vma in m.vmas() for m in mms), \
                f"{where}: stale rmap entry in {name}"
    for drv in (w.legacy, w.prep):
        assert not drv.errors, f"{where}: {drv.name}: {drv.errors}"
        carried = [t for name, t in tokens if name == drv.vm_ops.name]
        assert None not in carried, f"{where}: a live {drv.name} VMA holds no reference"
        assert len(set(map(id, carried))) == len(carried), \
            f"{where}: two VMAs share one {drv.name} reference (open not called on a copy)"
        assert set(carried) == drv.live, (
            f"{where}: {drv.name} holds {len(drv.live)} references, its VMAs carry "
            f"{len(carried)} (open/mapped vs close unbalanced)")
    for page in _allocator.pages.values():
        n = ptes_of.get(id(page), 0)
        assert page.mapcount == n and page.refcount == 1 + n, (
            f"{where}: page {page.pfn:#x} refcount {page.refcount} mapcount {page.mapcount} "
            f"but {n} PTEs map it")


def teardown(w: World, where: str, charge_may_exceed: bool = False) -> None:
    """exit() every address space: every reference must come back to the baseline."""
    for mm in [*w.children, w.mm]:
        mm.exit()
    w.children.clear()
    check_consistent(w, where + " after exit", charge_may_exceed)
    assert w.legacy.live == set() and w.prep.live == set()
    for f in w.files.values():
        assert f.f_count == 1


# -- the sweep ----------------------------------------------------------------------------

def run_one(req: Request, point: str, nth: int) -> tuple[bool, BaseException | None]:
    w = build()
    if req.setup is not None:
        req.setup(w)
    where = f"{req.name} with {point} failing at #{nth}"
    before = page_view(w.mm)
    before_exact = (w.mm.maps(), dict(w.mm.pagetable.entries()))
    warnings = list(w.mm.warnings)
    err: BaseException | None = None
    with w.mm.injecting(point, nth, INJ_ERR) as inj:
        try:
            req.run(w)
        except OSError as exc:
            err = exc
    if not inj.fired:
        return False, None
    # A MAP_FIXED mmap failing after the old VMAs were torn down keeps their commit charge
    # (__mmap_setup() zeroed vms->nr_accounted), so only then may it exceed the VMAs'.
    kept = point in req.charge_kept_on
    check_consistent(w, where,
                     charge_may_exceed=kept or (err is not None and req.hole is not None))
    assert w.mm.warnings == warnings, f"{where}: new kernel warnings {w.mm.warnings}"
    if err is not None:
        want = INJ_ERR if point in HOOK_POINTS else errno.ENOMEM
        assert err.errno == want, f"{where}: errno {err.errno} ({err}), want {want}"
        if req.kind == "fork":
            after = page_view(w.mm, pte_prot=False)
            assert after == page_view_noprot(before), f"{where}: parent changed"
            assert w.children == []
        elif req.kind == "fault":
            assert page_view(w.mm) == before, f"{where}: a failed fault changed the PTEs"
            if w.children:  # the COW fault failed: parent and child still share the page
                assert w.mm.pagetable.lookup(B).page is w.children[0].pagetable.lookup(B).page
        else:
            after = page_view(w.mm)
            unchanged = after == before
            hole = req.hole is not None and after == without(before, *req.hole)
            assert unchanged or hole, (
                f"{where}: failed with {err} but left neither the old state nor a hole:\n"
                f"{w.mm.maps()}")
            overlapped = req.hole is not None and without(before, *req.hole) != before
            if overlapped and point in HOOK_POINTS:
                assert hole and not unchanged, f"{where}: old VMAs must be gone (E3-E5)"
            if point == "vm_enough_memory":
                assert unchanged, f"{where}: accounting failure must change nothing"
            if req.hole is None and req.kind == "mmap":
                assert (w.mm.maps(), dict(w.mm.pagetable.entries())) == before_exact, \
                    f"{where}: a failed mmap into a free range changed the address space"
    teardown(w, where, charge_may_exceed=kept or (err is not None and req.hole is not None))
    return True, err


def page_view_noprot(view: dict) -> dict:
    return {k: ((v[0], None, v[2]) if isinstance(k, tuple) else v) for k, v in view.items()}


@pytest.mark.parametrize("req", REQUESTS, ids=[r.name for r in REQUESTS])
def test_fault_injection_sweep(req: Request) -> None:
    # The request works without injection, and its clean run leaves a consistent state.
    w = build()
    if req.setup is not None:
        req.setup(w)
    req.run(w)
    check_consistent(w, f"{req.name} (no injection)")
    teardown(w, req.name)
    fired = 0
    for point in POINTS:
        for nth in range(1, 12):
            hit, _ = run_one(req, point, nth)
            if not hit:
                break
            fired += 1
        else:
            pytest.fail(f"{req.name}: {point} still firing at #11")
    assert fired, f"no fault-injection point is consulted by {req.name}"


def test_every_point_is_reached_and_fails_something() -> None:
    """Each point of POINTS is consulted by at least one request and makes it fail."""
    failed: set[str] = set()
    for point in POINTS:
        for req in REQUESTS:
            hit, err = run_one(req, point, 1)
            if hit and err is not None:
                failed.add(point)
                break
    assert failed == set(POINTS), f"never failing anything: {set(POINTS) - failed}"


def test_fixed_prepare_failure_leaves_hole_and_closes_old() -> None:
    """E3 spelled out: mmap_prepare fails on MAP_FIXED -> hole; old driver VMA closed once."""
    w = build()
    with w.mm.injecting("mmap_prepare", 1, errno.ENODEV), pytest.raises(OSError) as ei:
        w.mm.mmap(FIXED[0], FIXED[1] - FIXED[0], RW, MAP_SHARED | MAP_FIXED, w.files["prep"])
    assert ei.value.errno == errno.ENODEV
    assert w.mm.vma_lookup(B + 5 * P) is None and w.mm.vma_lookup(B + P) is not None
    assert w.mm.vma_lookup(B + 16 * P) is not None  # the tail of L survived the split
    assert len(w.prep.live) == 0 and len(w.legacy.live) == 1
    check_consistent(w, "E3")
    teardown(w, "E3")


def test_fork_failure_tears_down_child() -> None:
    """dup_mmap failing half way: the child is torn down, its opens matched by closes."""
    w = build()
    with w.mm.injecting("vm_area_alloc", 3):
        with pytest.raises(OSError) as ei:
            w.mm.fork()
    assert ei.value.errno == errno.ENOMEM
    assert w.files["prep"].f_count == 2  # only the parent's VMA
    check_consistent(w, "fork failure")
    teardown(w, "fork failure")
