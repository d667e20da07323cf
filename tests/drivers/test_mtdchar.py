"""drivers/mtd/mtdchar.c: ENODEV with an MMU, and the !CONFIG_MMU rule."""

from __future__ import annotations

import errno

import pytest

from mmaplab import PAGE_SIZE, VMFlag
from mmaplab.drivers import mtdchar
from mmaplab.drivers.base import WINDOW
from mmaplab.kernel.flags import MAP_PRIVATE, MAP_SHARED
from mmaplab.kernel.mm_types import VmAreaDesc, VmAreaStruct
from mmaplab.kernel.pgtable import Pgprot
from tests.drivers.helpers import try_mmap


@pytest.mark.parametrize("variant", ["legacy", "prepare"])
def test_mtdchar_mmu_enodev_and_nommu_rule(variant: str) -> None:
    for flags in (MAP_SHARED, MAP_PRIVATE):
        assert try_mmap(mtdchar.MtdcharDriver(variant), 1, flags=flags)[1] == -errno.ENODEV
    drv = mtdchar.MtdcharDriver(variant, mmu=False)
    for flags, want in ((VMFlag.SHARED | VMFlag.MAYSHARE, 0), (VMFlag.MAYSHARE, -errno.EACCES),
                        (VMFlag.NONE, -errno.EACCES)):
        if variant == "legacy":
            vma = VmAreaStruct(None, WINDOW, WINDOW + PAGE_SIZE, 0, flags | VMFlag.READ)
            assert drv.mtdchar_mmap(drv.open(), vma) == want
        else:
            desc = VmAreaDesc(None, drv.open(), WINDOW, WINDOW + PAGE_SIZE, 0, None,
                              flags | VMFlag.READ, Pgprot.NONE)
            assert drv.mtdchar_mmap_prepare(desc) == want
