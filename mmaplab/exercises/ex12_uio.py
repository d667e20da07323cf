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
    nn="12", module="uio", cls="UioCore",
    methods={"uio_mmap": ("self", "filep", "vma")}, cases=_cases, mutants=MUTANTS,
    label="uio_mmap with uio_info->mmap_prepare")

