"""drivers/char/hpet.c: mapping the HPET registers, before and after the series.

The kit: ``model`` (the driver, legacy and converted), ``spec`` (scenarios, mutants,
``SPEC``).
"""

from .model import (
    HPET_MINOR,
    HPET_PHYS,
    HPET_PHYS_2,
    HPET_TIMERS,
    MISC_MAJOR,
    HpetDev,
    HpetDriver,
    Hpets,
)
from .mutants import MUTANTS, UNALIGNED
from .spec import (
    CONFIG_SPECS,
    RO,
    RW,
    SCENARIOS,
    SPEC,
)

__all__ = [
    "MISC_MAJOR",
    "HPET_MINOR",
    "HPET_PHYS",
    "HPET_PHYS_2",
    "HPET_TIMERS",
    "Hpets",
    "HpetDev",
    "HpetDriver",
    "RW",
    "RO",
    "SCENARIOS",
    "SPEC",
    "CONFIG_SPECS",
    "MUTANTS",
    "UNALIGNED",
]
