"""Exercise 14: convert tcmu's ``uio_info->mmap`` to ``uio_info->mmap_prepare`` + mapped.

Reference: ``mmaplab.drivers.target_core_user`` ``prepare`` variant (v4 19/21), mapped
through the converted uio core of exercise 12.  Diagnoses come from behaviour only: the
kit's mutants and the rule each breaks (no rule reads the text of a result).
"""

from __future__ import annotations

from ._driver_exercise import DriverCase, driver_exercise, pick, subclass_with


def _cases(mod):
    base = mod.TcmuDev

    def case(name, scenarios=None, mutants=True, pins="", **kw):
        return DriverCase(name, lambda ov: subclass_with(base, ov)("prepare", **kw),
                          lambda: base("prepare", **kw), scenarios, mutants, knobs=kw,
                          pins=pins, baseline=(lambda: base("prepare")) if kw else None)

    short = pick(mod.SPEC.scenarios, "map-and-use", "too-small", "unallocated-data-page")
    # Another ring and data area: the exact size is the device's mmap_pages, and which
    # data pages fault in is its state ([lost-check], [range]).
    return [case("tcm-user"),
            case("tcm-user (a 3-page ring, 6 data pages, 2 populated)", short,
                 pins="lost-check", cmdr_pages=3, data_pages=6, populated_data_pages=2)]


EXERCISE = driver_exercise(
    nn="14", module="target_core_user", cls="TcmuDev",
    methods={"tcmu_mmap_prepare": ("self", "info", "desc"),
             "tcmu_vma_mapped": ("self", "start", "end", "pgoff", "file", "vm_private_data")},
    cases=_cases)
