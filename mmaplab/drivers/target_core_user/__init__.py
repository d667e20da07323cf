"""drivers/target/target_core_user.c (tcmu): the only ``uio_info`` mmap override.

The kit: ``model`` (the driver, legacy and converted), ``spec`` (scenarios, mutants,
``SPEC``).
"""

from .model import (
    CMDR_OFF,
    TCMU_VERSION,
    TcmuDev,
)
from .mutants import MUTANTS, tcmu_on
from .spec import (
    RW,
    SPEC,
    N,
)

__all__ = [
    "CMDR_OFF",
    "TCMU_VERSION",
    "TcmuDev",
    "RW",
    "N",
    "SPEC",
    "MUTANTS",
    "tcmu_on",
]
