"""hv_vmbus: the device the scenarios map, the "ring" file of a channel."""

from __future__ import annotations

from typing import Any

from ...kernel.fs import File, FMode
from ..base import Driver
from ..uio_hv_generic import model as _uio
from .model import VmbusDrv

__all__ = ["VmbusRing"]


class VmbusRing(Driver):
    """The sysfs "ring" file of a uio_hv_generic device's primary channel."""

    name = "hv_vmbus"

    def __init__(self, variant: str = "prepare", *, vmbus: VmbusDrv | None = None) -> None:
        super().__init__(variant)
        # The ring file exists once a uio_hv_generic device has opened its channel. The
        # module, not the class, is imported: that kit's model imports this kit's model.
        self.dev = _uio.HvUioDevice(variant, vmbus=vmbus)
        self.channel = self.dev.channel

    def open(self, mode: FMode = FMode.READ | FMode.WRITE) -> File:
        return self.dev.vmbus.open_ring(self.channel, mode)

    def observe(self) -> dict[str, Any]:
        return {"ring_mapcounts": [p.mapcount for p in self.channel.ringbuffer_pages],
                "state": self.channel.state.name}
