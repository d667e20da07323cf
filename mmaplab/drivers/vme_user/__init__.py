"""drivers/staging/vme_user: mapping a VME master window, before and after the series.

The kit: ``model`` (the driver, legacy and converted), ``spec`` (scenarios, mutants,
``SPEC``).
"""

from .model import (
    CONTROL_MINOR,
    MASTER_MINOR,
    MINOR_TYPE,
    SLAVE_MINOR,
    VME_DEVS,
    VME_DMA,
    VME_LM,
    VME_MAJOR,
    VME_MASTER,
    VME_SLAVE,
    WINDOW_PHYS,
    ImageDesc,
    VmeResource,
    VmeUser,
    VmeUserVmaPriv,
)
from .mutants import MUTANTS
from .spec import (
    RW,
    SPEC,
)

__all__ = [
    "VME_MAJOR",
    "VME_DEVS",
    "MASTER_MINOR",
    "SLAVE_MINOR",
    "CONTROL_MINOR",
    "MINOR_TYPE",
    "VME_MASTER",
    "VME_SLAVE",
    "VME_DMA",
    "VME_LM",
    "WINDOW_PHYS",
    "VmeResource",
    "VmeUserVmaPriv",
    "ImageDesc",
    "VmeUser",
    "RW",
    "SPEC",
    "MUTANTS",
]
