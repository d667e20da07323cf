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

INTRO = """\
# Exercise 11 — hv vmbus: a legacy caller of a converted callback

Each VMBus channel has a sysfs file `/sys/bus/vmbus/devices/<guid>/channels/<relid>/ring`;
mapping it maps the channel's ring buffer (send + receive rings) so that a userspace driver
such as DPDK or the fcopy daemon can talk to the host directly. The file is a sysfs *binary
attribute*: kernfs calls the attribute's legacy `->mmap(file, kobj, attr, vma)` —
`hv_mmap_ring_buffer_wrapper()` — which finds the channel and calls the callback the
channel's driver registered.

The series converts that **callback** — `channel->mmap_ring_buffer(channel, vma)` becomes
`channel->mmap_prepare_ring_buffer(channel, desc)` — but not the attribute: kernfs still hands
the wrapper a VMA. So the wrapper becomes a *stacked caller* (exercise 04): describe the VMA
with a descriptor, let the callback fill it, apply it.

The device state is the driver model `VmbusDrv` (`mmaplab/drivers/hv_vmbus.py`), `self` in
your function: `kobj` is the `VmbusChannel` (the C does `container_of(kobj, struct
vmbus_channel, kobj)`), whose `mmap_prepare_ring_buffer` is the converted callback
(uio_hv_generic's, exercise 13). The compat layer (mm/util.c) gives
`compat_set_desc_from_vma(file, vma)` and `__compat_vma_mmap(desc, vma)`.
"""

LEGACY_C = """\
static int hv_mmap_ring_buffer_wrapper(struct file *filp, struct kobject *kobj,
					const struct bin_attribute *attr,
					struct vm_area_struct *vma)
{
	struct vmbus_channel *channel = container_of(kobj, struct vmbus_channel, kobj);

	/* before the series the callback took the VMA itself */
	return channel->mmap_ring_buffer(channel, vma);
}
"""

TASK = """\
## Your task

Write `hv_mmap_ring_buffer_wrapper(self, filp, kobj, attr, vma)` for the converted channel
callback: `channel.mmap_prepare_ring_buffer(channel, desc)`.

The check mounts your wrapper in the vmbus driver and compares it with the converted model on
13 scenarios through the real kernfs path (the whole ring, the receive half, oversized and
out-of-range offsets, MAP_PRIVATE, fork, splits, mprotect, injected failures of the remap and
of the compat layer), then on a channel that was closed (the callback refuses with ENODEV).
"""

SETUP = """\
from mmaplab.kernel.compat import __compat_vma_mmap, compat_set_desc_from_vma
from mmaplab.kernel.compat import compat_set_vma_from_desc
from mmaplab.drivers.hv_vmbus import VmbusDrv
from mmaplab.exercises import check
from mmaplab.kernel.mmap_action import mmap_action_complete
"""

STUB = """\
def hv_mmap_ring_buffer_wrapper(self, filp, kobj, attr, vma):
    channel = kobj
    desc = compat_set_desc_from_vma(filp, vma)
    # TODO: the callback fills the descriptor; then apply it to the VMA
    return channel.mmap_prepare_ring_buffer(channel, desc)
"""

HINTS = (
    "The callback only *describes* the mapping in desc — nothing happens to the VMA until "
    "the descriptor is applied, and the mm will not do it for you: you are inside a legacy "
    "->mmap, after the point where the mm performs actions.",
    "Stop at a callback error; otherwise __compat_vma_mmap(desc, vma) prepares the action "
    "(here a simple ioremap, with its checks), copies the descriptor into the VMA and performs "
    "the action — and its result is the wrapper's result.",
    "channel = kobj; desc = compat_set_desc_from_vma(filp, vma); err = "
    "channel.mmap_prepare_ring_buffer(channel, desc); if err: return err; return "
    "__compat_vma_mmap(desc, vma).",
)


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
    title="hv vmbus: legacy caller, converted callback",
    methods={"hv_mmap_ring_buffer_wrapper": ("self", "filp", "kobj", "attr", "vma")},
    cases=_cases, mutants=MUTANTS, label="hv_vmbus ring ->mmap via the compat layer",
    intro=INTRO, legacy_c=LEGACY_C, task=TASK, setup=SETUP, stub=STUB, hints=HINTS)

