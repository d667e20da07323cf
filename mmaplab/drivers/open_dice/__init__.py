"""drivers/misc/open-dice.c: mapping the DICE reserved-memory region, before and after.

The kit: ``model`` (the driver, legacy and converted), ``spec`` (scenarios, mutants,
``SPEC``).
"""

from .model import (
    MISC_MAJOR,
    OPEN_DICE_MINOR,
    RMEM_BASE,
    RMEM_PAGES,
    OpenDiceDriver,
    ReservedMem,
)
from .mutants import MUTANTS
from .spec import (
    RW,
    SPEC,
)

__all__ = [
    "MISC_MAJOR",
    "OPEN_DICE_MINOR",
    "RMEM_BASE",
    "RMEM_PAGES",
    "ReservedMem",
    "OpenDiceDriver",
    "RW",
    "SPEC",
    "MUTANTS",
]
