"""Exercise 05: convert hpet (drivers/char/hpet.c) to mmap_prepare.

Reference: ``mmaplab.drivers.hpet`` ``prepare`` variant (v4 13/21), on the default
device and on two other configurations (``hpet_mmap=0``, a block that is not page
aligned).
"""

from __future__ import annotations

import errno

from ..drivers import hpet
from ..kernel.flags import PAGE_SIZE
from ..kernel.mmap_action import mmap_action_simple_ioremap
from ._driver_exercise import DriverCase, ExerciseMutant, driver_exercise, pick, subclass_with


def _cases(mod):
    base = mod.HpetDriver
    short = pick(mod.SCENARIOS, "map-one-page", "two-pages", "offset-one", "private-writable",
                 "fork")

    def case(name, scenarios=None, mutants=False, **kw):
        return DriverCase(name, lambda ov: subclass_with(base, ov)("prepare", **kw),
                          lambda: base("prepare", **kw), scenarios, mutants)

    return [case("hpet", mutants=True),
            case("hpet_mmap=0", short, mmap_enabled=False),
            case("block not page aligned", short, phys=mod.HPET_PHYS + 0x400)]


def _ignores_hpet_mmap(self, desc):
    addr = desc.file.private_data.hd_hpets.hp_hpet_phys
    if addr & (PAGE_SIZE - 1):
        return -errno.ENOSYS
    desc.page_prot = self._noncached(desc.page_prot)
    mmap_action_simple_ioremap(desc, addr, PAGE_SIZE)
    return 0


MUTANTS = (
    ExerciseMutant(
        "ignores-hpet_mmap",
        "drops the hpet_mmap_enabled check: on a machine booted with hpet_mmap=0 the "
        "registers are mapped anyway instead of refusing with EACCES — the boot option is "
        "device state the converted hook must still honour",
        lambda: subclass_with(hpet.HpetDriver, {"hpet_mmap_prepare": _ignores_hpet_mmap},
                              "Mutant")("prepare", mmap_enabled=False),
        "hpet_mmap=0"),
)

EXERCISE = driver_exercise(
    nn="05", module="hpet", cls="HpetDriver",
    methods={"hpet_mmap_prepare": ("self", "desc")}, cases=_cases, mutants=MUTANTS)
