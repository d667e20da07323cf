"""Exercise 03's concept kit: a ring device with one context per mapping (``model``), the
requests (``spec``) and the realistic wrong conversions (``mutants``)."""

from .model import (
    RingCtx,
    RingDev,
    ring_fault,
    ring_mapped,
    ring_mmap,
    ring_mmap_prepare,
    ring_vm_close,
    ring_vm_open,
    ring_vm_ops,
)
from .mutants import MUTANTS
from .spec import SCENARIOS, SPEC

__all__ = ["RingDev", "RingCtx", "ring_fault", "ring_mmap", "ring_mapped", "ring_vm_open",
           "ring_vm_close", "ring_vm_ops", "ring_mmap_prepare", "SCENARIOS", "SPEC", "MUTANTS"]
