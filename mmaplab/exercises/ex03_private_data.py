"""Exercise 03: per-mapping private data under split, fork and late failure.

The device, its legacy hook and the reference conversion are the concept kit
``mmaplab.drivers.private_data``; its requests are ``spec``, its realistic wrong
answers ``mutants``.  Here: how the learner's hook and operations are wired in, and
the device configurations checked besides the default.
"""

from __future__ import annotations

from typing import Any

from ..kernel.fs import FileOperations
from ..kernel.mm_types import VmOperationsStruct
from ._driver_exercise import DriverCase, driver_exercise, pick


def _reference() -> tuple[Any, ...]:
    from ..drivers import private_data as kit

    return kit.ring_mmap_prepare, kit.ring_vm_ops


def _cases(mod: Any) -> list[DriverCase]:
    def case(name: str, scenarios: Any, pins: str = "", **config: Any) -> DriverCase:
        return DriverCase(
            name,
            lambda ov: mod.RingDev("prepare", FileOperations(
                name="ring_fops", mmap_prepare=ov["ring_mmap_prepare"]), **config),
            lambda: mod.RingDev("prepare", **config), scenarios, mutants=True,
            knobs=config, pins=pins,
            baseline=(lambda: mod.RingDev("prepare")) if config else None)

    return [case("ring", mod.SCENARIOS),
            # Three contexts: the third mapping is served ([lost-check] the limit is the
            # device's, found by ring_ctx_alloc(), not a constant).
            case("ring, three contexts", pick(mod.SCENARIOS, "all contexts in use"),
                 "lost-check", max_ctx=3),
            # An 8-page ring: 5 pages fit ([lost-check] the bound is nr_pages).
            case("ring of 8 pages", pick(mod.SCENARIOS, "beyond the ring"), "extra-refusal",
                 nr_pages=8)]


EXERCISE = driver_exercise(
    nn="03", module="private_data", cls="RingDev", kind="concept",
    label="ring mmap_prepare + mapped",
    methods={"ring_mmap_prepare": ("desc",), "ring_vm_ops": VmOperationsStruct},
    cases=_cases, reference=_reference)
