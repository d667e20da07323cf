"""fs/afs/file.c: mapping counts, ENOEXEC without read_folio, and the afs bug (v4 09/10):
the buggy conversion leaks on a merge and on a late failure, the fixed one is exact."""

from __future__ import annotations

import errno

import pytest

from mmaplab import PAGE_SIZE
from mmaplab.drivers import afs
from mmaplab.drivers.base import WINDOW, Scenario, mmap_op, munmap_op
from mmaplab.lab import compare as C
from mmaplab.lab.scenario import run_scenario
from tests.drivers.helpers import RW, try_mmap


@pytest.mark.parametrize("variant", ["legacy", "prepare"])
def test_afs_counts_vmas(variant: str) -> None:
    drv = afs.AfsDriver(variant)
    mm, addr = try_mmap(drv, 4, RW)
    assert addr == WINDOW and drv.observe() == {"cb_nr_mmap": 1, "on_open_mmaps": True}
    mm.munmap(WINDOW + PAGE_SIZE, PAGE_SIZE)
    assert drv.vnode.cb_nr_mmap == 2
    mm.exit()
    assert drv.observe() == {"cb_nr_mmap": 0, "on_open_mmaps": False}
    assert drv.vnode.cb_work_flushes == 1


def test_afs_enoexec_without_read_folio() -> None:
    for variant in ("legacy", "prepare"):
        drv = afs.AfsDriver(variant)
        drv.has_read_folio = False
        assert try_mmap(drv, 1)[1] == -errno.ENOEXEC
        assert drv.observe() == {"cb_nr_mmap": 0, "on_open_mmaps": False}


MERGE = Scenario("merge", (mmap_op(0, 2, RW), mmap_op(2, 2, RW, offset_pages=2),
                           munmap_op(0, 4)))


FAIL_LATE = Scenario("fail", (mmap_op(0, 2, RW),), inject=("vma_iter_prealloc", 1))


def _end_state(make, scenario):
    return dict(run_scenario(make(), scenario)[-1].state)


def test_afs_buggy_conversion_leaks_on_merge_and_late_failure() -> None:
    # the merge really happened: one VMA of 4 pages
    obs = run_scenario(afs.make_buggy(), MERGE)
    assert len(obs[1].vmas) == 1
    assert obs[1].aspect("maps")[0].startswith("7f0000000000-7f0000004000")
    assert obs[1].hooks == ()  # no open/mapped for the merged range
    assert _end_state(afs.make_buggy, MERGE) == {"cb_nr_mmap": "1", "on_open_mmaps": "True"}
    assert _end_state(afs.make_buggy, FAIL_LATE) == {"cb_nr_mmap": "1",
                                                     "on_open_mmaps": "True"}
    report = C.compare((lambda: afs.AfsDriver("legacy"), afs.make_buggy), (MERGE, FAIL_LATE),
                       afs.SPEC.intended)
    assert not report.ok
    assert {(d.key, d.scenario) for d in report.undeclared} == {
        ("state:cb_nr_mmap", "merge"), ("state:on_open_mmaps", "merge"),
        ("state:cb_nr_mmap", "fail"), ("state:on_open_mmaps", "fail")}


def test_afs_fixed_conversion_is_exact() -> None:
    for make in (lambda: afs.AfsDriver("legacy"), lambda: afs.AfsDriver("prepare")):
        assert _end_state(make, MERGE) == {"cb_nr_mmap": "0", "on_open_mmaps": "False"}
        assert _end_state(make, FAIL_LATE) == {"cb_nr_mmap": "0", "on_open_mmaps": "False"}
        obs = run_scenario(make(), MERGE)
        assert dict(obs[1].state)["cb_nr_mmap"] == "1"  # one VMA, one reference
    assert C.compare(afs.SPEC, (MERGE, FAIL_LATE)).ok


def test_afs_buggy_rejects_legacy_variant() -> None:
    with pytest.raises(ValueError):
        afs.AfsDriver("legacy", buggy=True)
