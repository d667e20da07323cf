"""drivers/hwtracing/stm/core.c: mapping STM channel MMIO, before and after the series.

* ``StmDriver("legacy")`` — ``stm_char_mmap()`` (torvalds/linux @01581a218644, the "-" side
  of v4 15/21): EOPNOTSUPP without an ``mmio_addr`` callback; EINVAL for a nonzero
  offset, for a size other than ``nr_chans * sw_mmiosz`` (always, while no policy is
  assigned: ``nr_chans == 0``), and for a zero ``mmio_addr()``; then
  ``pm_runtime_get_sync()``, noncached, VM_IO|VM_DONTEXPAND|VM_DONTDUMP,
  ``stm_mmap_vmops`` and ``vm_iomap_memory()`` — **whose result is ignored**.
* ``StmDriver("prepare")`` — ``stm_char_mmap_prepare()`` of v4 15/21 "stm: replace
  deprecated mmap hook with mmap_prepare": the same checks on the descriptor, no PM get,
  ``mmap_action_simple_ioremap(desc, phys, size)``; the PM reference is taken by the new
  ``stm_mmap_mapped()`` (``vm_ops->mapped``).

``stm_mmap_vmops``: ``open`` = ``pm_runtime_get()`` (split, fork), ``close`` =
``pm_runtime_mark_last_busy()`` + ``pm_runtime_put_autosuspend()``.  The invariant:
the PM usage count contributed by mmaps equals the number of live stm VMAs.

Runtime PM is modelled by its usage count, including ``rpm_drop_usage_count()``'s
safety net: a put at zero warns "Runtime PM usage count underflow!" and leaves 0.
That matters because of a consequence of the conversion the model makes visible: if
the remap fails after the VMA was inserted, ``mapped`` is skipped but the VMA (which
already carries ``stm_mmap_vmops``) is unmapped, so ``close`` drops a reference that
was never taken (drivers-A research §5(d), marked there as an open question).

Other device configurations (``CONFIG_SPECS``): no ``mmio_addr`` callback (EOPNOTSUPP),
no policy assigned (``nr_chans == 0``, EINVAL), ``mmio_addr()`` returning 0 (EINVAL).
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ...kernel.flags import VMFlag
from ...kernel.fs import File, FileOperations, FMode, Inode
from ...kernel.memory import vm_iomap_memory
from ...kernel.mm_types import (
    Ref,
    VmAreaDesc,
    VmAreaStruct,
    VmOperationsStruct,
    vma_desc_set_flags,
    vma_desc_size,
)
from ...kernel.mmap_action import mmap_action_simple_ioremap
from ...kernel.pgtable import pgprot_noncached
from ...kernel.vma_flags import VMA_DONTDUMP_BIT, VMA_DONTEXPAND_BIT, VMA_IO_BIT
from ..base import (
    Driver,
)

#: Base of the software trace channels' MMIO (page aligned), bytes per channel, and the
#: channel count of the assigned policy (``NR_CHANS * SW_MMIOSZ`` = 2 pages).
SW_MMIO_BASE = 0xF900_0000
SW_MMIOSZ = 64
NR_CHANS = 128
CHANNELS_PER_MASTER = 256
STM_MAJOR = 241


@dataclass
class StmOutput:
    """``struct stm_output``: the channel range assigned by the policy."""

    master: int = 0
    channel: int = 0
    nr_chans: int = 0


@dataclass
class StmData:
    """``struct stm_data``: the low-level driver's ``mmio_addr`` callback and ``sw_mmiosz``."""

    mmio_addr: Callable[[StmData, int, int, int], int] | None
    sw_mmiosz: int


@dataclass
class StmFile:
    """``struct stm_file``: what ``stm_char_open()`` leaves in ``file->private_data``."""

    stm: StmDevice
    output: StmOutput


class Device:
    """``struct device``, as far as runtime PM goes (``dev->power``,
    drivers/base/power/runtime.c): the usage count and the status it drives."""

    def __init__(self) -> None:
        #: ``dev->power.usage_count``.
        self.usage_count = 0
        #: "Runtime PM usage count underflow!" warnings.
        self.underflows = 0
        #: ``dev->power.runtime_status``: ``"suspended"`` or ``"active"`` (autosuspend is
        #: modelled as immediate once the count is back at zero).
        self.runtime_status = "suspended"

    def pm_runtime_get_sync(self) -> int:
        """``pm_runtime_get_sync()``: +1 and resume now; 1 if it was already active."""
        was_active = self.runtime_status == "active"
        self.usage_count += 1
        self.runtime_status = "active"
        return int(was_active)

    def pm_runtime_get(self) -> int:
        """``pm_runtime_get()``: +1, resume asynchronously (0: the resume is queued)."""
        self.usage_count += 1
        self.runtime_status = "active"
        return 0

    def pm_runtime_put_autosuspend(self) -> int:
        """``pm_runtime_put_autosuspend()`` → ``rpm_drop_usage_count()``: -1, but a put at
        zero warns and restores the count (-EINVAL, as the kernel returns)."""
        if self.usage_count == 0:
            self.underflows += 1
            return -errno.EINVAL
        self.usage_count -= 1
        if self.usage_count == 0:
            self.runtime_status = "suspended"
        return 0


class StmDevice:
    """``struct stm_device``: ``data`` and ``dev`` (whose runtime PM the mappings hold)."""

    def __init__(self, data: StmData) -> None:
        self.data = data
        self.dev = Device()


def _intel_th_mmio_addr(data: StmData, master: int, channel: int, nr_chans: int) -> int:
    """An ``mmio_addr`` callback like intel_th's: the channels' MMIO window."""
    return SW_MMIO_BASE + (master * CHANNELS_PER_MASTER + channel) * data.sw_mmiosz


def _zero_mmio_addr(data: StmData, master: int, channel: int, nr_chans: int) -> int:
    return 0


class StmDriver(Driver):
    """``/dev/stm0`` with a policy assigning ``nr_chans`` channels from ``master``,
    ``channel`` (default 0, 0).

    ``mmio_addr``: the callback (``None``: the device has no MMIO channels).
    """

    name = "stm"

    def __init__(self, variant: str = "prepare", *, nr_chans: int = NR_CHANS,
                 mmio_addr: Callable[[StmData, int, int, int], int] | None
                 = _intel_th_mmio_addr, sw_mmiosz: int = SW_MMIOSZ, master: int = 0,
                 channel: int = 0) -> None:
        super().__init__(variant)
        self.stm = StmDevice(StmData(mmio_addr, sw_mmiosz))
        self.nr_chans = nr_chans
        #: The first master/channel the policy assigns (``stm_output``).
        self.master, self.channel = master, channel
        self.inode = Inode("/dev/stm0", 0, dev=(STM_MAJOR, 0))
        #: What the hooks install as ``vma->vm_ops`` (a mutant may install none).
        self.vm_ops: VmOperationsStruct | None
        if variant == "legacy":
            self.vm_ops = VmOperationsStruct(name="stm_mmap_vmops", open=self.stm_mmap_open,
                                             close=self.stm_mmap_close)
            self.fops = FileOperations(name="stm_fops", mmap=self.stm_char_mmap)
        else:
            self.vm_ops = VmOperationsStruct(name="stm_mmap_vmops", open=self.stm_mmap_open,
                                             close=self.stm_mmap_close,
                                             mapped=self.stm_mmap_mapped)
            self.fops = FileOperations(name="stm_fops", mmap_prepare=self.stm_char_mmap_prepare)

    def open(self, mode: FMode = FMode.READ | FMode.WRITE) -> File:
        """``stm_char_open()`` + the policy assignment (``STP_POLICY_ID_SET``)."""
        output = StmOutput(self.master, self.channel, self.nr_chans)
        return File(self.inode, self.fops, mode, private_data=StmFile(self.stm, output))

    def observe(self) -> dict[str, Any]:
        dev = self.stm.dev
        return {"pm_usage": dev.usage_count, "pm_underflows": dev.underflows}


    # -- legacy ------------------------------------------------------------------------------
    def stm_char_mmap(self, file: File, vma: VmAreaStruct) -> int:
        """``stm_char_mmap()`` (pre-series)."""
        stm = self.stm
        output = file.private_data.output
        if stm.data.mmio_addr is None:
            return -errno.EOPNOTSUPP
        if vma.vm_pgoff:
            return -errno.EINVAL
        size = vma.vm_end - vma.vm_start
        if output.nr_chans * stm.data.sw_mmiosz != size:
            return -errno.EINVAL
        phys = stm.data.mmio_addr(stm.data, output.master, output.channel, output.nr_chans)
        if not phys:
            return -errno.EINVAL
        stm.dev.pm_runtime_get_sync()
        vma.vm_page_prot = pgprot_noncached(vma.vm_page_prot)
        vma.vm_flags |= VMFlag.IO | VMFlag.DONTEXPAND | VMFlag.DONTDUMP
        vma.vm_ops = self.vm_ops
        vm_iomap_memory(vma, phys, size)  # the return value is ignored
        return 0

    # -- converted (v4 15/21) ------------------------------------------------------------------
    def stm_char_mmap_prepare(self, desc: VmAreaDesc) -> int:
        """``stm_char_mmap_prepare()`` (v4 15/21): checks, no PM get, simple_ioremap."""
        stm = self.stm
        output = desc.file.private_data.output
        if stm.data.mmio_addr is None:
            return -errno.EOPNOTSUPP
        if desc.pgoff:
            return -errno.EINVAL
        size = vma_desc_size(desc)
        if output.nr_chans * stm.data.sw_mmiosz != size:
            return -errno.EINVAL
        phys = stm.data.mmio_addr(stm.data, output.master, output.channel, output.nr_chans)
        if not phys:
            return -errno.EINVAL
        desc.page_prot = pgprot_noncached(desc.page_prot)
        vma_desc_set_flags(desc, VMA_IO_BIT, VMA_DONTEXPAND_BIT, VMA_DONTDUMP_BIT)
        desc.vm_ops = self.vm_ops
        mmap_action_simple_ioremap(desc, phys, size)
        return 0

    def stm_mmap_mapped(self, start: int, end: int, pgoff: int, file: File,
                        vm_private_data: Ref) -> int:
        """``stm_mmap_mapped()`` (v4 15/21): ``pm_runtime_get_sync(&stm->dev)``."""
        self.stm.dev.pm_runtime_get_sync()
        return 0

    # -- stm_mmap_vmops ----------------------------------------------------------------------
    def stm_mmap_open(self, vma: VmAreaStruct) -> None:
        """``stm_mmap_open()``: ``pm_runtime_get()``."""
        self.stm.dev.pm_runtime_get()

    def stm_mmap_close(self, vma: VmAreaStruct) -> None:
        """``stm_mmap_close()``: ``pm_runtime_mark_last_busy()`` + ``put_autosuspend``."""
        self.stm.dev.pm_runtime_put_autosuspend()
