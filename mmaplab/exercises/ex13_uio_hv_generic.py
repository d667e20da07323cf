"""Exercise 13: convert uio_hv_generic's ring callback to ``mmap_prepare_ring_buffer``.

Reference: ``mmaplab.drivers.uio_hv_generic.hv_uio_ring_mmap_prepare`` (v4 18/21), called
through the vmbus "ring" attribute of a subchannel (the stacked caller of exercise 11).
"""

from __future__ import annotations

from ..drivers import uio_hv_generic
from ._driver_exercise import DriverCase, driver_exercise, pick


def _cases(mod):
    def closed(callback):
        return uio_hv_generic.closed_with(callback)()

    ref = mod.hv_uio_ring_mmap_prepare
    name = "hv_uio_ring_mmap_prepare"
    return [DriverCase("uio_hv_generic",
                       lambda ov: mod.HvUioDevice("prepare", ring_callback=ov[name]),
                       lambda: mod.HvUioDevice("prepare")),
            DriverCase("uio_hv_generic (subchannel closed)", lambda ov: closed(ov[name]),
                       lambda: closed(ref),
                       pick(mod.SPEC.scenarios, "map-subchannel-ring", "map-receive-ring"),
                       mutants=False, knobs={"channel.state": "closed"}, pins="errno",
                       baseline=lambda: mod.HvUioDevice("prepare"))]


def _reference():
    return (uio_hv_generic.hv_uio_ring_mmap_prepare,)


EXERCISE = driver_exercise(
    nn="13", module="uio_hv_generic", cls="HvUioDevice",
    methods={"hv_uio_ring_mmap_prepare": ("channel", "desc")}, cases=_cases,
    fixed_knobs={"vmbus": "the vmbus driver the subchannel hangs off: wiring",
                 "ring_callback": "where the check installs the learner's callback",
                 "node": "which sysfs file is mapped: the subchannel's ring, the one the "
                         "converted callback serves"},
    reference=_reference)
