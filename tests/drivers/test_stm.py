"""drivers/hwtracing/stm/core.c: rejections and the runtime-PM reference count."""

from __future__ import annotations

import errno

import pytest

from mmaplab import PAGE_SIZE
from mmaplab.drivers import stm
from mmaplab.drivers.base import WINDOW
from tests.drivers.helpers import RW, try_mmap


@pytest.mark.parametrize("variant", ["legacy", "prepare"])
def test_stm_rejections_and_pm_count(variant: str) -> None:
    pages = stm.PAGES
    assert try_mmap(stm.StmDriver(variant), pages, RW, offset_pages=1)[1] == -errno.EINVAL
    assert try_mmap(stm.StmDriver(variant), pages - 1, RW)[1] == -errno.EINVAL
    assert try_mmap(stm.StmDriver(variant, mmio_addr=None), pages, RW)[1] == -errno.EOPNOTSUPP
    assert try_mmap(stm.StmDriver(variant, nr_chans=0), pages, RW)[1] == -errno.EINVAL
    drv = stm.StmDriver(variant)
    mm, addr = try_mmap(drv, pages, RW)
    assert addr == WINDOW and drv.stm.dev.usage_count == 1
    assert mm.fault(WINDOW).pfn == stm.SW_MMIO_BASE >> 12
    mm.munmap(WINDOW + PAGE_SIZE, PAGE_SIZE)  # split: open +1, close -1
    assert drv.stm.dev.usage_count == 1
    child = mm.fork()
    assert drv.stm.dev.usage_count == 2
    child.exit()
    mm.exit()
    assert (drv.stm.dev.usage_count, drv.stm.dev.underflows) == (0, 0)


def test_stm_pm_underflow_is_a_defect_of_the_conversion_not_an_intention() -> None:
    from mmaplab.lab import compare as C

    report = C.compare(stm.SPEC)
    assert report.ok, report.render()
    bugs = {(d.scenario, d.key) for d, _ in report.defects}
    assert {("remap-fails-after-hook", "state:pm_underflows"),
            ("remap-fails-with-live-mapping", "state:pm_usage")} <= bugs
    assert not any(d.key.startswith("state:") for d, _ in report.intended)
    # the mmap() failing with ENOMEM is the series' intended behaviour change
    assert ("remap-fails-after-hook", "errno") in {(d.scenario, d.key)
                                                   for d, _ in report.intended}
