"""fs/afs/file.c: mapping an AFS file, before, during and after the series.

The kit: ``model`` (the driver, legacy and converted), ``spec`` (scenarios, mutants,
``SPEC``).
"""

from .model import (
    AFS_DEV,
    AFS_FILE_PAGES,
    AfsDriver,
    AfsVnode,
    AfsVolume,
    make_buggy,
)
from .mutants import MUTANTS
from .spec import (
    RW,
    SCENARIOS,
    SPEC,
)

__all__ = [
    "AFS_FILE_PAGES",
    "AFS_DEV",
    "AfsVolume",
    "AfsVnode",
    "AfsDriver",
    "make_buggy",
    "RW",
    "SCENARIOS",
    "SPEC",
    "MUTANTS",
]
