"""Exercise 10: convert vme_user (drivers/staging/vme_user) to mmap_prepare + mapped.

Reference: ``mmaplab.drivers.vme_user`` ``prepare`` variant (v4 16/21).
"""

from __future__ import annotations

from ._driver_exercise import driver_exercise

EXERCISE = driver_exercise(
    nn="10", module="vme_user", cls="VmeUser",
    methods={"vme_master_mmap_prepare": ("self", "resource", "desc"),
             "vme_user_master_mmap_prepare": ("self", "minor", "desc"),
             "vme_user_vm_mapped": ("self", "start", "end", "pgoff", "file",
                                    "vm_private_data")})
