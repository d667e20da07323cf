"""Exercise 13: convert uio_hv_generic's ring callback to ``mmap_prepare_ring_buffer``.

Reference: ``mmaplab.drivers.uio_hv_generic.hv_uio_ring_mmap_prepare`` (v4 18/21), called
through the vmbus "ring" attribute of a subchannel (the stacked caller of exercise 11).
"""

from __future__ import annotations

from ..drivers import uio_hv_generic
from ..drivers.uio import page_address, virt_to_phys
from ..kernel.flags import PAGE_SHIFT
from ..kernel.mmap_action import mmap_action_simple_ioremap
from ._driver_exercise import DriverCase, ExerciseMutant, driver_exercise, pick


def _cases(mod):
    def closed(callback):
        return _closed_with(callback)()

    ref = mod.hv_uio_ring_mmap_prepare
    name = "hv_uio_ring_mmap_prepare"
    return [DriverCase("uio_hv_generic",
                       lambda ov: mod.HvUioDevice("prepare", ring_callback=ov[name]),
                       lambda: mod.HvUioDevice("prepare")),
            DriverCase("uio_hv_generic (subchannel closed)", lambda ov: closed(ov[name]),
                       lambda: closed(ref),
                       pick(mod.SPEC.scenarios, "map-subchannel-ring", "map-receive-ring"),
                       mutants=False)]


def _reference():
    return (uio_hv_generic.hv_uio_ring_mmap_prepare,)


def _no_state_check(channel, desc):
    ring_buffer = page_address(channel.ringbuffer_page)
    mmap_action_simple_ioremap(desc, virt_to_phys(ring_buffer),
                               channel.ringbuffer_pagecount << PAGE_SHIFT)
    return 0


def _closed_with(callback):
    def make():
        dev = uio_hv_generic.HvUioDevice("prepare", ring_callback=callback)
        dev.close_channel()
        return dev
    return make


MUTANTS = (
    ExerciseMutant(
        "no-state-check",
        "drops the channel-state check: a closed channel's ring (which the host may already "
        "have taken back) is mapped instead of refusing with ENODEV",
        _closed_with(_no_state_check), "uio_hv_generic (subchannel closed)"),
)


EXERCISE = driver_exercise(
    nn="13", module="uio_hv_generic", cls="HvUioDevice",
    methods={"hv_uio_ring_mmap_prepare": ("channel", "desc")}, cases=_cases,
    reference=_reference, mutants=MUTANTS)
