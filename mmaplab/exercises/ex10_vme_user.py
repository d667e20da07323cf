"""Exercise 10: convert vme_user (drivers/staging/vme_user) to mmap_prepare + mapped.

Reference: ``mmaplab.drivers.vme_user`` ``prepare`` variant (v4 16/21).
"""

from __future__ import annotations

from ._driver_exercise import DriverCase, driver_exercise, pick, subclass_with


def _cases(mod):
    base = mod.VmeUser
    short = pick(mod.SPEC.scenarios, "map-window", "nonzero-offset", "fork")
    return [DriverCase("vme_user", lambda ov: subclass_with(base, ov)("prepare"),
                       lambda: base("prepare")),
            # The resource type is device state: a slave image is not a master window.
            DriverCase("vme_user (a slave resource behind the minor)",
                       lambda ov: subclass_with(base, ov)("prepare", resource_type=mod.VME_SLAVE),
                       lambda: base("prepare", resource_type=mod.VME_SLAVE), short,
                       knobs={"resource_type": mod.VME_SLAVE}, pins="lost-check",
                       baseline=lambda: base("prepare")),
            # A window of 6 pages: 5 fit ([lost-check] against the resource's bus_end).
            DriverCase("vme_user (a 6-page window)",
                       lambda ov: subclass_with(base, ov)("prepare", window_pages=6),
                       lambda: base("prepare", window_pages=6),
                       pick(mod.SPEC.scenarios, "too-big", "offset-outside-window"),
                       knobs={"window_pages": 6}, pins="extra-refusal",
                       baseline=lambda: base("prepare")),
            # Another master minor: its own image (mutex, window, mmap_count), found from
            # the minor the hook is given (and, in mapped, from the file's inode).
            DriverCase("vme_user (master minor 2)",
                       lambda ov: subclass_with(base, ov)("prepare", minor=2),
                       lambda: base("prepare", minor=2), pick(mod.SPEC.scenarios,
                                                              "map-window", "fork"),
                       knobs={"minor": 2}, pins="range", baseline=lambda: base("prepare"))]


EXERCISE = driver_exercise(
    cases=_cases,
    nn="10", module="vme_user", cls="VmeUser",
    methods={"vme_master_mmap_prepare": ("self", "resource", "desc"),
             "vme_user_master_mmap_prepare": ("self", "minor", "desc"),
             "vme_user_vm_mapped": ("self", "start", "end", "pgoff", "file",
                                    "vm_private_data")})
