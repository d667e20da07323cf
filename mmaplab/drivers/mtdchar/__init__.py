"""drivers/mtd/mtdchar.c: mmap of an MTD character device, before and after the series.

The kit: ``model`` (the driver, legacy and converted), ``spec`` (scenarios, mutants,
``SPEC``).
"""

from .model import (
    MTD_CHAR_MAJOR,
    MTD_NORFLASH,
    MTD_RAM,
    MTD_ROM,
    MapInfo,
    MtdcharDriver,
    MtdInfo,
)
from .mutants import MUTANTS
from .spec import (
    RW,
    SPEC,
)

__all__ = [
    "MTD_CHAR_MAJOR",
    "MTD_RAM",
    "MTD_ROM",
    "MTD_NORFLASH",
    "MapInfo",
    "MtdInfo",
    "MtdcharDriver",
    "RW",
    "SPEC",
    "MUTANTS",
]
