"""drivers/staging/vme_user/vme_user.c: the window mapped uncached, the mapped hook, the
converted driver's oops, and private mappings."""

from __future__ import annotations

import errno

import pytest

from mmaplab import (
    MAP_PRIVATE,
    HookError,
    KernelError,
)
from mmaplab.drivers import vme_user
from mmaplab.kernel.pgtable import Pgprot
from mmaplab.lab import compare as C
from tests.drivers.helpers import VARIANTS, P, errno_of, mmap, new_mm


@pytest.mark.parametrize("variant", VARIANTS)
def test_vme_maps_window_uncached_and_counts(variant: str) -> None:
    d = vme_user.VmeUser(variant)
    mm = new_mm()
    a = mmap(mm, d, 2)
    pte = mm.pagetable.lookup(a + P)
    assert pte is not None and pte.special
    assert pte.pfn == (vme_user.WINDOW_PHYS >> 12) + 1
    assert Pgprot.PCD in pte.prot  # pgprot_noncached
    assert d.observe() == {"mmap_count": 1, "vma_priv_live": 1, "vma_priv_refcnt": [1]}
    mm.munmap(a + P, P)  # split: open() then close()
    assert d.observe()["vma_priv_refcnt"] == [1]
    child = mm.fork()
    assert d.observe()["vma_priv_refcnt"] == [2]
    child.exit()
    mm.exit()
    assert d.observe() == {"mmap_count": 0, "vma_priv_live": 0, "vma_priv_refcnt": []}


def test_vme_converted_close_without_mapped_is_an_oops() -> None:
    """Remap fails after insertion: close() finds no vma_priv (legacy: clean ENOMEM)."""
    mm = new_mm()
    d = vme_user.VmeUser("legacy")
    with mm.injecting("pte_alloc"):
        assert errno_of(lambda: mmap(mm, d, 2)) == errno.ENOMEM
    assert d.observe()["mmap_count"] == 0
    mm = new_mm()
    d = vme_user.VmeUser("prepare")
    with mm.injecting("pte_alloc"), pytest.raises(HookError, match="NULL pointer"):
        mmap(mm, d, 2)


def test_vme_intended_difference_is_the_mapped_hook_and_the_oops_a_defect() -> None:
    report = C.compare(vme_user.SPEC)
    keys = {(d.scenario, d.key) for d, _ in report.intended}
    assert ("map-window", "hooks") in keys
    bugs = {(d.scenario, d.key) for d, _ in report.defects}
    assert {("remap-fails-after-insert", "errno"), ("mapped-fails", "errno")} <= bugs
    assert not bugs & keys
    assert all("NULL pointer dereference" in d.prepare for d, _ in report.defects
               if d.key == "errno")
    first = next(d for d, _ in report.intended if d.scenario == "map-window")
    assert "vme_user_vm_ops->mapped" in first.prepare


def test_private_mapping_of_vme_window_is_whole_cow_remap() -> None:
    mm = new_mm()
    d = vme_user.VmeUser("prepare")
    a = mmap(mm, d, 2, flags=MAP_PRIVATE)
    vma = mm.vma_lookup(a)
    assert vma.vm_pgoff == vme_user.WINDOW_PHYS >> 12  # remap_pfn_range_prepare's COW rule
    assert d.observe()["mmap_count"] == 1
    with pytest.raises(KernelError) as info:
        mmap(new_mm(), d, 1, offset_pages=1, flags=MAP_PRIVATE)
    assert info.value.errno == errno.EINVAL
