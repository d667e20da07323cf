"""Exercise 06: convert open-dice (drivers/misc/open-dice.c) to mmap_prepare.

Reference: ``mmaplab.drivers.open_dice`` ``prepare`` variant (v4 12/21).
"""

from __future__ import annotations

from ._driver_exercise import driver_exercise

EXERCISE = driver_exercise(
    nn="06", module="open_dice", cls="OpenDiceDriver",
    methods={"open_dice_mmap_prepare": ("self", "desc")})
