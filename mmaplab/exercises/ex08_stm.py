"""Exercise 08: convert stm (drivers/hwtracing/stm/core.c) to mmap_prepare + mapped.

Reference: ``mmaplab.drivers.stm`` ``prepare`` variant (v4 15/21), on the default device
and on three other configurations (no ``mmio_addr`` callback, no policy assigned,
``mmio_addr`` returning 0).
"""

from __future__ import annotations

from ._driver_exercise import DriverCase, driver_exercise, pick, subclass_with


def _no_mmio(data, master, channel, nr_chans):
    """An ``mmio_addr`` callback that finds no MMIO for the channels (returns 0)."""
    return 0


def _cases(mod):
    base = mod.StmDriver
    short = pick(mod.SCENARIOS, "map-channels", "wrong-size", "private-mapping", "fork")

    def case(name, scenarios=None, mutants=False, pins="", **kw):
        return DriverCase(name, lambda ov: subclass_with(base, ov)("prepare", **kw),
                          lambda: base("prepare", **kw), scenarios, mutants, knobs=kw,
                          pins=pins, baseline=(lambda: base("prepare")) if kw else None)

    return [case("stm", mutants=True),
            case("stm without mmio_addr", short, pins="lost-check", mmio_addr=None),
            case("stm without a policy (nr_chans 0)", short, pins="lost-check", nr_chans=0),
            case("stm whose mmio_addr() returns 0", short, pins="lost-check",
                 mmio_addr=_no_mmio),
            # master != channel: the order of mmio_addr()'s arguments shows in the pfns.
            case("stm with a policy from master 1, channel 64", short, pins="range",
                 **mod.POLICY),
            # Another channel size: the expected size is nr_chans * sw_mmiosz, not a
            # constant of the default device.
            case("stm with 128-byte channels", short, pins="lost-check", sw_mmiosz=128)]


EXERCISE = driver_exercise(
    nn="08", module="stm", cls="StmDriver",
    methods={"stm_char_mmap_prepare": ("self", "desc"),
             "stm_mmap_mapped": ("self", "start", "end", "pgoff", "file", "vm_private_data")},
    cases=_cases)
