"""The hook sanitizer: the series' own bugs are flagged, correct hooks are not.

Buggy variants rebuilt from core pieces: the mainline deadlock (mmap_action_finish unmapping
while the rmap lock is held), the mainline use-after-free (vma->vm_file read after the VMA
was unmapped), the afs refcount bug (reference taken in mmap_prepare; the mapping then
merges or fails) — plus each rule of mmaplab.kernel.debug.sanitizer and a clean run.
"""

from __future__ import annotations

import errno

import pytest

from mmaplab import (
    MAP_FIXED,
    MAP_SHARED,
    MM,
    PAGE_SIZE,
    PROT_READ,
    PROT_WRITE,
    File,
    FileOperations,
    FMode,
    Inode,
    RegularFile,
    VmOperationsStruct,
)
from mmaplab.drivers.base import Driver
from mmaplab.kernel import mmap_action as ma
from mmaplab.kernel.debug.sanitizer import Sanitizer, SanitizerReport, sanitizing
from mmaplab.kernel.hooks import call_hook
from mmaplab.kernel.locks import lockdep
from mmaplab.kernel.mmap_action import mmap_action_remap_full
from mmaplab.kernel.page_alloc import alloc_page
from mmaplab.kernel.vma import do_vmi_munmap

P = PAGE_SIZE
B = 0x7F0000000000
RW = PROT_READ | PROT_WRITE


class Dev(Driver):
    """A configurable mmap_prepare driver; ``refs`` is what observe() reports."""

    name = "dev"

    def __init__(self, prepare=None, **ops) -> None:
        super().__init__("prepare")
        self.refs = 0
        self.vm_ops = VmOperationsStruct(name="dev_vm_ops", **ops)

        def default_prepare(desc):
            desc.vm_ops = self.vm_ops
            return 0

        self.fops = FileOperations(name="dev_fops", mmap_prepare=prepare or default_prepare)

    def open(self, mode: FMode = FMode.READ | FMode.WRITE) -> File:
        return File(Inode("/dev/dev", 64 * P), self.fops, mode, private_data=self)

    def observe(self) -> dict:
        return {"refs": self.refs}


def good_driver() -> Dev:
    """References taken in mapped (new VMA) and open (copies), dropped in close."""
    dev = Dev()

    def mapped(start, end, pgoff, file, priv):
        dev.refs += 1
        priv.value = "state"
        return 0

    def open_(vma):
        dev.refs += 1

    def close(vma):
        dev.refs -= 1

    def fault(vmf):
        vmf.page = alloc_page("kernel")
        return 0

    dev.vm_ops = VmOperationsStruct(name="good_vm_ops", open=open_, close=close, mapped=mapped,
                                    fault=fault)
    return dev


def test_clean_run_reports_nothing() -> None:
    dev = good_driver()
    f = dev.open()
    san = Sanitizer(mode="collect")
    mm = san.attach(MM())
    mm.mmap(B, 4 * P, RW, MAP_SHARED | MAP_FIXED, f)
    mm.mmap(B + 4 * P, 4 * P, RW, MAP_SHARED | MAP_FIXED, f, 4 * P)  # merges: no mapped
    mm.mprotect(B + P, P, PROT_READ)
    mm.fault(B)
    child = mm.fork()
    mm.munmap(B + 2 * P, 2 * P)
    child.exit()
    mm.exit()
    assert san.reports == [], "\n".join(map(str, san.reports))
    assert dev.refs == 0 and f.f_count == 1 and lockdep.held == []


def _v3_finish(mm, vma, action, err, is_compat):
    """mmap_action_finish as in mainline before v4 04/21: unmap first, drop the rmap lock after."""
    if not err:
        err = ma.call_vma_mapped(mm, vma)
    if not err and action.success_hook is not None:
        err = call_hook("mmap_action.success_hook", action.success_hook, vma)
    if not err:
        ma.maybe_rmap_unlock_action(vma, action)
        return 0
    with mm.trace.enter("do_munmap"):
        do_vmi_munmap(mm, vma.vm_start, vma.vm_end)
    ma.maybe_rmap_unlock_action(vma, action)  # before v4 04/21: reads a freed VMA's vm_file
    return err


def _hidden_failing_driver(hide: bool) -> Dev:
    def prepare(desc):
        desc.vm_ops = VmOperationsStruct(name="hidden_vm_ops")
        desc.action.hide_from_rmap_until_complete = hide
        desc.action.success_hook = lambda vma: -errno.EIO
        return 0

    return Dev(prepare)


def test_v4_order_is_clean_under_the_sanitizer() -> None:
    f = _hidden_failing_driver(hide=True).open()
    mm = MM(sanitize=True)
    with pytest.raises(OSError) as ei:
        mm.mmap(None, 4 * P, PROT_READ, MAP_SHARED, f)
    assert not isinstance(ei.value, SanitizerReport) and ei.value.errno == errno.EIO
    assert mm.maps() == "" and lockdep.held == []


def test_mainline_deadlock_rmap_lock_held_across_unmap(monkeypatch) -> None:
    monkeypatch.setattr(ma, "mmap_action_finish", _v3_finish)
    f = _hidden_failing_driver(hide=True).open()
    mm = MM(sanitize=True)
    with pytest.raises(SanitizerReport) as ei:
        mm.mmap(None, 4 * P, PROT_READ, MAP_SHARED, f)
    rep = ei.value
    assert rep.rule == "rmap-lock-held-across-unmap" and rep.errno == errno.EDEADLK
    assert "do_munmap" in rep.step and "i_mmap_rwsem" in rep.what
    assert "lockdep" in rep.bug_class and "mmap(" in str(rep)
    # The rule text tells the history right: a mainline bug, fixed for stable.
    assert "ac0a3fc9c07d" in str(rep) and "Cc: stable" in str(rep) and "v3" not in str(rep)
    assert lockdep.held == []


def test_mainline_use_after_free_of_vm_file(monkeypatch) -> None:
    """Without the lock held the unmap goes through; reading vma->vm_file after it is UAF."""
    def finish_uaf(mm, vma, action, err, is_compat):
        if not err and action.success_hook is not None:
            err = call_hook("mmap_action.success_hook", action.success_hook, vma)
        if not err:
            return 0
        with mm.trace.enter("do_munmap"):
            do_vmi_munmap(mm, vma.vm_start, vma.vm_end)
        _ = vma.vm_file.f_mapping  # the old unlock path: vma was just freed
        return err

    monkeypatch.setattr(ma, "mmap_action_finish", finish_uaf)
    f = _hidden_failing_driver(hide=False).open()
    mm = MM(sanitize=True)
    with pytest.raises(SanitizerReport) as ei:
        mm.mmap(None, 4 * P, PROT_READ, MAP_SHARED, f)
    assert ei.value.rule == "use-after-free" and "KASAN" in ei.value.bug_class
    assert "vm_file" in ei.value.what and "mmap_action_complete" in ei.value.step


def afs_like_driver() -> Dev:
    """The afs conversion before the v4 fix: a reference taken in mmap_prepare."""
    dev = Dev()

    def prepare(desc):
        dev.refs += 1  # afs_add_open_mmap(vnode) at prepare time
        desc.vm_ops = dev.vm_ops
        return 0

    def close(vma):
        dev.refs -= 1

    dev.fops = FileOperations(name="afs_fops", mmap_prepare=prepare)
    dev.vm_ops = VmOperationsStruct(name="afs_vm_ops", close=close)
    return dev


def test_afs_refcount_bug_on_merge_and_on_failure() -> None:
    dev = afs_like_driver()
    f = dev.open()
    san = Sanitizer(mode="collect")
    mm = san.attach(MM())
    mm.mmap(B, 4 * P, RW, MAP_SHARED | MAP_FIXED, f)
    assert [r.rule for r in san.reports] == ["prepare-not-stateless"]
    assert "had it merged" in str(san.reports[0])
    mm.mmap(B + 4 * P, 4 * P, RW, MAP_SHARED | MAP_FIXED, f, 4 * P)  # merges into the first
    assert len(mm.vmas()) == 1 and dev.refs == 2  # two refs, one VMA: one will leak
    merged = san.reports[-1]
    assert merged.rule == "prepare-not-stateless" and "MERGED" in str(merged)
    assert "dev.refs 1 -> 2" in merged.what and "refcount" in merged.bug_class
    with mm.injecting("vm_area_alloc"), pytest.raises(OSError):
        mm.mmap(B + 16 * P, 4 * P, RW, MAP_SHARED | MAP_FIXED, f)
    assert "failed (ENOMEM)" in str(san.reports[-1])
    mm.exit()
    assert dev.refs == 2  # the leak the sanitizer predicted


def test_afs_bug_raises_in_raise_mode() -> None:
    f = afs_like_driver().open()
    mm = MM(sanitize=True)
    with pytest.raises(SanitizerReport) as ei:
        mm.mmap(B, 4 * P, RW, MAP_SHARED | MAP_FIXED, f)
    assert ei.value.rule == "prepare-not-stateless" and "afs_fops->mmap_prepare" in ei.value.what


def test_fixed_afs_is_clean() -> None:
    """The v4 fix: the reference moves to mapped; merges take none."""
    dev = afs_like_driver()

    def mapped(start, end, pgoff, file, priv):
        dev.refs += 1
        return 0

    def prepare(desc):
        desc.vm_ops = dev.vm_ops
        return 0

    dev.fops = FileOperations(name="afs_fops", mmap_prepare=prepare)
    dev.vm_ops = VmOperationsStruct(name="afs_vm_ops", mapped=mapped,
                                    open=lambda vma: None, close=dev.vm_ops.close)
    f = dev.open()
    san = Sanitizer(mode="collect")
    mm = san.attach(MM())
    mm.mmap(B, 4 * P, RW, MAP_SHARED | MAP_FIXED, f)
    mm.mmap(B + 4 * P, 4 * P, RW, MAP_SHARED | MAP_FIXED, f, 4 * P)
    mm.exit()
    assert san.reports == [] and dev.refs == 0


def test_desc_kept_and_used_later() -> None:
    kept = {}

    def prepare(desc):
        kept["desc"] = desc
        desc.vm_ops = VmOperationsStruct(name="keep_vm_ops", fault=fault)
        return 0

    def fault(vmf):
        return 0 if kept["desc"].pgoff >= 0 else 2

    f = Dev(prepare).open()
    mm = MM(sanitize=True)
    a = mm.mmap(None, P, PROT_READ, MAP_SHARED, f)
    with pytest.raises(SanitizerReport) as ei:
        mm.fault(a)
    assert ei.value.rule == "desc-use-after-return" and "stack-use-after-return" in str(ei.value)
    assert "keep_vm_ops->fault" in ei.value.what


def test_prepare_mutating_mm() -> None:
    def prepare(desc):
        desc.mm.max_map_count = 10
        return 0

    mm = MM(sanitize=True)
    with pytest.raises(SanitizerReport) as ei:
        mm.mmap(None, P, PROT_READ, MAP_SHARED, Dev(prepare).open())
    assert ei.value.rule == "prepare-mutated-mm" and "mm.max_map_count" in ei.value.what


def test_mapped_touching_the_vma() -> None:
    mm = MM(sanitize=True)

    def mapped(start, end, pgoff, file, priv):
        mm.vma_lookup(start).vm_pgoff = 99  # it was given no VMA; it went and found one
        return 0

    dev = Dev(mapped=mapped)
    with pytest.raises(SanitizerReport) as ei:
        mm.mmap(None, P, PROT_READ, MAP_SHARED, dev.open())
    assert ei.value.rule == "mapped-touched-vma" and "VMA #" in ei.value.what


def test_legacy_hook_moving_vm_end() -> None:
    def mmap(file, vma):
        vma.vm_end -= P
        return 0

    f = File(Inode("/dev/legacy", 8 * P), FileOperations(name="bad_fops", mmap=mmap),
             FMode.READ | FMode.WRITE)
    mm = MM(sanitize=True)
    with pytest.raises(SanitizerReport) as ei:
        mm.mmap(None, 2 * P, PROT_READ, MAP_SHARED, f)
    assert ei.value.rule == "legacy-moved-vma" and "vm_end" in ei.value.what


def test_close_reentering_munmap() -> None:
    def close(vma):
        vma.vm_mm.munmap(B + 8 * P, P)

    mm = MM(sanitize=True)
    mm.mmap(B, P, PROT_READ, MAP_SHARED | MAP_FIXED, Dev(close=close).open())
    with pytest.raises(SanitizerReport) as ei:
        mm.munmap(B, P)
    assert ei.value.rule == "hook-reentry" and "dev_vm_ops->close" in ei.value.what
    assert lockdep.held == []


def test_close_without_open_imbalance() -> None:
    dev = Dev(close=lambda vma: None)
    san = Sanitizer(mode="collect")
    mm = san.attach(MM())
    mm.mmap(B, 4 * P, PROT_READ, MAP_SHARED | MAP_FIXED, dev.open())
    mm.mprotect(B + P, P, PROT_READ | PROT_WRITE)  # splits: copies are never opened
    mm.munmap(B, P)
    assert [r.rule for r in san.reports] == ["vm_ops-imbalance"]
    assert "close but no open" in str(san.reports[0])


def test_lock_held_on_return(monkeypatch) -> None:
    monkeypatch.setattr(ma, "maybe_rmap_unlock_action", lambda vma, action: None)

    def prepare(desc):
        desc.action.hide_from_rmap_until_complete = True
        mmap_action_remap_full(desc, 0x1234)
        return 0

    mm = MM(sanitize=True)
    with pytest.raises(SanitizerReport) as ei:
        mm.mmap(None, P, PROT_READ, MAP_SHARED, Dev(prepare).open())
    assert ei.value.rule == "lock-held-on-return" and "i_mmap_rwsem" in ei.value.what
    assert lockdep.held == []


def test_switches() -> None:
    assert MM().sanitizer is None
    assert MM(sanitize=True).sanitizer is not None
    with sanitizing():
        mm = MM()
        assert mm.sanitizer is not None and mm.fork().sanitizer is mm.sanitizer
    assert MM().sanitizer is None


def test_forwarding_open_without_close_is_not_an_imbalance():
    """kernfs_vm_ops has open (it forwards) and deliberately no close: nothing to balance."""
    from mmaplab.drivers import uio_hv_generic
    from mmaplab.drivers.base import WINDOW

    mm = MM(sanitize=True)
    dev = uio_hv_generic.HvUioDevice("prepare")
    addr = mm.mmap(WINDOW, 4 * PAGE_SIZE, 3, MAP_SHARED | MAP_FIXED, dev.open())
    mm.munmap(addr + PAGE_SIZE, PAGE_SIZE)
    mm.exit()
    assert mm.vmas() == []


def test_sanitizer_chains_an_earlier_hook_watcher():
    from mmaplab.kernel.debug import events

    seen = []
    with events.watching_hooks(lambda hook, fn: seen.append(hook) or fn):
        t = RegularFile("/data/chain", 4 * PAGE_SIZE)
        mm = MM(sanitize=True)
        mm.mmap(None, PAGE_SIZE, 1, MAP_SHARED, t, 0)
    assert any(h.endswith("->mmap_prepare") for h in seen)
