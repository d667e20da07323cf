"""drivers/uio/uio_hv_generic.c: the node's iova and logical maps."""

from __future__ import annotations

import pytest

from mmaplab.drivers import uio_hv_generic
from mmaplab.kernel.pgtable import Pgprot
from tests.drivers.helpers import VARIANTS, P, mmap, new_mm


@pytest.mark.parametrize("variant", VARIANTS)
def test_hv_uio_node_iova_and_logical(variant: str) -> None:
    d = uio_hv_generic.HvUioDevice(variant, node="uio")
    mm = new_mm()
    f = d.open()
    a = mmap(mm, f, 4, uio_hv_generic.TXRX_RING_MAP)
    assert mm.pagetable.lookup(a + 3 * P).pfn == d.channel.ringbuffer_pages[3].pfn
    assert Pgprot.PCD not in mm.pagetable.lookup(a).prot  # IOVA: not uncached
    b = mmap(mm, f, 1, uio_hv_generic.MON_PAGE_MAP, page=8)
    assert mm.fault(b).pfn == d.mon_pages[0].pfn
