"""Exercise 02's concept kit: a file whose live mappings are counted (``model``), the
requests (``spec``) and the realistic wrong conversions (``mutants``)."""

from .model import (
    TrkDev,
    trk_fault,
    trk_legacy_vm_ops,
    trk_mapped,
    trk_mmap,
    trk_mmap_prepare,
    trk_vm_close,
    trk_vm_open,
    trk_vm_ops,
)
from .mutants import MUTANTS
from .spec import SCENARIOS, SPEC

__all__ = ["TrkDev", "trk_fault", "trk_mmap", "trk_legacy_vm_ops", "trk_mapped",
           "trk_vm_open", "trk_vm_close", "trk_vm_ops", "trk_mmap_prepare", "SCENARIOS",
           "SPEC", "MUTANTS"]
