"""drivers/uio/uio.c: memory types, and plain uio under the v4 check."""

from __future__ import annotations

import pytest

from mmaplab import (
    V4,
)
from mmaplab.drivers import uio
from mmaplab.kernel.pgtable import Pgprot
from tests.drivers.helpers import VARIANTS, P, mmap, new_mm


@pytest.mark.parametrize("variant", VARIANTS)
def test_uio_memtypes(variant: str) -> None:
    d = uio.UioPdrv(variant)
    mm = new_mm()
    f = d.open()
    a = mmap(mm, f, 1, 0)  # PHYS: uncached remap
    pte = mm.pagetable.lookup(a)
    assert pte is not None and pte.pfn == uio.REGS_PHYS >> 12 and Pgprot.PCD in pte.prot
    mm.munmap(a, P)
    a = mmap(mm, f, 2, 1)  # LOGICAL: faulted kernel pages
    assert mm.pagetable.lookup(a) is None
    assert mm.fault(a + P).pfn == d.logical_pages[1].pfn
    assert mm.vma_lookup(a).vm_private_data is d.idev
    mm.munmap(a, 2 * P)
    a = mmap(mm, f, 2, 2)  # VIRTUAL
    assert mm.fault(a).pfn == d.virtual_pages[0].pfn
    mm.munmap(a, 2 * P)
    a = mmap(mm, f, 2, 3)  # DMA_COHERENT: remapped, vm_pgoff restored to the index
    assert mm.pagetable.lookup(a + P).pfn == d.dma_pages[1].pfn
    assert mm.vma_lookup(a).vm_pgoff == 3
    assert d.core.warnings == ["uio-dma.0: use of DMA coherent memory (highly discouraged)"]


def test_plain_uio_is_unaffected_by_v4_check() -> None:
    mm = new_mm(config=V4)
    a = mmap(mm, uio.UioPdrv("prepare"), 2, 1)
    assert mm.vma_lookup(a) is not None and mm.warnings == []
