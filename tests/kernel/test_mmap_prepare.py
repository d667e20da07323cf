"""The mmap_prepare path: hook order, merge/no-merge, mapped, actions, error paths.

Pins the behaviour of ``__mmap_region()`` with the v4 series (spec scenarios
P1–P7, E3–E5) on small drivers built from the model's types.
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
    V4,
    File,
    FileOperations,
    FMode,
    HookViolation,
    Inode,
    VMFlag,
    VmOperationsStruct,
    vma_desc_set_flags_mask,
)
from mmaplab.kernel.mmap_action import mmap_action_remap_full, mmap_action_simple_ioremap
from mmaplab.kernel.pgtable import Pgprot
from mmaplab.kernel.vma_flags import legacy_to_vma_flags

P = PAGE_SIZE
BASE = 0x7F0000000000


class Counting:
    """A driver whose hooks log their calls and count references like a real one."""

    def __init__(self, *, flags: VMFlag = VMFlag.NONE, action=None, mapped_err: int = 0,
                 prepare_err: int = 0, with_close: bool = False) -> None:
        self.calls: list[str] = []
        self.refs = 0
        self.flags = flags
        self.action = action
        self.mapped_err = mapped_err
        self.prepare_err = prepare_err

        def open_(vma):
            self.calls.append("open")
            self.refs += 1

        def close(vma):
            self.calls.append("close")
            self.refs -= 1

        def mapped(start, end, pgoff, file, priv):
            self.calls.append(f"mapped {(end - start) // P}p pgoff={pgoff}")
            if self.mapped_err:
                return self.mapped_err
            self.refs += 1
            priv.value = "per-mapping state"
            return 0

        self.vm_ops = VmOperationsStruct(name="counting_vm_ops", open=open_,
                                         close=close if with_close else None, mapped=mapped)

        def prepare(desc):
            self.calls.append("mmap_prepare")
            if self.prepare_err:
                return self.prepare_err
            vma_desc_set_flags_mask(desc, legacy_to_vma_flags(self.flags))
            desc.vm_ops = self.vm_ops
            if self.action is not None:
                self.action(desc)
            return 0

        self.fops = FileOperations(name="counting_fops", mmap_prepare=prepare)
        self.file = File(Inode("/dev/counting", 64 * P), self.fops, FMode.READ | FMode.WRITE)


def test_new_mapping_calls_prepare_then_mapped_once():
    """P2: a new mapping gets exactly one mapped call; private data it returns is stored."""
    drv = Counting()
    mm = MM()
    addr = mm.mmap(BASE, 4 * P, PROT_READ, MAP_SHARED | MAP_FIXED, drv.file, 0)
    assert drv.calls == ["mmap_prepare", "mapped 4p pgoff=0"]
    (vma,) = mm.vmas()
    assert (vma.vm_start, vma.vm_end) == (addr, addr + 4 * P)
    assert vma.vm_private_data == "per-mapping state"
    assert vma.vm_ops is drv.vm_ops


def test_merged_mapping_gets_prepare_but_not_mapped():
    """P1: prepare runs before the merge attempt; a merged range never sees mapped."""
    drv = Counting()
    mm = MM()
    mm.mmap(BASE, 4 * P, PROT_READ, MAP_SHARED | MAP_FIXED, drv.file, 0)
    drv.calls.clear()
    mm.mmap(BASE + 4 * P, 4 * P, PROT_READ, MAP_SHARED | MAP_FIXED, drv.file, 4 * P)
    assert drv.calls == ["mmap_prepare"]
    assert [(v.vm_start, v.vm_end) for v in mm.vmas()] == [(BASE, BASE + 8 * P)]
    assert drv.refs == 1  # only the first mapping counted: merges must not take references


def test_prepare_that_sets_special_flag_prevents_merge():
    """Flags set in mmap_prepare are seen by the merge decision (VM_SPECIAL never merges)."""
    drv = Counting(flags=VMFlag.DONTEXPAND)
    mm = MM()
    mm.mmap(BASE, 2 * P, PROT_READ, MAP_SHARED | MAP_FIXED, drv.file, 0)
    mm.mmap(BASE + 2 * P, 2 * P, PROT_READ, MAP_SHARED | MAP_FIXED, drv.file, 2 * P)
    assert len(mm.vmas()) == 2
    assert drv.calls.count("mmap_prepare") == 2
    assert sum(c.startswith("mapped") for c in drv.calls) == 2


def test_prepare_that_changes_pgoff_breaks_contiguity():
    drv = Counting()
    mm = MM()
    mm.mmap(BASE, 2 * P, PROT_READ, MAP_SHARED | MAP_FIXED, drv.file, 0)

    def shift(desc):
        desc.pgoff += 7

    drv.action = shift
    mm.mmap(BASE + 2 * P, 2 * P, PROT_READ, MAP_SHARED | MAP_FIXED, drv.file, 2 * P)
    assert [v.vm_pgoff for v in mm.vmas()] == [0, 9]


def test_mapped_failure_unmaps_and_returns_error():
    """P3: mapped returning -ENOMEM unmaps the new VMA and fails the mmap."""
    drv = Counting(mapped_err=-errno.ENOMEM)
    mm = MM()
    with pytest.raises(OSError) as ei:
        mm.mmap(BASE, 4 * P, PROT_READ, MAP_SHARED | MAP_FIXED, drv.file, 0)
    assert ei.value.errno == errno.ENOMEM
    assert mm.vmas() == []
    assert drv.file.f_count == 1  # the mapping's file reference was dropped


def test_prepare_failure_over_existing_vmas_leaves_hole():
    """E3: old VMAs were closed before prepare ran, so a failing prepare leaves a hole."""
    old = Counting(with_close=True)
    mm = MM()
    old_fops = FileOperations(name="old_fops",
                              mmap=lambda f, vma: setattr(vma, "vm_ops", old.vm_ops))
    old_file = File(Inode("/dev/old", 64 * P), old_fops, FMode.READ | FMode.WRITE)
    mm.mmap(BASE, 10 * P, PROT_READ, MAP_SHARED | MAP_FIXED, old_file, 0)
    bad = Counting(prepare_err=-errno.ENODEV)
    with pytest.raises(OSError) as ei:
        mm.mmap(BASE + 3 * P, 3 * P, PROT_READ, MAP_SHARED | MAP_FIXED, bad.file, 0)
    assert ei.value.errno == errno.ENODEV
    assert [(v.vm_start - BASE) // P for v in mm.vmas()] == [0, 6]
    assert [(v.vm_end - BASE) // P for v in mm.vmas()] == [3, 10]
    assert [v.vm_pgoff for v in mm.vmas()] == [0, 6]
    assert old.calls == ["open", "open", "close"]  # two split pieces opened, middle closed once


def test_action_failure_runs_error_hook_and_skips_success():
    """P4: completion fails; the error hook rewrites EINVAL to EAGAIN; no success hook."""
    seen = []

    def action(desc):
        mmap_action_remap_full(desc, 0x1000)
        desc.action.success_hook = lambda vma: seen.append("success") or 0
        desc.action.error_hook = lambda err: seen.append(f"error {err}") or -errno.EAGAIN

    drv = Counting(action=action)
    mm = MM()
    with mm.injecting("mmap_action_complete", err=errno.EINVAL), pytest.raises(OSError) as ei:
        mm.mmap(BASE, 2 * P, PROT_READ, MAP_SHARED | MAP_FIXED, drv.file, 0)
    assert ei.value.errno == errno.EAGAIN
    assert seen == [f"error {-errno.EINVAL}"]
    assert mm.vmas() == [] and len(mm.pagetable) == 0
    assert not any(c.startswith("mapped") for c in drv.calls)


def test_mapped_runs_before_success_hook_and_after_ptes():
    order = []

    def action(desc):
        mmap_action_remap_full(desc, 0x2000)
        desc.action.success_hook = lambda vma: order.append(
            f"success ptes={len(vma.vm_mm.pagetable)}") or 0

    drv = Counting(action=action)
    mm = MM()
    mm.mmap(BASE, 2 * P, PROT_READ, MAP_SHARED | MAP_FIXED, drv.file, 0)
    order.insert(0, drv.calls[-1])
    assert order == ["mapped 2p pgoff=0", "success ptes=2"]
    vma = mm.vmas()[0]
    assert VMFlag.PFNMAP in vma.vm_flags and VMFlag.IO in vma.vm_flags
    assert [p.pfn for p in mm.pagetable.entries(BASE, BASE + 2 * P).values()] == [0x2000, 0x2001]


def test_trace_names_the_kernel_order():
    drv = Counting(action=lambda d: mmap_action_remap_full(d, 0x3000))
    mm = MM()
    with mm.trace.recording() as t:
        mm.mmap(BASE, P, PROT_READ, MAP_SHARED | MAP_FIXED, drv.file, 0)
    names = [n for n in t.names() if n in {
        "__mmap_setup", "counting_fops->mmap_prepare", "remap_pfn_range_prepare",
        "__mmap_new_vma", "vma_link", "__mmap_complete", "mmap_action_complete",
        "counting_vm_ops->mapped"}]
    assert names == ["counting_fops->mmap_prepare", "remap_pfn_range_prepare", "__mmap_new_vma",
                     "vma_link", "__mmap_complete", "mmap_action_complete",
                     "counting_vm_ops->mapped"]


def test_desc_immutable_fields_are_enforced():
    def prepare(desc):
        desc.start = desc.start + P
        return 0

    f = File(Inode("/dev/bad", P), FileOperations(name="bad_fops", mmap_prepare=prepare))
    mm = MM()
    with pytest.raises(HookViolation, match="desc.start, which is immutable"):
        mm.mmap(BASE, P, PROT_READ, MAP_SHARED | MAP_FIXED, f, 0)
    assert mm.vmas() == []


def test_both_hooks_or_neither_is_enodev():
    both = FileOperations(name="both", mmap=lambda f, v: 0, mmap_prepare=lambda d: 0)
    neither = FileOperations(name="neither")
    mm = MM()
    for fops in (both, neither):
        with pytest.raises(OSError) as ei:
            mm.mmap(BASE, P, PROT_READ, MAP_SHARED | MAP_FIXED, File(Inode("/x", P), fops), 0)
        assert ei.value.errno == errno.ENODEV
    assert mm.warnings == ["both has both mmap and mmap_prepare"]


def test_simple_ioremap_checks_at_prepare_time():
    def action(desc):
        mmap_action_simple_ioremap(desc, 0xFED00000, P)

    drv = Counting(action=action)
    mm = MM()
    with pytest.raises(OSError) as ei:
        mm.mmap(BASE, 2 * P, PROT_READ, MAP_SHARED | MAP_FIXED, drv.file, 0)
    assert ei.value.errno == errno.EINVAL
    assert drv.calls == ["mmap_prepare"] and mm.vmas() == []
    mm.mmap(BASE, P, PROT_READ, MAP_SHARED | MAP_FIXED, drv.file, 0)
    (pte,) = mm.pagetable.entries().values()
    assert pte.pfn == 0xFED00 and pte.special


def test_hide_from_rmap_holds_lock_until_complete():
    held = []

    def action(desc):
        mmap_action_remap_full(desc, 0x4000)
        desc.action.hide_from_rmap_until_complete = True
        desc.action.success_hook = lambda vma: held.append(
            vma.vm_file.f_mapping.i_mmap_rwsem.writer) or 0

    drv = Counting(action=action)
    mm = MM()
    mm.mmap(BASE, P, PROT_READ, MAP_SHARED | MAP_FIXED, drv.file, 0)
    assert held == [True]
    assert not drv.file.f_mapping.i_mmap_rwsem.locked


def test_hidden_vma_failure_drops_rmap_lock_before_unmap():
    """v4 04/21 + 07/21: with the lock held, a failing success hook must not deadlock."""
    def action(desc):
        mmap_action_remap_full(desc, 0x4000)
        desc.action.hide_from_rmap_until_complete = True
        desc.action.success_hook = lambda vma: -errno.EIO

    drv = Counting(action=action)
    mm = MM()
    with pytest.raises(OSError) as ei:
        mm.mmap(BASE, P, PROT_READ, MAP_SHARED | MAP_FIXED, drv.file, 0)
    assert ei.value.errno == errno.EIO and mm.vmas() == []


def test_legacy_hook_setting_mapped_is_einval_under_v4_only():
    """P6: under v4 as posted, ->mmap leaving vm_ops->mapped set fails with EINVAL."""
    ops = VmOperationsStruct(name="m_ops", mapped=lambda *a: 0)
    fops = FileOperations(name="legacy_fops", mmap=lambda f, vma: setattr(vma, "vm_ops", ops))
    v4 = MM(config=V4)
    with pytest.raises(OSError) as ei:
        v4.mmap(BASE, P, PROT_READ, MAP_SHARED | MAP_FIXED, File(Inode("/l", P), fops), 0)
    assert ei.value.errno == errno.EINVAL and v4.vmas() == [] and v4.warnings
    fixed = MM()
    fixed.mmap(BASE, P, PROT_READ, MAP_SHARED | MAP_FIXED, File(Inode("/l", P), fops), 0)
    assert len(fixed.vmas()) == 1


def test_legacy_hook_failure_tears_down_partial_mapping():
    """E4: a legacy ->mmap that remapped half then failed: PTEs zapped, no close called."""
    from mmaplab.kernel.memory import remap_pfn_range

    closes = []
    ops = VmOperationsStruct(name="half_ops", close=lambda vma: closes.append(vma))

    def legacy(file, vma):
        vma.vm_ops = ops
        remap_pfn_range(vma, vma.vm_start, 0x5000, P, vma.vm_page_prot)
        return -errno.ENOMEM

    f = File(Inode("/dev/half", 4 * P), FileOperations(name="half_fops", mmap=legacy))
    mm = MM()
    with pytest.raises(OSError) as ei:
        mm.mmap(BASE, 2 * P, PROT_READ, MAP_SHARED | MAP_FIXED, f, 0)
    assert ei.value.errno == errno.ENOMEM
    assert mm.vmas() == [] and len(mm.pagetable) == 0 and closes == [] and f.f_count == 1


def test_compat_layer_runs_prepare_and_mapped_inside_legacy_mmap():
    """P7: a stacked legacy ->mmap calling vfs_mmap on an mmap_prepare file."""
    from mmaplab.kernel.compat import vfs_mmap

    inner = Counting(action=lambda d: mmap_action_remap_full(d, 0x6000))
    outer = File(Inode("/dev/outer", 4 * P),
                 FileOperations(name="outer_fops", mmap=lambda f, vma: vfs_mmap(inner.file, vma)),
                 FMode.READ | FMode.WRITE)
    mm = MM()
    mm.mmap(BASE, 2 * P, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, outer, 0)
    assert inner.calls == ["mmap_prepare", "mapped 2p pgoff=0"]
    (vma,) = mm.vmas()
    assert vma.vm_ops is inner.vm_ops and VMFlag.PFNMAP in vma.vm_flags
    assert Pgprot.RW in next(iter(mm.pagetable.entries().values())).prot


def test_compat_failure_is_returned_without_unmap_by_default():
    from mmaplab.kernel.compat import vfs_mmap

    inner = Counting(mapped_err=-errno.EBUSY)
    outer = File(Inode("/dev/outer", 4 * P),
                 FileOperations(name="outer_fops", mmap=lambda f, vma: vfs_mmap(inner.file, vma)))
    mm = MM()
    with pytest.raises(OSError) as ei:
        mm.mmap(BASE, P, PROT_READ, MAP_SHARED | MAP_FIXED, outer, 0)
    assert ei.value.errno == errno.EBUSY and mm.vmas() == [] and mm.warnings == []
    v4 = MM(config=V4)
    with pytest.raises(OSError):
        v4.mmap(BASE, P, PROT_READ, MAP_SHARED | MAP_FIXED, outer, 0)
    # v4's compat do_munmap acts on the tree: nothing there, nothing reported (D7)
    assert v4.warnings == [] and v4.vmas() == []
