"""drivers/hwtracing/stm/core.c: mapping STM channel MMIO, before and after the series.

The kit: ``model`` (the driver, legacy and converted), ``spec`` (scenarios, mutants,
``SPEC``).
"""

from .model import (
    CHANNELS_PER_MASTER,
    NR_CHANS,
    STM_MAJOR,
    SW_MMIO_BASE,
    SW_MMIOSZ,
    Device,
    StmData,
    StmDevice,
    StmDriver,
    StmFile,
    StmOutput,
)
from .mutants import MUTANTS, POLICY
from .spec import (
    CONFIG_SPECS,
    PAGES,
    RW,
    SCENARIOS,
    SPEC,
)

__all__ = [
    "SW_MMIO_BASE",
    "SW_MMIOSZ",
    "NR_CHANS",
    "CHANNELS_PER_MASTER",
    "STM_MAJOR",
    "Device",
    "StmFile",
    "StmOutput",
    "StmData",
    "StmDevice",
    "StmDriver",
    "RW",
    "PAGES",
    "SCENARIOS",
    "SPEC",
    "CONFIG_SPECS",
    "MUTANTS",
    "POLICY",
]
