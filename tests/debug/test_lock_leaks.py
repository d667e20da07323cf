"""A lock a hook leaves held is reported when the system call returns, on every path.

lockdep_sys_exit() (kernel/locking/lockdep.c) checks on each return to user space, so a
driver lock leaked on an error path is reported like one leaked on success.  The model
records each in ``mm.lock_leaks`` (a :class:`LockLeak`), then releases the lock so the next
call does not deadlock; with the sanitizer the report is raised, chained to the failure.
"""

from __future__ import annotations

import errno

import pytest

from mmaplab import (
    MAP_SHARED,
    MM,
    PAGE_SIZE,
    PROT_READ,
    File,
    FileOperations,
    FMode,
    Inode,
    VmOperationsStruct,
)
from mmaplab.kernel.debug.sanitizer import SanitizerReport
from mmaplab.kernel.locks import LockLeak, RwSemaphore, lockdep

P = PAGE_SIZE


class LeakyDev:
    """A driver whose hooks take ``self.mutex``; ``leak_on`` names the path that forgets it."""

    def __init__(self, leak_on: str, fail: int = 0) -> None:
        self.mutex = RwSemaphore("&dev->mutex", "leaky_dev.mutex")
        self.leak_on, self.fail = leak_on, fail
        self.vm_ops = VmOperationsStruct(name="leaky_vm_ops", close=self.close,
                                         fault=self.fault)

    def prepare(self, desc) -> int:
        self.mutex.down_write("leaky_mmap_prepare")
        if self.fail:
            if self.leak_on == "prepare-error":
                return -self.fail  # the bug: this return skips the unlock
            self.mutex.up_write()
            return -self.fail
        desc.vm_ops = self.vm_ops
        if self.leak_on != "prepare-success":
            self.mutex.up_write()
        return 0

    def close(self, vma) -> None:
        self.mutex.down_write("leaky_vm_close")
        if self.leak_on != "close":
            self.mutex.up_write()

    def fault(self, vmf) -> int:
        self.mutex.down_read("leaky_vm_fault")
        return 2  # VM_FAULT_SIGBUS, leaving the lock held

    def open(self) -> File:
        fops = FileOperations(name="leaky_fops", mmap_prepare=self.prepare)
        return File(Inode("/dev/leaky", 16 * P), fops, FMode.READ | FMode.WRITE)


def test_leak_on_error_path_is_recorded_and_the_errno_kept() -> None:
    mm, dev = MM(), LeakyDev("prepare-error", fail=errno.ENODEV)
    with pytest.raises(OSError) as ei:
        mm.mmap(None, P, PROT_READ, MAP_SHARED, dev.open())
    assert ei.value.errno == errno.ENODEV  # the report does not replace the call's error
    (leak,) = mm.lock_leaks
    assert isinstance(leak, LockLeak)
    assert (leak.syscall, leak.lock, leak.lock_class, leak.write, leak.taken_in) == (
        "vm_mmap_pgoff", "&dev->mutex", "leaky_dev.mutex", True, "leaky_mmap_prepare")
    assert leak.failed and leak.error == errno.ENODEV
    assert "failing with -ENODEV" in str(leak) and "&dev->mutex" in str(leak)
    # reported, then released: the next call does not deadlock on the leaked mutex
    assert lockdep.held == [] and not dev.mutex.locked
    dev.leak_on = "nowhere"
    with pytest.raises(OSError):
        mm.mmap(None, P, PROT_READ, MAP_SHARED, dev.open())
    assert len(mm.lock_leaks) == 1


def test_leak_on_success_is_recorded_too() -> None:
    mm, dev = MM(), LeakyDev("prepare-success")
    addr = mm.mmap(None, P, PROT_READ, MAP_SHARED, dev.open())
    (leak,) = mm.lock_leaks
    assert not leak.failed and leak.error == 0 and "succeeding" in str(leak)
    assert mm.vma_lookup(addr) is not None and lockdep.held == []


def test_clean_calls_report_nothing() -> None:
    mm, dev = MM(), LeakyDev("nowhere")
    addr = mm.mmap(None, 2 * P, PROT_READ, MAP_SHARED, dev.open())
    mm.munmap(addr, 2 * P)
    dev.fail = errno.EINVAL
    with pytest.raises(OSError):
        mm.mmap(None, P, PROT_READ, MAP_SHARED, dev.open())
    assert mm.lock_leaks == [] and lockdep.held == []


def test_leak_in_close_during_munmap_and_in_a_fault_handler() -> None:
    mm, dev = MM(trace=True), LeakyDev("close")
    addr = mm.mmap(None, P, PROT_READ, MAP_SHARED, dev.open())
    mm.munmap(addr, P)
    assert [(lk.syscall, lk.taken_in) for lk in mm.lock_leaks] == [
        ("__vm_munmap", "leaky_vm_close")]
    assert any(s.name == "lockdep_sys_exit" for s in mm.trace.steps)
    dev.leak_on = "nowhere"
    addr = mm.mmap(None, P, PROT_READ, MAP_SHARED, dev.open())
    with pytest.raises(OSError) as ei:
        mm.fault(addr)  # SIGBUS, and the handler left its read lock held
    assert ei.value.errno == errno.EFAULT
    last = mm.lock_leaks[-1]
    assert (last.syscall, last.write, last.failed) == ("lock_mm_and_find_vma", False, True)
    assert lockdep.held == []


def test_fork_leaves_no_lock_of_the_child_held() -> None:
    mm, dev = MM(), LeakyDev("nowhere")
    mm.mmap(None, P, PROT_READ, MAP_SHARED, dev.open())
    child = mm.fork()
    assert mm.lock_leaks == [] and child.lock_leaks == [] and not child.mmap_lock.locked


def test_sanitizer_reports_a_leak_on_the_error_path() -> None:
    mm, dev = MM(sanitize=True), LeakyDev("prepare-error", fail=errno.EINVAL)
    with pytest.raises(SanitizerReport) as ei:
        mm.mmap(None, P, PROT_READ, MAP_SHARED, dev.open())
    rep = ei.value
    assert rep.rule == "lock-held-on-return" and "&dev->mutex" in rep.what
    assert "failing with -EINVAL" in rep.what
    assert isinstance(rep.__cause__, OSError) and rep.__cause__.errno == errno.EINVAL
    assert len(mm.lock_leaks) == 1 and lockdep.held == []
