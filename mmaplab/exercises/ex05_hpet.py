"""Exercise 05: convert hpet (drivers/char/hpet.c) to mmap_prepare.

Reference: ``mmaplab.drivers.hpet`` ``prepare`` variant (v4 13/21), on the default
device and on two other configurations (``hpet_mmap=0``, a block that is not page
aligned).
"""

from __future__ import annotations

from ._driver_exercise import DriverCase, driver_exercise, pick, subclass_with


def _cases(mod):
    base = mod.HpetDriver
    short = pick(mod.SCENARIOS, "map-one-page", "two-pages", "offset-one", "private-writable",
                 "fork")

    def case(name, scenarios=None, mutants=False, pins="", **kw):
        return DriverCase(name, lambda ov: subclass_with(base, ov)("prepare", **kw),
                          lambda: base("prepare", **kw), scenarios, mutants, knobs=kw,
                          pins=pins, baseline=(lambda: base("prepare")) if kw else None)

    return [case("hpet", mutants=True),
            case("hpet_mmap=0", short, pins="lost-check", mmap_enabled=False),
            case("block not page aligned", short, pins="lost-check", phys=mod.UNALIGNED),
            # Both knobs at once: which check runs first is visible (EACCES, not ENOSYS).
            case("hpet_mmap=0, block not page aligned", short, pins="errno-precedence",
                 mmap_enabled=False, phys=mod.UNALIGNED),
            # A second block: its timers map its own registers, not the first block's.
            case("two HPET blocks", pick(mod.SCENARIOS, "timer-of-a-second-block"),
                 pins="range", second_block=mod.HPET_PHYS_2)]


EXERCISE = driver_exercise(
    nn="05", module="hpet", cls="HpetDriver",
    methods={"hpet_mmap_prepare": ("self", "desc")}, cases=_cases,
    fixed_knobs={
        "config_hpet_mmap": "without CONFIG_HPET_MMAP the driver installs its stub hook, "
                            "not the one the learner writes"})
