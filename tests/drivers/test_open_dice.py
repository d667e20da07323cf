"""drivers/misc/open-dice.c: which requests both variants refuse, with which errno."""

from __future__ import annotations

import errno

import pytest

from mmaplab import PAGE_SIZE, VMFlag
from mmaplab.drivers import open_dice
from mmaplab.drivers.base import WINDOW
from mmaplab.kernel.flags import MAP_PRIVATE
from mmaplab.kernel.pgtable import Pgprot
from tests.drivers.helpers import RW, try_mmap


@pytest.mark.parametrize("variant", ["legacy", "prepare"])
def test_open_dice_rejections(variant: str) -> None:
    mk = lambda: open_dice.OpenDiceDriver(variant)  # noqa: E731
    assert try_mmap(mk(), 1, RW)[1] == -errno.EPERM
    assert try_mmap(mk(), 3)[1] == -errno.EINVAL
    assert try_mmap(mk(), 2, offset_pages=1)[1] == -errno.EINVAL
    mm, addr = try_mmap(mk(), 2)
    assert addr == WINDOW
    vma = mm.vma_lookup(WINDOW)
    assert VMFlag.MAYWRITE not in vma.vm_flags
    assert {VMFlag.DONTCOPY, VMFlag.DONTDUMP, VMFlag.IO, VMFlag.PFNMAP} <= set(vma.vm_flags)
    with pytest.raises(OSError) as e:
        mm.mprotect(WINDOW, PAGE_SIZE, RW)
    assert e.value.errno == errno.EACCES
    pte = mm.fault(WINDOW + PAGE_SIZE)
    assert pte.pfn == (open_dice.RMEM_BASE >> 12) + 1 and Pgprot.PWT in pte.prot
    assert mm.fork().vmas() == []  # VM_DONTCOPY
    mm2, addr = try_mmap(mk(), 2, RW, flags=MAP_PRIVATE)  # private may be writable
    assert addr == WINDOW and mm2.vmas()[0].vm_pgoff == open_dice.RMEM_BASE >> 12
