"""Exercise 04: call a converted (mmap_prepare-style) callback from a legacy ``->mmap``.

The channel, its legacy and converted callbacks and the reference wrapper are the
concept kit ``mmaplab.drivers.compat_layer``; its requests are ``spec``, its realistic
wrong wrappers ``mutants``.  Here: how the learner's wrapper is wired in, and the
channel configurations checked.
"""

from __future__ import annotations

from typing import Any

from ..kernel.fs import FileOperations
from ._driver_exercise import DriverCase, driver_exercise, pick


def _reference() -> tuple[Any, ...]:
    from ..drivers import compat_layer as kit

    return (kit.chan_bin_mmap,)


def _cases(mod: Any) -> list[DriverCase]:
    def case(name: str, scenarios: Any, pins: str = "", **config: Any) -> DriverCase:
        return DriverCase(
            name,
            lambda ov: mod.ChanDev("prepare", FileOperations(
                name="chan_ring_fops", mmap=ov["chan_bin_mmap"]), **config),
            lambda: mod.ChanDev("prepare", **config), scenarios, mutants=True,
            knobs=config, pins=pins,
            baseline=(lambda: mod.ChanDev("prepare")) if config else None)

    return [case("open channel", mod.OPEN),
            # [errno] a closed channel: the callback's -ENODEV reaches mmap().
            case("closed channel", mod.CLOSED, "errno", state="closed"),
            # [lost-check] a 2-page ring: the size check is the callback's, on this ring.
            case("open channel, a 2-page ring elsewhere",
                 pick(mod.OPEN, "part of the ring at an offset", "map the ring"), "lost-check",
                 ring_pages=2, ring_phys=0x2_0000_0000)]


EXERCISE = driver_exercise(
    nn="04", module="compat_layer", cls="ChanDev", kind="concept",
    label="chan ring ->mmap via the compat layer",
    methods={"chan_bin_mmap": ("file", "vma")}, cases=_cases, reference=_reference)
