"""Driver models B: vme_user, hv_vmbus, uio, uio_hv_generic, target_core_user.

Legacy (Linux 7.0) and converted (v4 series) behaviour on valid and invalid
requests with each rejection's errno pinned, the equivalence harness on every
SPEC, every mutant caught, and the v4-as-posted uio/tcmu regression.
"""

from __future__ import annotations

import errno
import re
from collections.abc import Callable

import pytest

from mmaplab import (
    MAP_FIXED,
    MAP_PRIVATE,
    MAP_SHARED,
    MM,
    PAGE_SIZE,
    PROT_READ,
    PROT_WRITE,
    V4,
    HookError,
    KernelError,
)
from mmaplab.drivers import hv_vmbus, target_core_user, uio, uio_hv_generic, vme_user
from mmaplab.drivers.base import WINDOW, Driver
from mmaplab.kernel.errors import BusError
from mmaplab.kernel.page_alloc import reset_allocator
from mmaplab.kernel.pgtable import Pgprot
from mmaplab.lab import compare as C

MODULES = (vme_user, hv_vmbus, uio, uio_hv_generic, target_core_user)
SPECS = [m.SPEC for m in MODULES]
VARIANTS = ("legacy", "prepare")
RW = PROT_READ | PROT_WRITE
P = PAGE_SIZE


def new_mm(**kw: object) -> MM:
    return MM(sanitize=False, **kw)  # type: ignore[arg-type]


def mmap(mm: MM, drv_or_file: Driver | object, pages: int, offset_pages: int = 0,
         prot: int = RW, flags: int = MAP_SHARED, page: int = 0) -> int:
    file = drv_or_file.open() if isinstance(drv_or_file, Driver) else drv_or_file
    return mm.mmap(WINDOW + page * P, pages * P, prot, flags | MAP_FIXED, file,
                   offset_pages * P)


def errno_of(fn: Callable[[], object]) -> int:
    with pytest.raises(OSError) as info:
        fn()
    assert not isinstance(info.value, HookError), info.value
    return info.value.errno


# -- valid requests -------------------------------------------------------------------------

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


@pytest.mark.parametrize("variant", VARIANTS)
def test_tcmu_maps_and_refcounts(variant: str) -> None:
    d = target_core_user.TcmuDev(variant)
    assert d.mmap_pages == 6 and d.kref == 2
    mm = new_mm()
    a = mmap(mm, d, 6)
    assert d.kref == 3
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
    expected = "vma_open: kref_get" if variant == "legacy" else "vma_mapped: kref_get"
    assert d.log[0] == expected


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("node", ["ring", "subchannel-ring"])
def test_hv_ring_offset_is_a_page_offset(variant: str, node: str) -> None:
    d = uio_hv_generic.HvUioDevice(variant, node=node)
    ch = d.channel if node == "ring" else d.subchannel
    mm = new_mm()
    a = mmap(mm, d, 2, offset_pages=2)
    assert [mm.fault(a + i * P).pfn for i in range(2)] == [p.pfn for p in ch.ringbuffer_pages[2:]]
    vma = mm.vma_lookup(a)
    assert vma.vm_ops.name == "kernfs_vm_ops"
    assert Pgprot.PCD not in mm.pagetable.lookup(a).prot  # ordinary RAM, default prot


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


# -- invalid requests: each errno pinned ---------------------------------------------------------

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


@pytest.mark.parametrize("variant", VARIANTS)
def test_hv_closed_channel_is_enodev(variant: str) -> None:
    d = uio_hv_generic.HvUioDevice(variant)
    f = d.open()
    d.close_channel()
    assert errno_of(lambda: mmap(new_mm(), f, 1)) == errno.ENODEV


@pytest.mark.parametrize("variant", VARIANTS)
def test_hv_hidden_ring_cannot_be_opened(variant: str) -> None:
    d = uio_hv_generic.HvUioDevice(variant)
    hv_vmbus.hv_remove_ring_sysfs(d.subchannel)
    assert errno_of(d.open) == errno.ENOENT


@pytest.mark.parametrize("variant", VARIANTS)
def test_kernfs_refuses_a_callback_that_sets_close(variant: str) -> None:
    from mmaplab.kernel.mm_types import VmOperationsStruct

    ops = VmOperationsStruct(name="bad_vm_ops", close=lambda vma: None)

    def legacy_cb(channel: object, vma: object) -> int:
        vma.vm_ops = ops  # type: ignore[attr-defined]
        return 0

    def prepare_cb(channel: object, desc: object) -> int:
        desc.vm_ops = ops  # type: ignore[attr-defined]
        return 0

    d = uio_hv_generic.HvUioDevice(variant, ring_callback=legacy_cb if variant == "legacy"
                                   else prepare_cb)
    assert errno_of(lambda: mmap(new_mm(), d, 1)) == errno.EINVAL


@pytest.mark.parametrize("variant", VARIANTS)
def test_tcmu_single_opener(variant: str) -> None:
    d = target_core_user.TcmuDev(variant)
    f = d.open()
    assert errno_of(d.open) == errno.EBUSY
    from mmaplab.kernel.fs import fput

    fput(f)  # tcmu_release clears TCMU_DEV_BIT_OPEN
    assert d.open() is not None


# -- after-the-hook failures ------------------------------------------------------------------

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


def test_tcmu_compat_overwrites_private_data() -> None:
    """The compat layer copies desc->private_data over uio_mmap's vm_private_data = idev."""
    mm = new_mm()
    d = target_core_user.TcmuDev("prepare")
    a = mmap(mm, d, 6)
    assert mm.vma_lookup(a).vm_private_data is d
    mutant = next(m for m in target_core_user.MUTANTS if m.name == "forgot-private_data").make()
    with pytest.raises(HookError, match="tcmu_vm_ops->mapped"):
        mmap(new_mm(), mutant, 6)


# -- the v4 regression: uio + tcmu under __vma_check_mmap_hook -----------------------------

def test_tcmu_v4_as_posted_fails_with_einval_warns_and_leaks_kref() -> None:
    d = target_core_user.TcmuDev("prepare")
    mm = new_mm(config=V4)
    assert errno_of(lambda: mmap(mm, d, 6)) == errno.EINVAL
    assert any("tcmu_vm_ops->mapped" in w for w in mm.warnings), mm.warnings
    assert mm.vmas() == []
    assert d.kref == 3  # mapped() took a reference; the failed VMA never gets close()
    assert d.log == ["vma_mapped: kref_get"]


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


def test_plain_uio_is_unaffected_by_v4_check() -> None:
    mm = new_mm(config=V4)
    a = mmap(mm, uio.UioPdrv("prepare"), 2, 1)
    assert mm.vma_lookup(a) is not None and mm.warnings == []


# -- the harness ------------------------------------------------------------------------------

@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
def test_spec_shape(spec) -> None:
    assert len(spec.scenarios) >= 8
    assert len(spec.mutants) >= 3
    assert len({s.name for s in spec.scenarios}) == len(spec.scenarios)
    assert any(s.inject for s in spec.scenarios)
    kinds = {op.kind for s in spec.scenarios for op in s.ops}
    assert {"mmap", "munmap", "mprotect", "fork", "fault"} <= kinds
    for why in spec.intended.values():
        assert len(why) > 80
    assert spec.kernel_files and "v4" in spec.kernel_version


@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
def test_no_undeclared_difference(spec) -> None:
    report = C.compare(spec)
    assert report.ok, report.render()
    assert report.unused_intended == []


@pytest.mark.parametrize("spec,mutant", [(s, m) for s in SPECS for m in s.mutants],
                         ids=[f"{s.name}/{m.name}" for s in SPECS for m in s.mutants])
def test_mutant_is_caught(spec, mutant) -> None:
    report = C.mutant_report(spec, mutant)
    assert not report.ok
    assert report.undeclared


def test_vme_intended_differences_are_the_mapped_hook_and_the_oops() -> None:
    report = C.compare(vme_user.SPEC)
    keys = {(d.scenario, d.key) for d, _ in report.intended}
    assert ("map-window", "hooks") in keys
    assert ("remap-fails-after-insert", "errno") in keys
    first = next(d for d, _ in report.intended if d.scenario == "map-window")
    assert "vme_user_vm_ops->mapped" in first.prepare


def test_reports_are_deterministic() -> None:
    reset_allocator()
    a = C.compare(target_core_user.SPEC).render()
    b = C.compare(target_core_user.SPEC).render()
    assert a == b and "tcmu_vm_ops->mapped" in a
    assert re.search(r"<[^>]* at 0x[0-9a-f]+>", a) is None  # no default object reprs


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
