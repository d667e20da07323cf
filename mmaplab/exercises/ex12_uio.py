"""Exercise 12: the uio core calls ``uio_info->mmap_prepare`` from its legacy ``uio_mmap``.

Reference: ``mmaplab.drivers.uio`` ``UioCore.uio_mmap`` as converted by v4 19/21, checked
on a uio_pdrv_genirq-like device (the built-in memory types, unchanged) and on tcmu, the
one driver that overrides the mapping (``mmaplab.drivers.target_core_user``).
"""

from __future__ import annotations

import errno

from ..drivers import target_core_user, uio
from ..kernel.compat import __compat_vma_mmap as compat_vma_mmap_desc
from ..kernel.compat import compat_set_desc_from_vma
from ._driver_exercise import DriverCase, ExerciseMutant, driver_exercise, subclass_with

INTRO = """\
# Exercise 12 — uio: a driver override behind a legacy hook

The userspace-I/O core (`drivers/uio/uio.c`) maps `/dev/uioN` for many small drivers: each
describes up to `MAX_UIO_MAPS` regions in its `struct uio_info` (`info->mem[i]`, with a
`memtype`: PHYS, LOGICAL, VIRTUAL, IOVA, DMA_COHERENT), and userspace picks region *i* with
the mmap offset `i * PAGE_SIZE` — **`vm_pgoff` is an index here, not an offset**. A driver may
instead map its region itself with a `uio_info` hook; before the series that hook took the VMA,
`info->mmap(info, vma)`.

v4 19/21 replaces it with `info->mmap_prepare(info, desc)`. The core's own `uio_fops` keeps its
legacy `.mmap = uio_mmap` — so, as in exercise 11, the core calls the converted driver hook
through the compat layer: `compat_set_desc_from_vma()`, the hook, `__compat_vma_mmap()`.
Everything else in `uio_mmap()` stays as it was: its checks run first, under
`idev->info_lock`.

The device state is the driver model `UioCore` (`mmaplab/drivers/uio.py`), `self` in your
function: `filep.private_data.dev` is the `uio_device` (`idev.info`, `idev.info_lock`),
`self.uio_find_mem_index(vma)`, `self.size_ok(vma, mem)` (the page-rounded size check),
`self.uio_mmap_physical(vma)`, `self.uio_mmap_logical(vma)`,
`self.uio_mmap_dma_coherent(vma)`. Constants: `uio.UIO_MEM_PHYS`, `uio.UIO_MEM_IOVA`, ….
"""

LEGACY_C = """\
static int uio_mmap(struct file *filep, struct vm_area_struct *vma)
{
	struct uio_listener *listener = filep->private_data;
	struct uio_device *idev = listener->dev;
	struct uio_mem *mem;
	int mi, ret;

	if (vma->vm_end < vma->vm_start)
		return -EINVAL;
	vma->vm_private_data = idev;		/* the fault handler needs it */

	mutex_lock(&idev->info_lock);
	ret = -EINVAL;
	if (!idev->info)			/* the device went away */
		goto unlock;
	mi = uio_find_mem_index(vma);		/* vm_pgoff is the region number */
	if (mi < 0)
		goto unlock;
	mem = &idev->info->mem[mi];
	/* no more pages than the region spans (it may start inside a page) */
	if (vma_pages(vma) > DIV_ROUND_UP(offset_in_page(mem->addr) + mem->size, PAGE_SIZE))
		goto unlock;

	if (idev->info->mmap) {			/* the driver maps the region itself */
		ret = idev->info->mmap(idev->info, vma);
		goto unlock;
	}

	switch (mem->memtype) {
	case UIO_MEM_IOVA:
	case UIO_MEM_PHYS:
		ret = uio_mmap_physical(vma);	/* remap_pfn_range() */
		break;
	case UIO_MEM_LOGICAL:
	case UIO_MEM_VIRTUAL:
		ret = uio_mmap_logical(vma);	/* pages come from ->fault */
		break;
	case UIO_MEM_DMA_COHERENT:
		ret = uio_mmap_dma_coherent(vma);
		break;
	}
unlock:
	mutex_unlock(&idev->info_lock);
	return ret;
}
"""

TASK = """\
## Your task

The answer cell holds `uio_mmap(self, filep, vma)` with everything but the driver override
already written (in Python). Add the override for the converted hook,
`info.mmap_prepare(info, desc)`, at the place where the legacy code called `info->mmap`.

The check mounts your `uio_mmap` in the uio core and compares it with the converted model on
two devices: a uio_pdrv_genirq-like device with one region of each memory type (14 scenarios:
those paths must not change), and tcmu (12 scenarios: exact size, too small, too big, wrong
index, faults, fork, splits, MAP_PRIVATE, a failing `mapped`).
"""

SETUP = """\
import errno

from mmaplab.kernel.compat import __compat_vma_mmap, compat_set_desc_from_vma
from mmaplab.drivers import uio
from mmaplab.drivers.uio import UioCore
from mmaplab.exercises import check
"""

STUB = """\
def uio_mmap(self, filep, vma):
    idev = filep.private_data.dev
    if vma.vm_end < vma.vm_start:
        return -errno.EINVAL
    vma.vm_private_data = idev
    idev.info_lock.down_write("uio_mmap")
    try:
        info = idev.info
        if info is None:
            return -errno.EINVAL
        mi = self.uio_find_mem_index(vma)
        if mi < 0:
            return -errno.EINVAL
        if not self.size_ok(vma, info.mem[mi]):
            return -errno.EINVAL
        # TODO: the driver's override, info.mmap_prepare(info, desc)
        memtype = info.mem[mi].memtype
        if memtype in (uio.UIO_MEM_IOVA, uio.UIO_MEM_PHYS):
            return self.uio_mmap_physical(vma)
        if memtype in (uio.UIO_MEM_LOGICAL, uio.UIO_MEM_VIRTUAL):
            return self.uio_mmap_logical(vma)
        if memtype == uio.UIO_MEM_DMA_COHERENT:
            return self.uio_mmap_dma_coherent(vma)
        return -errno.EINVAL
    finally:
        idev.info_lock.up_write()
"""

HINTS = (
    "uio_mmap() is still a legacy ->mmap: it holds a VMA, the driver hook wants a "
    "descriptor. That is the stacked-caller situation of exercises 04 and 11.",
    "If info.mmap_prepare is set: desc = compat_set_desc_from_vma(filep, vma); call the hook; "
    "stop on its error; otherwise return __compat_vma_mmap(desc, vma) — all after the core's "
    "checks and still under info_lock, and without falling through to the memtype switch.",
    "if info.mmap_prepare is not None: {desc = compat_set_desc_from_vma(filep, vma); ret = "
    "info.mmap_prepare(info, desc); if ret: return ret; return __compat_vma_mmap(desc, vma)} "
    "— placed right after the size_ok check.",
)


def _tcmu(core: uio.UioCore):
    dev = target_core_user.TcmuDev("prepare")
    dev.core = core  # TcmuDev builds its own UioCore; open() goes through dev.core
    return dev


def _cases(mod):
    def core(ov):
        return subclass_with(uio.UioCore, ov)(True)

    return [DriverCase("uio_pdrv_genirq", lambda ov: uio.UioPdrv("prepare", core=core(ov)),
                       lambda: uio.UioPdrv("prepare")),
            DriverCase("tcm-user (uio_info->mmap_prepare)", lambda ov: _tcmu(core(ov)),
                       lambda: _tcmu(uio.UioCore(True)),
                       tuple(target_core_user.SPEC.scenarios), mutants=False)]


def _uio_mmap_with(override, checks_first: bool = True):
    """``uio_mmap()`` whose driver-override step is ``override(filep, info, vma)`` (or
    ``None``: no override step), run after the core's checks or before them."""
    def uio_mmap(self, filep, vma):
        idev = filep.private_data.dev
        if vma.vm_end < vma.vm_start:
            return -errno.EINVAL
        vma.vm_private_data = idev
        info = idev.info
        if not checks_first and info is not None and info.mmap_prepare is not None:
            return override(filep, info, vma)
        idev.info_lock.down_write("uio_mmap")
        try:
            if info is None:
                return -errno.EINVAL
            mi = self.uio_find_mem_index(vma)
            if mi < 0 or not self.size_ok(vma, info.mem[mi]):
                return -errno.EINVAL
            if override is not None and info.mmap_prepare is not None:
                return override(filep, info, vma)
            memtype = info.mem[mi].memtype
            if memtype in (uio.UIO_MEM_IOVA, uio.UIO_MEM_PHYS):
                return self.uio_mmap_physical(vma)
            if memtype in (uio.UIO_MEM_LOGICAL, uio.UIO_MEM_VIRTUAL):
                return self.uio_mmap_logical(vma)
            if memtype == uio.UIO_MEM_DMA_COHERENT:
                return self.uio_mmap_dma_coherent(vma)
            return -errno.EINVAL
        finally:
            if checks_first or info is None or info.mmap_prepare is None:
                idev.info_lock.up_write()
    return lambda: _tcmu(subclass_with(uio.UioCore, {"uio_mmap": uio_mmap}, "Mutant")(True))


def _right(filep, info, vma):
    desc = compat_set_desc_from_vma(filep, vma)
    ret = info.mmap_prepare(info, desc)
    return ret if ret else compat_vma_mmap_desc(desc, vma)


def _skip_compat(filep, info, vma):
    return info.mmap_prepare(info, compat_set_desc_from_vma(filep, vma))


def _ignore_error(filep, info, vma):
    desc = compat_set_desc_from_vma(filep, vma)
    info.mmap_prepare(info, desc)
    return compat_vma_mmap_desc(desc, vma)


TCMU = "tcm-user (uio_info->mmap_prepare)"
MUTANTS = (
    ExerciseMutant(
        "no-override",
        "never calls info->mmap_prepare: tcmu describes its region as UIO_MEM_NONE, which the "
        "core cannot map by itself, so every mmap of /dev/uioN fails with EINVAL",
        _uio_mmap_with(None), TCMU),
    ExerciseMutant(
        "skip-__compat_vma_mmap",
        "calls info->mmap_prepare and returns: the descriptor is never applied to the VMA, "
        "so tcmu's flags, vm_ops and private_data never reach it and mapped never takes the "
        "device reference",
        _uio_mmap_with(_skip_compat), TCMU),
    ExerciseMutant(
        "ignores-prepare-error",
        "applies the descriptor even when info->mmap_prepare refused: tcmu's exact-size check "
        "fails, yet the mapping is made",
        _uio_mmap_with(_ignore_error), TCMU),
    ExerciseMutant(
        "prepare-before-checks",
        "calls info->mmap_prepare before uio_mmap's own checks: the region index (vm_pgoff) "
        "and the size are no longer validated for drivers with an override, so an offset "
        "that selects an empty region is accepted",
        _uio_mmap_with(_right, checks_first=False), TCMU),
)

EXERCISE = driver_exercise(
    nn="12", module="uio", cls="UioCore", title="uio: a driver override behind a legacy hook",
    methods={"uio_mmap": ("self", "filep", "vma")}, cases=_cases, mutants=MUTANTS,
    label="uio_mmap with uio_info->mmap_prepare",
    intro=INTRO, legacy_c=LEGACY_C, task=TASK, setup=SETUP, stub=STUB, hints=HINTS)

