"""drivers/target/target_core_user.c: maps and refcounts, one opener, the compat
layer overwriting private_data, and the v4-as-posted regression with its fix."""

from __future__ import annotations

import errno

import pytest

from mmaplab import (
    V4,
    HookError,
)
from mmaplab.drivers import target_core_user
from mmaplab.kernel.errors import BusError
from tests.drivers.helpers import VARIANTS, P, errno_of, mmap, new_mm


@pytest.mark.parametrize("variant", VARIANTS)
def test_tcmu_maps_and_refcounts(variant: str) -> None:
    d = target_core_user.TcmuDev(variant)
    assert d.mmap_pages == 6 and d.kref == 2
    mm = new_mm()
    a = mmap(mm, d, 6)
    assert d.kref == 3
    # the mapping's reference: tcmu_vma_open() (legacy) or tcmu_vma_mapped() (no vm_ops open)
    assert d.log == (["vma_open: kref_get"] if variant == "legacy" else [])
    assert mm.fault(a).pfn == d.mb_pages[0].pfn
    assert mm.fault(a + 2 * P).pfn == d.data_area[0].pfn
    with pytest.raises(BusError):
        mm.fault(a + 3 * P)  # data page 1 never allocated
    child = mm.fork()
    assert d.kref == 4
    child.exit()
    mm.munmap(a + 4 * P, 2 * P)  # split: open + close
    assert d.kref == 3
    mm.exit()
    assert d.kref == 2 and not d.freed


@pytest.mark.parametrize("variant", VARIANTS)
def test_tcmu_single_opener(variant: str) -> None:
    d = target_core_user.TcmuDev(variant)
    f = d.open()
    assert errno_of(d.open) == errno.EBUSY
    from mmaplab.kernel.fs import fput

    fput(f)  # tcmu_release clears TCMU_DEV_BIT_OPEN
    assert d.open() is not None


def test_tcmu_compat_overwrites_private_data() -> None:
    """The compat layer copies desc->private_data over uio_mmap's vm_private_data = idev."""
    mm = new_mm()
    d = target_core_user.TcmuDev("prepare")
    a = mmap(mm, d, 6)
    assert mm.vma_lookup(a).vm_private_data is d
    mutant = next(m for m in target_core_user.MUTANTS if m.name == "forgot-private_data").make()
    with pytest.raises(HookError, match="tcmu_vm_ops->mapped"):
        mmap(new_mm(), mutant, 6)


def test_tcmu_v4_as_posted_fails_with_einval_warns_and_leaks_kref() -> None:
    d = target_core_user.TcmuDev("prepare")
    mm = new_mm(config=V4)
    assert errno_of(lambda: mmap(mm, d, 6)) == errno.EINVAL
    assert any("tcmu_vm_ops->mapped" in w for w in mm.warnings), mm.warnings
    assert mm.vmas() == []
    assert d.kref == 3  # mapped() took a reference; the failed VMA never gets close()
    assert d.log == []  # neither open nor close ran: mapped()'s kref_get is never put


def test_tcmu_works_with_the_hotfix_and_legacy_works_under_v4() -> None:
    d = target_core_user.TcmuDev("prepare")
    mm = new_mm()  # default config: V4_FIXED
    a = mmap(mm, d, 6)
    assert mm.warnings == [] and d.kref == 3
    mm.munmap(a, 6 * P)
    assert d.kref == 2
    legacy = target_core_user.TcmuDev("legacy")
    mm = new_mm(config=V4)
    mmap(mm, legacy, 6)
    assert mm.warnings == [] and legacy.kref == 3
