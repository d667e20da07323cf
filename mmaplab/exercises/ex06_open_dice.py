"""Exercise 06: convert open-dice (drivers/misc/open-dice.c) to mmap_prepare.

Reference: ``mmaplab.drivers.open_dice`` ``prepare`` variant (v4 12/21).
"""

from __future__ import annotations

from ._driver_exercise import DriverCase, driver_exercise, pick, subclass_with


def _cases(mod):
    base = mod.OpenDiceDriver
    # A region one page larger, elsewhere: the action's region is the reserved memory's, not a
    # constant ([lost-check]: three pages fit, four do not).
    other = {"base": mod.RMEM_BASE + 0x100000, "size": (mod.RMEM_PAGES + 1) * 4096}
    return [DriverCase("open_dice", lambda ov: subclass_with(base, ov)("prepare"),
                       lambda: base("prepare")),
            DriverCase("open_dice (a larger region elsewhere)",
                       lambda ov: subclass_with(base, ov)("prepare", **other),
                       lambda: base("prepare", **other),
                       pick(mod.SPEC.scenarios, "too-big", "offset-too-far", "map-read-only"),
                       mutants=True, knobs=other, pins="lost-check",
                       baseline=lambda: base("prepare"))]

EXERCISE = driver_exercise(
    nn="06", module="open_dice", cls="OpenDiceDriver",
    methods={"open_dice_mmap_prepare": ("self", "desc")}, cases=_cases)
