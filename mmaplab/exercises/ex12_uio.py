"""Exercise 12: the uio core calls ``uio_info->mmap_prepare`` from its legacy ``uio_mmap``.

Reference: ``mmaplab.drivers.uio`` ``UioCore.uio_mmap`` as converted by v4 19/21, checked
on a uio_pdrv_genirq-like device (the built-in memory types, unchanged) and on tcmu, the
one driver that overrides the mapping (``mmaplab.drivers.target_core_user``).
"""

from __future__ import annotations

from ..drivers import target_core_user, uio
from ..drivers.target_core_user.mutants import tcmu_on
from ._driver_exercise import DriverCase, driver_exercise, pick, subclass_with

#: The case whose device is tcm-user (the driver with an override), not uio_pdrv_genirq.
TCMU_CASE = "tcm-user (uio_info->mmap_prepare)"


_IOVA = ("map-phys", "phys-beyond-bytes", "private-phys")


def _cases(mod):
    def core(ov):
        return subclass_with(uio.UioCore, ov)(True)

    return [DriverCase("uio_pdrv_genirq", lambda ov: uio.UioPdrv("prepare", core=core(ov)),
                       lambda: uio.UioPdrv("prepare")),
            # The region type is device state: an IOVA region is remapped like PHYS.
            DriverCase("uio_pdrv_genirq (mem[0] is UIO_MEM_IOVA)",
                       lambda ov: uio.UioPdrv("prepare", core=core(ov), memtype0=uio.UIO_MEM_IOVA),
                       lambda: uio.UioPdrv("prepare", memtype0=uio.UIO_MEM_IOVA),
                       pick(uio.SPEC.scenarios, *_IOVA), knobs={"memtype0": uio.UIO_MEM_IOVA},
                       pins="range", baseline=lambda: uio.UioPdrv("prepare")),
            DriverCase(TCMU_CASE, lambda ov: tcmu_on(core(ov)),
                       lambda: tcmu_on(uio.UioCore(True)),
                       tuple(target_core_user.SPEC.scenarios), mutants=False)]


EXERCISE = driver_exercise(
    nn="12", module="uio", cls="UioCore",
    methods={"uio_mmap": ("self", "filep", "vma")}, cases=_cases,
    label="uio_mmap with uio_info->mmap_prepare", devices=("UioPdrv",),
    fixed_knobs={"core": "the uio core the device registers with: the check wires the "
                         "learner's uio_mmap in through it"},
    more_mutants=("target_core_user",))

