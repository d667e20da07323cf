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
                       lambda: base("prepare", resource_type=mod.VME_SLAVE), short)]


EXERCISE = driver_exercise(
    cases=_cases,
    nn="10", module="vme_user", cls="VmeUser",
    methods={"vme_master_mmap_prepare": ("self", "resource", "desc"),
             "vme_user_master_mmap_prepare": ("self", "minor", "desc"),
             "vme_user_vm_mapped": ("self", "start", "end", "pgoff", "file",
                                    "vm_private_data")})
