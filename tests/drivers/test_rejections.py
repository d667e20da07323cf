"""Invalid requests to vme_user, uio, hv_vmbus, uio_hv_generic and target_core_user: each
rejection's errno, pinned for both variants."""

from __future__ import annotations

import errno
from collections.abc import Callable

import pytest

from mmaplab import (
    MAP_SHARED,
)
from mmaplab.drivers import hv_vmbus, target_core_user, uio, uio_hv_generic, vme_user
from mmaplab.drivers.base import Driver
from tests.drivers.helpers import VARIANTS, errno_of, mmap, new_mm


def _vme(**kw: object) -> Callable[[str], Driver]:
    return lambda v: vme_user.VmeUser(v, **kw)  # type: ignore[arg-type]


def _unregistered_uio(v: str) -> Driver:
    d = uio.UioPdrv(v)
    d.file = d.open()  # type: ignore[attr-defined]
    d.unregister()
    return d


REJECTIONS = [
    # (id, make(variant), pages, offset_pages, flags, errno)
    ("vme-window-too-small", _vme(), 5, 0, MAP_SHARED, errno.EFAULT),
    ("vme-offset-past-window", _vme(), 2, 3, MAP_SHARED, errno.EFAULT),
    ("vme-nonzero-offset", _vme(), 1, 1, MAP_SHARED, errno.EINVAL),
    ("vme-slave-minor", _vme(minor=4), 1, 0, MAP_SHARED, errno.ENODEV),
    ("vme-control-minor", _vme(minor=8), 1, 0, MAP_SHARED, errno.ENODEV),
    ("vme-not-master-resource", _vme(resource_type=vme_user.VME_SLAVE), 1, 0, MAP_SHARED,
     errno.EINVAL),
    ("uio-phys-bytes", lambda v: uio.UioPdrv(v), 2, 0, MAP_SHARED, errno.EINVAL),
    ("uio-too-many-pages", lambda v: uio.UioPdrv(v), 3, 1, MAP_SHARED, errno.EINVAL),
    ("uio-unaligned-phys", lambda v: uio.UioPdrv(v), 1, 4, MAP_SHARED, errno.ENODEV),
    ("uio-no-such-map", lambda v: uio.UioPdrv(v), 1, 5, MAP_SHARED, errno.EINVAL),
    ("uio-memtype-none", lambda v: uio.UioPdrv(v, memtype0=uio.UIO_MEM_NONE), 1, 0, MAP_SHARED,
     errno.EINVAL),
    ("uio-unregistered", _unregistered_uio, 1, 0, MAP_SHARED, errno.EINVAL),
    ("hv-ring-too-big", lambda v: hv_vmbus.VmbusRing(v), 5, 0, MAP_SHARED, errno.EINVAL),
    ("hv-ring-offset-runs-past", lambda v: hv_vmbus.VmbusRing(v), 2, 3, MAP_SHARED,
     errno.EINVAL),
    ("hv-ring-offset-beyond", lambda v: uio_hv_generic.HvUioDevice(v), 1, 6, MAP_SHARED,
     errno.EINVAL),
    ("tcmu-too-small", lambda v: target_core_user.TcmuDev(v), 5, 0, MAP_SHARED, errno.EINVAL),
    ("tcmu-too-big", lambda v: target_core_user.TcmuDev(v), 7, 0, MAP_SHARED, errno.EINVAL),
    ("tcmu-wrong-offset", lambda v: target_core_user.TcmuDev(v), 6, 1, MAP_SHARED,
     errno.EINVAL),
]


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("case", REJECTIONS, ids=[c[0] for c in REJECTIONS])
def test_rejections_errno(case: tuple, variant: str) -> None:
    _, make, pages, offset, flags, err = case
    d = make(variant)
    file = getattr(d, "file", None) or d.open()
    mm = new_mm()
    assert errno_of(lambda: mmap(mm, file, pages, offset, flags=flags)) == err
    assert mm.vmas() == []  # nothing left behind
    assert mm.pagetable.entries(0, 1 << 47) == {}
    state = d.observe()
    if isinstance(d, vme_user.VmeUser):
        assert state["mmap_count"] == 0 and state["vma_priv_live"] == 0
    if isinstance(d, target_core_user.TcmuDev):
        assert state["kref"] == 2
