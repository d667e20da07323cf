"""drivers/hv/vmbus_drv.c: the per-channel sysfs "ring" file, before and after the series.

The kit: ``model`` (the driver, legacy and converted), ``spec`` (scenarios, mutants,
``SPEC``).
"""

from .model import (
    KernfsOpenFile,
    VmbusChannel,
    VmbusChannelState,
    VmbusDrv,
    hv_create_ring_sysfs,
    hv_remove_ring_sysfs,
    vmbus_close,
    vmbus_open,
)
from .mutants import MUTANTS, closed_ring
from .spec import (
    RING,
    RW,
    SPEC,
    VmbusRing,
)

__all__ = [
    "VmbusChannelState",
    "VmbusChannel",
    "vmbus_open",
    "vmbus_close",
    "hv_create_ring_sysfs",
    "hv_remove_ring_sysfs",
    "KernfsOpenFile",
    "VmbusDrv",
    "VmbusRing",
    "RW",
    "RING",
    "SPEC",
    "MUTANTS",
    "closed_ring",
]
