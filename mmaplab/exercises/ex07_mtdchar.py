"""Exercise 07: convert mtdchar (drivers/mtd/mtdchar.c) to mmap_prepare.

Reference: ``mmaplab.drivers.mtdchar`` ``prepare`` variant (v4 14/21), on an MMU kernel
(the default) and with ``mmu=False`` (the !CONFIG_MMU branch).
"""

from __future__ import annotations

import dataclasses

from ._driver_exercise import DriverCase, driver_exercise, pick, subclass_with

NOMMU_NOTES = {
    "shared-read": "!CONFIG_MMU, MAP_SHARED: allowed (the core placed the mapping)",
    "shared-write": "!CONFIG_MMU, MAP_SHARED|PROT_WRITE: allowed",
    "private-read": "!CONFIG_MMU, MAP_PRIVATE: EACCES, only shared mappings of the chip",
    "private-write": "!CONFIG_MMU, MAP_PRIVATE|PROT_WRITE: EACCES",
    "with-offset": "!CONFIG_MMU, shared at an offset: allowed",
}


def _cases(mod):
    base = mod.MtdcharDriver
    nommu = tuple(dataclasses.replace(sc, note=NOMMU_NOTES[sc.name])
                  for sc in pick(mod.SPEC.scenarios, *NOMMU_NOTES))
    return [DriverCase("mtdchar", lambda ov: subclass_with(base, ov)("prepare"),
                       lambda: base("prepare")),
            DriverCase("mtdchar (!CONFIG_MMU)",
                       lambda ov: subclass_with(base, ov)("prepare", mmu=False),
                       lambda: base("prepare", mmu=False), nommu, mutants=False,
                       knobs={"mmu": False}, pins="lost-check",
                       baseline=lambda: base("prepare"))]


EXERCISE = driver_exercise(
    nn="07", module="mtdchar", cls="MtdcharDriver",
    methods={"mtdchar_mmap_prepare": ("self", "desc")}, cases=_cases,
    fixed_knobs={"mtd_type": "the MTD_RAM/MTD_ROM branch is dead code (`if (0 && ...)`): "
                             "the chip type changes nothing the hook does"})
