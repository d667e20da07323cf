"""Exercise 09: convert afs (fs/afs/file.c) to mmap_prepare + mapped.

Reference: ``mmaplab.drivers.afs`` ``prepare`` variant (v4 10/21).
"""

from __future__ import annotations

from ._driver_exercise import DriverCase, driver_exercise, pick, subclass_with


def _cases(mod):
    base = mod.AfsDriver
    short = pick(mod.SCENARIOS, "map-fault-unmap", "fork")
    return [DriverCase("afs", lambda ov: subclass_with(base, ov)("prepare"),
                       lambda: base("prepare")),
            # An address space without read_folio: generic_file_mmap_prepare() refuses
            # with ENOEXEC, and the afs hook must pass that on (and count nothing).
            DriverCase("afs (no read_folio)",
                       lambda ov: subclass_with(base, ov)("prepare", read_folio=False),
                       lambda: base("prepare", read_folio=False), short)]


EXERCISE = driver_exercise(
    cases=_cases,
    nn="09", module="afs", cls="AfsDriver",
    methods={"afs_file_mmap_prepare": ("self", "desc"),
             "afs_mapped": ("self", "start", "end", "pgoff", "file", "vm_private_data")})
