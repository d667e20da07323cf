"""Exercise 02: move per-mapping accounting from mmap_prepare into ``vm_ops->mapped``.

The device, its legacy hook and the reference conversion are the concept kit
``mmaplab.drivers.mapped_refcount``; its requests are ``spec``, its realistic wrong
answers ``mutants``.  Here: how the learner's hook and operations are wired in.
"""

from __future__ import annotations

from typing import Any

from ..kernel.fs import FileOperations
from ..kernel.mm_types import VmOperationsStruct
from ._driver_exercise import DriverCase, driver_exercise, pick


def _reference() -> tuple[Any, ...]:
    from ..drivers import mapped_refcount as kit

    return kit.trk_mmap_prepare, kit.trk_vm_ops


def _cases(mod: Any) -> list[DriverCase]:
    def case(name: str, scenarios: Any, pins: str = "", **config: Any) -> DriverCase:
        return DriverCase(
            name,
            lambda ov: mod.TrkDev("prepare", FileOperations(
                name="trk_fops", mmap_prepare=ov["trk_mmap_prepare"]), **config),
            lambda: mod.TrkDev("prepare", **config), scenarios, mutants=True,
            knobs=config, pins=pins,
            baseline=(lambda: mod.TrkDev("prepare")) if config else None)

    # A 4-page file: the bound is nr_pages, not a constant ([lost-check]).
    return [case("trk", mod.SCENARIOS),
            case("trk, a 4-page file", pick(mod.SCENARIOS, "the whole file",
                                             "beyond the end of the file"), "lost-check",
                 nr_pages=4)]


EXERCISE = driver_exercise(
    nn="02", module="mapped_refcount", cls="TrkDev", kind="concept",
    label="trk mmap_prepare + mapped",
    methods={"trk_mmap_prepare": ("desc",), "trk_vm_ops": VmOperationsStruct},
    cases=_cases, reference=_reference)
