"""drivers/hv/vmbus_drv.c: the ring file's page offsets, closed channels, hidden rings,
and kernfs refusing a callback that sets close."""

from __future__ import annotations

import errno

import pytest

from mmaplab.drivers import hv_vmbus, uio_hv_generic
from mmaplab.kernel.pgtable import Pgprot
from tests.drivers.helpers import VARIANTS, P, errno_of, mmap, new_mm


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("node", ["ring", "subchannel-ring"])
def test_hv_ring_offset_is_a_page_offset(variant: str, node: str) -> None:
    d = uio_hv_generic.HvUioDevice(variant, node=node)
    ch = d.channel if node == "ring" else d.subchannel
    mm = new_mm()
    a = mmap(mm, d, 2, offset_pages=2)
    assert [mm.fault(a + i * P).pfn for i in range(2)] == [p.pfn for p in ch.ringbuffer_pages[2:]]
    vma = mm.vma_lookup(a)
    assert vma.vm_ops.name == "kernfs_vm_ops"
    assert Pgprot.PCD not in mm.pagetable.lookup(a).prot  # ordinary RAM, default prot


@pytest.mark.parametrize("variant", VARIANTS)
def test_hv_closed_channel_is_enodev(variant: str) -> None:
    d = uio_hv_generic.HvUioDevice(variant)
    f = d.open()
    d.close_channel()
    assert errno_of(lambda: mmap(new_mm(), f, 1)) == errno.ENODEV


@pytest.mark.parametrize("variant", VARIANTS)
def test_hv_hidden_ring_cannot_be_opened(variant: str) -> None:
    d = uio_hv_generic.HvUioDevice(variant)
    hv_vmbus.hv_remove_ring_sysfs(d.subchannel)
    assert errno_of(d.open) == errno.ENOENT


@pytest.mark.parametrize("variant", VARIANTS)
def test_kernfs_refuses_a_callback_that_sets_close(variant: str) -> None:
    from mmaplab.kernel.mm_types import VmOperationsStruct

    ops = VmOperationsStruct(name="bad_vm_ops", close=lambda vma: None)

    def legacy_cb(channel: object, vma: object) -> int:
        vma.vm_ops = ops  # type: ignore[attr-defined]
        return 0

    def prepare_cb(channel: object, desc: object) -> int:
        desc.vm_ops = ops  # type: ignore[attr-defined]
        return 0

    d = uio_hv_generic.HvUioDevice(variant, ring_callback=legacy_cb if variant == "legacy"
                                   else prepare_cb)
    assert errno_of(lambda: mmap(new_mm(), d, 1)) == errno.EINVAL
