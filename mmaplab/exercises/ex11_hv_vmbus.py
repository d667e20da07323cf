"""Exercise 11: the vmbus "ring" attribute calls a converted channel callback.

Reference: ``mmaplab.drivers.hv_vmbus`` ``prepare`` variant (v4 18/21): the sysfs bin
attribute keeps its legacy ``->mmap`` (``hv_mmap_ring_buffer_wrapper()``), which becomes a
stacked caller of the channel's ``mmap_prepare_ring_buffer`` callback (v4 17/21).
"""

from __future__ import annotations

from ..drivers import hv_vmbus
from ._driver_exercise import DriverCase, driver_exercise, pick, subclass_with


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
                       _closed(lambda: mod.VmbusRing("prepare")), closed, mutants=False,
                       knobs={"channel.state": "closed"}, pins="errno",
                       baseline=lambda: mod.VmbusRing("prepare"))]


EXERCISE = driver_exercise(
    nn="11", module="hv_vmbus", cls="VmbusDrv",
    methods={"hv_mmap_ring_buffer_wrapper": ("self", "filp", "kobj", "attr", "vma")},
    cases=_cases, label="hv_vmbus ring ->mmap via the compat layer", devices=("VmbusRing",),
    fixed_knobs={"vmbus": "the driver instance the ring belongs to: the check wires the "
                          "learner's wrapper in through it"})

