"""Exercise 04's concept kit: a channel whose converted callback a legacy ``->mmap`` calls
through the compat layer (``model``), the requests (``spec``) and the realistic wrong
wrappers (``mutants``)."""

from .model import (
    RING_PHYS,
    ChanDev,
    chan_bin_mmap,
    chan_bin_mmap_legacy,
    chan_ring_mmap,
    chan_ring_mmap_prepare,
    chan_vm_ops,
)
from .mutants import MUTANTS
from .spec import CLOSED, OPEN, SPEC

__all__ = ["ChanDev", "chan_vm_ops", "chan_ring_mmap", "chan_ring_mmap_prepare",
           "chan_bin_mmap", "chan_bin_mmap_legacy", "RING_PHYS", "OPEN", "CLOSED", "SPEC",
           "MUTANTS"]
