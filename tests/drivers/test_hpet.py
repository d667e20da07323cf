"""drivers/char/hpet.c: which requests both variants refuse, with which errno."""

from __future__ import annotations

import errno

import pytest

from mmaplab.drivers import hpet
from mmaplab.drivers.base import WINDOW
from mmaplab.kernel.fs import FMode
from mmaplab.kernel.pgtable import Pgprot
from tests.drivers.helpers import try_mmap


@pytest.mark.parametrize("variant", ["legacy", "prepare"])
def test_hpet_rejections(variant: str) -> None:
    ro = FMode.READ
    mm, addr = try_mmap(hpet.HpetDriver(variant), 1, mode=ro)
    assert addr == WINDOW
    pte = mm.fault(WINDOW)
    assert pte.pfn == hpet.HPET_PHYS >> 12 and Pgprot.PCD in pte.prot
    assert try_mmap(hpet.HpetDriver(variant), 2, mode=ro)[1] == -errno.EINVAL
    assert try_mmap(hpet.HpetDriver(variant), 1, offset_pages=1, mode=ro)[1] == -errno.EINVAL
    assert try_mmap(hpet.HpetDriver(variant, mmap_enabled=False), 1, mode=ro)[1] == -errno.EACCES
    assert try_mmap(hpet.HpetDriver(variant, phys=hpet.HPET_PHYS + 0x400), 1,
                 mode=ro)[1] == -errno.ENOSYS
    assert try_mmap(hpet.HpetDriver(variant, config_hpet_mmap=False), 1,
                 mode=ro)[1] == -errno.ENOSYS
    with pytest.raises(OSError) as e:
        hpet.HpetDriver(variant).open(FMode.READ | FMode.WRITE)
    assert e.value.errno == errno.EINVAL
