"""drivers/uio/uio_hv_generic.c: userspace VMBus devices and their ring-buffer mmap.

The kit: ``model`` (the driver, legacy and converted), ``spec`` (scenarios, mutants,
``SPEC``).
"""

from .model import (
    INT_PAGE_MAP,
    MON_PAGE_MAP,
    RECV_PAGES,
    SEND_PAGES,
    TXRX_RING_MAP,
    HvUioDevice,
    hv_uio_ring_mmap,
    hv_uio_ring_mmap_prepare,
)
from .mutants import MUTANTS, closed_with
from .spec import (
    RING,
    RW,
    SPEC,
)

__all__ = [
    "TXRX_RING_MAP",
    "INT_PAGE_MAP",
    "MON_PAGE_MAP",
    "SEND_PAGES",
    "RECV_PAGES",
    "hv_uio_ring_mmap",
    "hv_uio_ring_mmap_prepare",
    "HvUioDevice",
    "RW",
    "RING",
    "SPEC",
    "MUTANTS",
    "closed_with",
]
