"""Exercise 11: the vmbus "ring" attribute calls a converted channel callback.

Reference: ``mmaplab.drivers.hv_vmbus`` ``prepare`` variant (v4 18/21): the sysfs bin
attribute keeps its legacy ``->mmap`` (``hv_mmap_ring_buffer_wrapper()``), which becomes a
stacked caller of the channel's ``mmap_prepare_ring_buffer`` callback (v4 17/21).
"""

from __future__ import annotations

from ..drivers import hv_vmbus
from ..kernel.compat import __compat_vma_mmap as compat_vma_mmap_desc
from ..kernel.compat import compat_set_desc_from_vma
from ._driver_exercise import DriverCase, ExerciseMutant, driver_exercise, pick, subclass_with


def _closed(make):
    """A ring whose channel was closed after its "ring" file was opened."""
    def build():
        ring = make()
        ring.dev.close_channel(primary=True)
        return ring
    return build


def _learner(ov):
    return hv_vmbus.VmbusRing("prepare", vmbus=subclass_with(hv_vmbus.VmbusDrv, ov)(True))


def _cases(mod):
    closed = pick(mod.SPEC.scenarios, "map-ring", "map-ring-offset")
    return [DriverCase("hv_vmbus", _learner, lambda: mod.VmbusRing("prepare")),
            DriverCase("hv_vmbus (channel closed)",
                       lambda ov: _closed(lambda: _learner(ov))(),
                       _closed(lambda: mod.VmbusRing("prepare")), closed, mutants=False)]


def _ignores_callback_error(self, filp, kobj, attr, vma):
    desc = compat_set_desc_from_vma(filp, vma)
    kobj.mmap_prepare_ring_buffer(kobj, desc)
    return compat_vma_mmap_desc(desc, vma)


MUTANTS = (
    ExerciseMutant(
        "ignores-callback-error",
        "applies the descriptor even when the callback refused: on a closed channel the "
        "callback returns ENODEV before describing anything, and the wrapper must return "
        "that error instead of going on to __compat_vma_mmap()",
        _closed(lambda: _learner({"hv_mmap_ring_buffer_wrapper": _ignores_callback_error})),
        "hv_vmbus (channel closed)"),
)

EXERCISE = driver_exercise(
    nn="11", module="hv_vmbus", cls="VmbusDrv",
    methods={"hv_mmap_ring_buffer_wrapper": ("self", "filp", "kobj", "attr", "vma")},
    cases=_cases, mutants=MUTANTS, label="hv_vmbus ring ->mmap via the compat layer")

