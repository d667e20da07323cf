"""The hook boundary: what a hook does wrong is named, and never breaks the mm.

* A wrong-typed write into a VMA, a descriptor's action or a vm_fault is refused at the
  write with a HookViolation naming the field and its C type (the VMA is checked only
  while a hook holds it: ``mmaplab.kernel.hooks`` swaps its class).
* A hook that raises or returns garbage makes the path take its error path, as an error
  return would; the report is raised as the system call returns.
* After any failing call the mm is consistent and references balance.
* ``vm_ops->mapped`` that fails in any way: the VMA is unmapped (close runs), references
  are dropped.  An ``error_hook`` returning 0 makes mmap "succeed" (D6, as the kernel).
* A hypothesis fuzz of all of it, deterministic (derandomized, no database).
"""

from __future__ import annotations

import errno

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mmaplab import (
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
    MAP_FIXED,
    MAP_PRIVATE,
    MAP_SHARED,
    MCL_CURRENT,
    MCL_FUTURE,
    MCL_ONFAULT,
    MLOCK_ONFAULT,
    MM,
    MREMAP_DONTUNMAP,
    MREMAP_FIXED,
    MREMAP_MAYMOVE,
    PAGE_SIZE,
    PROT_READ,
    PROT_WRITE,
    File,
    FileOperations,
    FMode,
    HookError,
    HookViolation,
    Inode,
    VMFlag,
    VmOperationsStruct,
)
from mmaplab.kernel.errors import KernelError
from mmaplab.kernel.locks import lockdep
from mmaplab.kernel.memory import remap_pfn_range
from mmaplab.kernel.mm_types import MmapAction, VmAreaStruct
from mmaplab.kernel.mmap_action import (
    mmap_action_map_kernel_pages_full,
    mmap_action_remap,
    mmap_action_remap_full,
)
from mmaplab.kernel.page_alloc import alloc_page
from mmaplab.kernel.pgtable import Pgprot
from tests.tiers import examples

P = PAGE_SIZE
B = 0x7F0000000000
RW = PROT_READ | PROT_WRITE


def make_file(fops: FileOperations, files: list[File] | None = None) -> File:
    f = File(Inode("/dev/toy", 16 * P, dev=(10, 1)), fops, FMode.READ | FMode.WRITE)
    if files is not None:
        files.append(f)
    return f


def consistent(mm: MM, files: list[File] = (), others: list[MM] = ()) -> None:
    """The invariants every mm keeps, after any call: fail loudly if one is broken."""
    vmas = mm.vmas()
    for v in vmas:
        assert type(v) is VmAreaStruct, f"{v!r} kept its hook-time class"
        assert isinstance(v.vm_start, int) and isinstance(v.vm_end, int)
        assert v.vm_start < v.vm_end and not v.vm_start % P and not v.vm_end % P
        assert isinstance(v.vm_flags, VMFlag) and isinstance(v.vm_page_prot, Pgprot)
        assert v.vm_ops is None or isinstance(v.vm_ops, VmOperationsStruct)
        assert v.vm_file is None or isinstance(v.vm_file, File)
        assert isinstance(v.vm_pgoff, int) and not v.detached
    for a, b in zip(vmas, vmas[1:], strict=False):
        assert a.vm_end <= b.vm_start, f"overlap {a!r} {b!r}"
    assert mm.map_count == len(vmas)
    assert len(mm.maps().splitlines()) == len(vmas)
    mm.smaps()
    for addr in mm.pagetable.entries():
        assert mm.vma_lookup(addr) is not None, f"a PTE at {addr:#x} outside every VMA"
    assert lockdep.held == [], f"locks left held: {lockdep.held}"
    # references: ours (1) + one per VMA mapping the file, in every live mm
    for f in files:
        users = sum(1 for m in (mm, *others) for v in m.vmas() if v.vm_file is f)
        assert f.f_count == 1 + users, f"{f.name}: f_count {f.f_count}, {users} VMAs"


# -- wrong-typed writes, refused at the write ----------------------------------------

def _legacy_setting(field: str, value):
    def mmap(file, vma):
        setattr(vma, field, value)
        return 0
    return FileOperations(name="legacy", mmap=mmap)


@pytest.mark.parametrize(("field", "value", "expected"), [
    ("vm_ops", 42, "vm_operations_struct"),
    ("vm_ops", {"open": None}, "vm_operations_struct"),
    ("vm_flags", "rw", "vm_flags_t"),
    ("vm_flags", 0x73, "vm_flags_t"),
    ("vm_page_prot", None, "pgprot_t"),
    ("vm_pgoff", "x", "pgoff_t"),
    ("vm_pgoff", -1, "pgoff_t"),
    ("vm_file", "/etc/passwd", "struct file"),
    ("vm_end", B + 1, "page-aligned"),
])
def test_legacy_mmap_wrong_typed_write_is_refused_at_the_write(field, value, expected) -> None:
    mm, files = MM(), []
    f = make_file(_legacy_setting(field, value), files)
    with pytest.raises(HookViolation) as ei:
        mm.mmap(B, 2 * P, PROT_READ, MAP_SHARED | MAP_FIXED, f)
    msg = str(ei.value)
    assert f"vma.{field} must be" in msg and expected in msg and "legacy->mmap" in msg
    # raised inside the hook, at the write itself
    assert ei.value.__traceback__ is not None
    assert mm.vmas() == []
    consistent(mm, files)


def test_the_violation_points_at_the_hook_line() -> None:
    def mmap(file, vma):
        vma.vm_ops = "ops"  # the line the report must name
        return 0

    mm = MM()
    with pytest.raises(HookViolation) as ei:
        mm.mmap(None, P, PROT_READ, MAP_SHARED, make_file(FileOperations(name="l", mmap=mmap)))
    frames = [fr for fr in _frames(ei.value.__traceback__) if fr.f_code.co_name == "mmap"
              and fr.f_code.co_filename == __file__]
    assert frames, "the violation was not raised from inside the hook"


def _frames(tb):
    while tb is not None:
        yield tb.tb_frame
        tb = tb.tb_next


@pytest.mark.parametrize(("write", "field"), [
    (lambda d: setattr(d.action, "remap_start_pfn", "0x1000"), "action.remap_start_pfn"),
    (lambda d: mmap_action_remap_full(d, "0x1000"), "action.remap_start_pfn"),
    (lambda d: mmap_action_remap_full(d, 2**80), "action.remap_start_pfn"),
    (lambda d: mmap_action_remap_full(d, -1), "action.remap_start_pfn"),
    (lambda d: mmap_action_remap(d, d.start, 0x1000, "4096"), None),
    (lambda d: setattr(d.action, "type", "remap"), "action.type"),
    (lambda d: setattr(d.action, "success_hook", 5), "action.success_hook"),
    (lambda d: setattr(d, "action", MmapAction(remap_size=-1)), "desc.action"),
    (lambda d: setattr(d, "vm_ops", "ops"), "desc.vm_ops"),
    (lambda d: setattr(d, "pgoff", "0"), "desc.pgoff"),
])
def test_prepare_wrong_typed_action_write_is_refused(write, field) -> None:
    def prepare(desc):
        write(desc)
        return 0

    mm, files = MM(), []
    with pytest.raises(HookError) as ei:
        mm.mmap(B, 2 * P, PROT_READ, MAP_SHARED | MAP_FIXED,
                make_file(FileOperations(name="p", mmap_prepare=prepare), files))
    if field is not None:
        assert isinstance(ei.value, HookViolation) and f"{field} must be" in str(ei.value)
    assert "p->mmap_prepare" in str(ei.value)
    assert mm.vmas() == [] and len(mm.pagetable) == 0
    consistent(mm, files)


def test_kernel_pages_that_are_not_pages_fail_the_mmap_cleanly() -> None:
    def prepare(desc):
        mmap_action_map_kernel_pages_full(desc, [alloc_page("driver"), 7])
        return 0

    mm, files = MM(), []
    with pytest.raises(OSError) as ei:
        mm.mmap(B, 2 * P, PROT_READ, MAP_SHARED | MAP_FIXED,
                make_file(FileOperations(name="k", mmap_prepare=prepare), files))
    assert ei.value.errno == errno.EINVAL
    assert any("element 1 is int, not a page" in w for w in mm.warnings)
    assert mm.vmas() == [] and len(mm.pagetable) == 0
    consistent(mm, files)


def test_open_and_close_writes_are_checked_and_the_call_completes() -> None:
    """open/close cannot fail in the kernel: the split or unmap completes, then the
    violation is reported."""
    ops = VmOperationsStruct(name="bad", open=lambda v: setattr(v, "vm_ops", "x"),
                             close=lambda v: setattr(v, "vm_flags", 3))

    def prepare(desc):
        desc.vm_ops = ops
        return 0

    mm, files = MM(), []
    f = make_file(FileOperations(name="d", mmap_prepare=prepare), files)
    mm.mmap(B, 3 * P, RW, MAP_SHARED | MAP_FIXED, f)
    with pytest.raises(HookViolation) as ei:
        mm.mprotect(B + P, P, PROT_READ)  # split: the new pieces get ->open
    assert "bad->open" in str(ei.value) and "vma.vm_ops must be" in str(ei.value)
    assert len(mm.vmas()) == 3 and all(v.vm_ops is ops for v in mm.vmas())
    consistent(mm, files)
    with pytest.raises(HookViolation) as ei:
        mm.munmap(B, 3 * P)
    assert "bad->close" in str(ei.value) and "vma.vm_flags must be" in str(ei.value)
    assert mm.vmas() == []
    consistent(mm, files)


def test_fault_handler_setting_a_non_page_is_refused() -> None:
    def fault(vmf):
        vmf.page = "page"
        return 0

    ops = VmOperationsStruct(name="f", fault=fault)

    def prepare(desc):
        desc.vm_ops = ops
        return 0

    mm = MM()
    addr = mm.mmap(None, P, PROT_READ, MAP_SHARED,
                   make_file(FileOperations(name="d", mmap_prepare=prepare)))
    with pytest.raises(HookViolation) as ei:
        mm.fault(addr)
    assert "vmf.page must be a struct page" in str(ei.value)
    consistent(mm)


def test_model_writes_outside_hooks_are_not_checked() -> None:
    """The checking class exists only while a hook runs: the VMAs the model keeps are
    plain, and the legacy helpers a hook calls still work on the guarded VMA."""
    def mmap(file, vma):
        assert type(vma).__name__ == "HookVmArea"
        return remap_pfn_range(vma, vma.vm_start, 0x1000, vma.vm_end - vma.vm_start,
                               vma.vm_page_prot)

    mm = MM()
    addr = mm.mmap(None, 2 * P, PROT_READ, MAP_SHARED,
                   make_file(FileOperations(name="l", mmap=mmap)))
    (vma,) = mm.vmas()
    assert type(vma) is VmAreaStruct and VMFlag.PFNMAP in vma.vm_flags
    assert mm.pagetable.lookup(addr).pfn == 0x1000
    consistent(mm)


# -- mapped, success and error hooks ------------------------------------------------

class Tracked:
    def __init__(self, mapped) -> None:
        self.calls: list[str] = []
        self.ops = VmOperationsStruct(name="t", mapped=mapped,
                                      close=lambda v: self.calls.append("close"))
        self.files: list[File] = []

    def file(self, action=None) -> File:
        def prepare(desc):
            desc.vm_ops = self.ops
            if action is not None:
                action(desc)
            return 0
        return make_file(FileOperations(name="t", mmap_prepare=prepare), self.files)


def _raise(exc):
    def f(*a):
        raise exc
    return f


@pytest.mark.parametrize("mapped", [
    lambda *a: 5, lambda *a: "x", lambda *a: 0.0, _raise(IndexError("i")),
    _raise(KeyError("k")), lambda *a: -errno.ENOMEM,
])
def test_failing_mapped_unmaps_runs_close_and_drops_references(mapped) -> None:
    t = Tracked(mapped)
    mm = MM()
    f = t.file(lambda d: mmap_action_remap_full(d, 0x4000))
    with pytest.raises(OSError) as ei:
        mm.mmap(B, 2 * P, PROT_READ, MAP_SHARED | MAP_FIXED, f)
    if not isinstance(ei.value, HookError):
        assert ei.value.errno == errno.ENOMEM  # a real error return
    else:
        assert "t->mapped" in str(ei.value)
    # mmap_action_finish(): do_munmap() of the new VMA, so close runs once
    assert t.calls == ["close"] and mm.vmas() == [] and len(mm.pagetable) == 0
    consistent(mm, t.files)


def test_raising_success_hook_is_an_error_return() -> None:
    t = Tracked(None)
    mm = MM()

    def action(desc):
        desc.action.success_hook = _raise(RuntimeError("boom"))

    with pytest.raises(HookError) as ei:
        mm.mmap(B, P, PROT_READ, MAP_SHARED | MAP_FIXED, t.file(action))
    assert "success_hook" in str(ei.value) and "RuntimeError: boom" in str(ei.value)
    assert isinstance(ei.value.__cause__, RuntimeError)
    assert t.calls == ["close"] and mm.vmas() == []
    consistent(mm, t.files)


def test_d6_error_hook_returning_zero_reports_success_for_a_removed_mapping() -> None:
    """D6: v4's mmap_action_finish() returns what the error hook returns; 0 makes
    __mmap_region() report success for the mapping it has just unmapped (a caller bug
    the kernel only warns about)."""
    t = Tracked(None)
    mm = MM()

    def action(desc):
        mmap_action_remap_full(desc, 0x4000)
        desc.action.error_hook = lambda err: 0

    f = t.file(action)
    with mm.injecting("mmap_action_complete", 1, errno.EIO):
        addr = mm.mmap(B, 2 * P, PROT_READ, MAP_SHARED | MAP_FIXED, f)
    assert addr == B
    assert mm.vmas() == [] and len(mm.pagetable) == 0  # nothing is mapped there
    assert t.calls == ["close"]
    assert any("error_hook turned -5 into 0" in w for w in mm.warnings)
    consistent(mm, t.files)


def test_d6_error_hook_rewriting_the_error_still_fails() -> None:
    t = Tracked(None)
    mm = MM()

    def action(desc):
        mmap_action_remap_full(desc, 0x4000)
        desc.action.error_hook = lambda err: -errno.EAGAIN

    with mm.injecting("mmap_action_complete", 1, errno.EIO), pytest.raises(OSError) as ei:
        mm.mmap(B, 2 * P, PROT_READ, MAP_SHARED | MAP_FIXED, t.file(action))
    assert ei.value.errno == errno.EAGAIN and mm.vmas() == []
    consistent(mm, t.files)


def test_outside_a_system_call_a_hook_report_is_raised_at_once() -> None:
    from mmaplab.kernel.hooks import call_hook

    with pytest.raises(HookError, match="returned 'x'"):
        call_hook("toy->mmap", lambda: "x")
    with pytest.raises(HookError, match="raised ValueError"):
        call_hook("toy->mmap", _raise(ValueError("v")))


# -- the fuzz ---------------------------------------------------------------------------

BAD_VALUES = [None, "rw", 42, -1, 2**80, {"open": None}, 0.5, b"\0", [], object()]
VMA_FIELDS = ["vm_ops", "vm_flags", "vm_page_prot", "vm_pgoff", "vm_file", "vm_private_data",
              "vm_start", "vm_end", "vm_mm", "anon_vma"]
ACTION_FIELDS = ["type", "remap_start_pfn", "remap_size", "remap_pgprot", "success_hook",
                 "error_hook", "map_kernel_pages", "map_kernel_nr_pages",
                 "hide_from_rmap_until_complete", "simple_ioremap_size"]
DESC_FIELDS = ["vm_ops", "vma_flags", "page_prot", "pgoff", "vm_file", "action", "private_data",
               "start", "vm_flags"]


class Boom(Exception):
    pass


class NotAnError(BaseException):
    """A BaseException that is not an Exception: control flow, it goes straight through."""


# What a misbehaving hook does: (kind, arg)
behaviour = st.one_of(
    st.tuples(st.just("return"), st.sampled_from([0, None, -errno.EINVAL, -errno.ENOMEM, 5,
                                                  "ok", 0.0, True, -99999, [], 2**70])),
    st.tuples(st.just("raise"), st.sampled_from([ValueError, KeyError, AttributeError,
                                                 TypeError, Boom, RecursionError,
                                                 ZeroDivisionError, OSError])),
    st.tuples(st.just("write-vma"), st.tuples(st.sampled_from(VMA_FIELDS),
                                              st.sampled_from(BAD_VALUES))),
)
prepare_behaviour = st.one_of(
    behaviour,
    st.tuples(st.just("write-desc"), st.tuples(st.sampled_from(DESC_FIELDS),
                                               st.sampled_from(BAD_VALUES))),
    st.tuples(st.just("write-action"), st.tuples(st.sampled_from(ACTION_FIELDS),
                                                 st.sampled_from(BAD_VALUES))),
    st.tuples(st.just("remap"), st.sampled_from([0x1000, "0x1000", -1, 2**80, 0.5])),
    st.tuples(st.just("kpages"), st.sampled_from([[1, 2, 3], ["page"], [None], []])),
    st.tuples(st.just("hooks"), st.tuples(behaviour, behaviour)),  # success, error hook
)


#: Set when a hook managed to store a (well-typed) value in ``vma.vm_file``: the kernel
#: then drops or takes no reference for it either (``remove_vma()`` fputs whatever
#: ``vm_file`` holds), so the run's references cannot balance, in Linux as in the model
#: (pinned by ``test_a_hook_that_clears_vm_file_leaks_the_reference_as_linux_does``).
_VM_FILE_WRITTEN = [False]


def _act(how, target=None):
    """A hook body that misbehaves as ``how`` says, on ``target`` (a VMA, desc or vmf)."""
    kind, arg = how
    if kind == "return":
        return arg
    if kind == "raise":
        raise arg("from a hook")
    if kind == "write-vma" and target is not None:
        vma = getattr(target, "vma", target)
        if isinstance(vma, VmAreaStruct):
            setattr(vma, *arg)
            _VM_FILE_WRITTEN[0] |= arg[0] == "vm_file"
    return 0


def _prepare_hook(how, ops):
    def prepare(desc):
        desc.vm_ops = ops
        kind, arg = how
        if kind == "write-desc":
            setattr(desc, *arg)
        elif kind == "write-action":
            setattr(desc.action, *arg)
        elif kind == "remap":
            mmap_action_remap_full(desc, arg)
        elif kind == "kpages":
            mmap_action_map_kernel_pages_full(desc, list(arg))
        elif kind == "hooks":
            mmap_action_remap_full(desc, 0x2000)
            success, error = arg
            desc.action.success_hook = lambda vma: _act(success, vma)
            desc.action.error_hook = lambda err: _act(error)
        else:
            return _act(how)
        return 0
    return prepare


def _ops(hows):
    mapped, open_, close, may_split, fault, mprotect, mremap = hows
    return VmOperationsStruct(
        name="fuzz_vm_ops",
        mapped=lambda s, e, pg, f, priv: _act(mapped),
        open=lambda v: _act(open_, v), close=lambda v: _act(close, v),
        may_split=lambda v, a: _act(may_split, v),
        fault=lambda vmf: _act(fault, vmf) if fault[0] != "return" else (
            _page(vmf) if fault[1] == 0 else fault[1]),
        mprotect=lambda v, s, e, fl: _act(mprotect, v),
        mremap=lambda new_vma: _act(mremap, new_vma))


def _page(vmf):
    vmf.page = alloc_page("driver")
    return 0


file_kind = st.one_of(
    st.tuples(st.just("prepare"), prepare_behaviour, st.tuples(*[behaviour] * 7)),
    st.tuples(st.just("legacy"), behaviour, st.tuples(*[behaviour] * 7)),
)
#: mremap flags: in place, may move, to a fixed address, and keeping the source.
MREMAP_FLAGS = [0, MREMAP_MAYMOVE, MREMAP_MAYMOVE | MREMAP_FIXED,
                MREMAP_MAYMOVE | MREMAP_DONTUNMAP,
                MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP]
ADVICE = [MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_WILLNEED, MADV_DONTNEED,
          MADV_DONTFORK, MADV_DOFORK, MADV_DONTDUMP, MADV_DODUMP, MADV_WIPEONFORK,
          MADV_KEEPONFORK]
mmap_op = st.tuples(st.just("mmap"), st.integers(0, 6), st.integers(1, 3), file_kind,
                    st.sampled_from([MAP_SHARED, MAP_PRIVATE]))
classic_op = st.one_of(
    mmap_op,
    st.tuples(st.just("munmap"), st.integers(0, 8), st.integers(1, 4)),
    st.tuples(st.just("mprotect"), st.integers(0, 8), st.integers(1, 3),
              st.sampled_from([PROT_READ, RW])),
    st.tuples(st.just("fault"), st.integers(0, 8), st.booleans()),
    st.tuples(st.just("fork")), st.tuples(st.just("exit")),
)
#: The calls added in round 2: mremap (vm_ops->mremap, may_split, open on the copy),
#: madvise, mlock/munlock/mlockall/munlockall, mseal.
#: (Ranges in pages 0-5, where the mappings mostly are.)
new_call_op = st.one_of(
    st.tuples(st.just("mremap"), st.integers(0, 5), st.integers(1, 2), st.integers(1, 4),
              st.sampled_from(MREMAP_FLAGS), st.integers(7, 14)),
    st.tuples(st.just("madvise"), st.integers(0, 5), st.integers(1, 2),
              st.sampled_from(ADVICE)),
    st.tuples(st.just("mlock"), st.integers(0, 5), st.integers(1, 2), st.booleans()),
    st.tuples(st.just("munlock"), st.integers(0, 5), st.integers(1, 2)),
    st.tuples(st.just("mlockall"), st.sampled_from([MCL_CURRENT, MCL_FUTURE,
                                                    MCL_CURRENT | MCL_ONFAULT])),
    st.tuples(st.just("munlockall")),
    st.tuples(st.just("mseal"), st.integers(0, 5), st.integers(1, 2)),
    st.tuples(st.just("fault"), st.integers(0, 5), st.booleans()),
)
op = classic_op
# The new calls need mappings to act on: their mmap mostly succeeds (the prepare or
# ->mmap hook and ``mapped`` behave three times in four), while the VMA hooks the new
# calls reach (open, close, may_split, mprotect, mremap) misbehave as often as above.
_ok = st.just(("return", 0))
_mostly_ok = st.one_of(_ok, _ok, _ok, behaviour)
_new_vm_hows = st.tuples(_mostly_ok, behaviour, behaviour, behaviour, _mostly_ok, behaviour,
                         behaviour)
_new_file_kind = st.one_of(
    st.tuples(st.just("prepare"), st.one_of(_ok, _ok, _ok, prepare_behaviour), _new_vm_hows),
    st.tuples(st.just("legacy"), _mostly_ok, _new_vm_hows),
)
new_mmap_op = st.tuples(st.just("mmap"), st.integers(0, 2), st.integers(3, 6),
                        _new_file_kind, st.sampled_from([MAP_SHARED, MAP_PRIVATE]))
#: The first mapping of a run is made (its mmap hooks behave); its VMA hooks do not.
_base_vm_hows = st.tuples(_ok, behaviour, behaviour, behaviour, _mostly_ok, behaviour,
                          behaviour)
base_mmap_op = st.tuples(st.just("mmap"), st.just(0), st.integers(4, 6), st.tuples(
    st.sampled_from(["prepare", "legacy"]), _ok, _base_vm_hows),
    st.sampled_from([MAP_SHARED, MAP_PRIVATE]))


def _legacy_hook(how, ops):
    def mmap(file, vma):
        vma.vm_ops = ops
        return _act(how, vma)
    return mmap


def run_ops(ops) -> None:
    mm, files, kids = MM(), [], []
    _VM_FILE_WRITTEN[0] = False
    for o in ops:
        name = o[0]
        try:
            if name == "mmap":
                _, page, n, (kind, how, vm_hows), flags = o
                vmops = _ops(vm_hows)
                fops = (FileOperations(name="fz", mmap_prepare=_prepare_hook(how, vmops))
                        if kind == "prepare" else
                        FileOperations(name="fz", mmap=_legacy_hook(how, vmops)))
                before = {(v.vm_start, v.vm_end) for v in mm.vmas()}
                try:
                    mm.mmap(B + page * P, n * P, RW, flags | MAP_FIXED, make_file(fops, files))
                except OSError as exc:
                    after = {(v.vm_start, v.vm_end) for v in mm.vmas()}
                    new = [r for r in after - before
                           if not any(s <= r[0] and r[1] <= e for s, e in before)]
                    # open/close cannot fail: when one of them (of a VMA MAP_FIXED
                    # replaced) misbehaved, the mmap completed and its report is raised
                    # on the way out, the new mapping in place.
                    completed = isinstance(exc, HookError) and exc.hook.endswith(
                        ("->open", "->close"))
                    assert completed or not new, f"a failed mmap left {new}"
                    raise
            elif name == "munmap":
                mm.munmap(B + o[1] * P, o[2] * P)
            elif name == "mprotect":
                mm.mprotect(B + o[1] * P, o[2] * P, o[3])
            elif name == "fault":
                mm.fault(B + o[1] * P, write=o[2])
            elif name == "fork":
                kids.append(mm.fork())
            elif name == "exit":
                mm.exit()
            else:
                _new_call(mm, o)
        except OSError as exc:
            # every failure names its problem with an errno: a KernelError (HookError,
            # HookViolation, SIGSEGV/SIGBUS, lockdep/KASAN reports) -- never an internal one
            assert isinstance(exc, KernelError) and exc.errno and str(exc).strip(), repr(exc)
        consistent(mm, _balanced(files), kids)
    for kid in kids:
        try:
            kid.exit()
        except KernelError:
            pass
        consistent(kid, _balanced(files), [m for m in (mm, *kids) if m is not kid])


def _balanced(files: list[File]) -> list[File]:
    """The files whose references must balance: all, unless a hook rewrote vm_file."""
    return [] if _VM_FILE_WRITTEN[0] else files


def _new_call(mm: MM, o) -> None:
    """One of the round-2 calls, on the fuzz window."""
    name = o[0]
    if name == "mremap":
        _, page, old_n, new_n, flags, new_page = o
        target = B + new_page * P if flags & MREMAP_FIXED else None
        mm.mremap(B + page * P, old_n * P, new_n * P, flags, target)
    elif name == "madvise":
        mm.madvise(B + o[1] * P, o[2] * P, o[3])
    elif name == "mlock":
        mm.mlock2(B + o[1] * P, o[2] * P, MLOCK_ONFAULT if o[3] else 0)
    elif name == "munlock":
        mm.munlock(B + o[1] * P, o[2] * P)
    elif name == "mlockall":
        mm.mlockall(o[1])
    elif name == "munlockall":
        mm.munlockall()
    elif name == "mseal":
        mm.mseal(B + o[1] * P, o[2] * P)
    else:
        raise AssertionError(f"unknown fuzz op {name}")


FUZZ_SETTINGS = settings(max_examples=examples(250), deadline=None, derandomize=True,
                         database=None, suppress_health_check=list(HealthCheck))


@FUZZ_SETTINGS
@given(st.lists(op, min_size=1, max_size=8))
def test_fuzz_no_internal_exception_escapes_and_the_mm_stays_consistent(ops) -> None:
    run_ops(ops)


@settings(FUZZ_SETTINGS, max_examples=examples(400))
@given(st.tuples(base_mmap_op, st.lists(st.one_of(new_mmap_op, new_call_op, new_call_op),
                                        min_size=1, max_size=10)))
def test_fuzz_of_the_new_calls_over_misbehaving_hooks(ops) -> None:
    """mremap (its ``vm_ops->mremap``, ``may_split`` and ``open`` on the copy, all of
    them misbehaving), madvise, mlock, munlock, mlockall and mseal over mappings whose
    hooks misbehave: no internal exception, consistent mm, balanced references."""
    first, rest = ops
    run_ops([first, *rest, ("fork",), ("munlockall",)])


#: Every misbehaviour of ``behaviour`` (one value each), for exhaustive checks.
ALL_BEHAVIOURS = (
    [("return", v) for v in (0, None, -errno.EINVAL, -errno.ENOMEM, 5, "ok", 0.0, True,
                             -99999, [], 2**70)]
    + [("raise", e) for e in (ValueError, KeyError, AttributeError, TypeError, Boom,
                              RecursionError, ZeroDivisionError, OSError)]
    + [("write-vma", (f, v)) for f in VMA_FIELDS for v in BAD_VALUES if f != "vm_file"])


@pytest.mark.parametrize("how", ALL_BEHAVIOURS,  # ids without addresses (xdist compares)
                         ids=[f"{i}-{h[0]}" for i, h in enumerate(ALL_BEHAVIOURS)])
@pytest.mark.parametrize("flags", [MREMAP_MAYMOVE | MREMAP_FIXED,
                                   MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP])
def test_a_misbehaving_vm_ops_mremap_is_an_error_return(how, flags) -> None:
    """``copy_vma_and_data()``: a failing ``vm_ops->mremap`` moves the pages back and
    unmaps the copy instead (``close`` runs on it); a broken one does the same, named."""
    calls = []
    ops = VmOperationsStruct(name="moving_vm_ops",
                             mremap=lambda new_vma: calls.append(1) or _act(how, new_vma),
                             open=lambda vma: calls.append("open"),
                             close=lambda vma: calls.append("close"), fault=_page)

    def prepare(desc):
        desc.vm_ops = ops
        return 0

    mm, files = MM(), []
    f = make_file(FileOperations(name="m", mmap_prepare=prepare), files)
    mm.mmap(B, 2 * P, RW, MAP_PRIVATE | MAP_FIXED, f)
    mm.fault(B, write=True)
    # a well-typed write (vm_private_data, vm_pgoff 42, ...) is the hook's own business
    returns_ok = how[1] is None or (type(how[1]) is int and how[1] == 0)
    must_fail = how[0] == "raise" or (how[0] == "return" and not returns_ok)
    try:
        assert mm.mremap(B, 2 * P, 2 * P, flags, B + 8 * P) == B + 8 * P
        assert not must_fail, f"{how} was taken for success"
        assert mm.vma_lookup(B + 8 * P) is not None
    except OSError as exc:
        assert how[0] != "return" or must_fail, repr(exc)
        assert isinstance(exc, KernelError) and exc.errno, repr(exc)
        [vma] = mm.vmas()  # the source stays, with its page; the copy is gone
        assert vma.vm_start == B and mm.pagetable.lookup(B) is not None
        assert "close" in calls
    assert calls[:2] == ["open", 1]  # copy_vma() opens the copy, then the hook runs
    consistent(mm, files)
    mm.exit()
    consistent(mm, files)


def test_a_hook_that_clears_vm_file_leaks_the_reference_as_linux_does() -> None:
    """``vm_file`` is a ``struct file *``: NULL is well typed, so the write is not refused.
    ``remove_vma()`` then has no file to fput, and the mapping's reference leaks (the
    kernel's own behaviour; the fuzz above skips its balance check after such a write)."""
    ops = VmOperationsStruct(name="clearing_vm_ops",
                             close=lambda vma: setattr(vma, "vm_file", None))

    def prepare(desc):
        desc.vm_ops = ops
        return 0

    f = make_file(FileOperations(name="c", mmap_prepare=prepare))
    mm = MM()
    mm.mmap(B, P, PROT_READ, MAP_SHARED | MAP_FIXED, f)
    assert f.f_count == 2
    mm.munmap(B, P)
    assert mm.vmas() == [] and f.f_count == 2  # the VMA's reference was never dropped
    consistent(mm)


def test_a_base_exception_from_a_hook_goes_straight_through() -> None:
    """Not an Exception: control flow (a tool's time budget, GeneratorExit), not a bug."""
    def prepare(desc):
        raise NotAnError()

    mm = MM()
    with pytest.raises(NotAnError):
        mm.mmap(None, P, PROT_READ, MAP_SHARED,
                make_file(FileOperations(name="b", mmap_prepare=prepare)))
    assert lockdep.held == [] and mm.vmas() == []
