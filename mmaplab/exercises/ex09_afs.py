"""Exercise 09: convert afs (fs/afs/file.c) to mmap_prepare + mapped.

Reference: ``mmaplab.drivers.afs`` ``prepare`` variant (v4 10/21).
"""

from __future__ import annotations

from ..drivers.base import Scenario, fault_op, mmap_op, munmap_op
from ..kernel.flags import PAGE_SIZE, PROT_READ, PROT_WRITE
from ._driver_exercise import DriverCase, driver_exercise, pick, subclass_with

RW = PROT_READ | PROT_WRITE


_EOF_SIZE = 3 * PAGE_SIZE
_EOF = (Scenario("map-to-eof", (mmap_op(0, 3, RW), fault_op(2), fault_op(0, write=True),
                                munmap_op(0, 3)),
                 "[range] the mapping ends exactly at EOF: its last page is there"),
        Scenario("map-past-eof", (mmap_op(0, 4, RW), fault_op(3)),
                 "[range] a page past EOF faults SIGBUS"))


def _cases(mod):
    base = mod.AfsDriver
    short = pick(mod.SCENARIOS, "map-fault-unmap", "fork")
    return [DriverCase("afs", lambda ov: subclass_with(base, ov)("prepare"),
                       lambda: base("prepare")),
            # An address space without read_folio: generic_file_mmap_prepare() refuses
            # with ENOEXEC, and the afs hook must pass that on (and count nothing).
            DriverCase("afs (no read_folio)",
                       lambda ov: subclass_with(base, ov)("prepare", read_folio=False),
                       lambda: base("prepare", read_folio=False), short,
                       knobs={"read_folio": False}, pins="errno",
                       baseline=lambda: base("prepare")),
            # A file of 3 pages: a mapping that ends exactly at EOF faults its last page
            # in; one page more faults SIGBUS ([range] the file's size, not a constant).
            DriverCase("afs (a 3-page file)",
                       lambda ov: subclass_with(base, ov)("prepare", size=_EOF_SIZE),
                       lambda: base("prepare", size=_EOF_SIZE), _EOF,
                       knobs={"size": _EOF_SIZE}, pins="range",
                       baseline=lambda: base("prepare"))]


EXERCISE = driver_exercise(
    cases=_cases,
    nn="09", module="afs", cls="AfsDriver",
    fixed_knobs={"buggy": "selects the v1 conversion's bug (9d5403b1036c) for the harness, "
                          "not device state"},
    methods={"afs_file_mmap_prepare": ("self", "desc"),
             "afs_mapped": ("self", "start", "end", "pgoff", "file", "vm_private_data")})
