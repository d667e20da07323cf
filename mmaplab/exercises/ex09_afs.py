"""Exercise 09: convert afs (fs/afs/file.c) to mmap_prepare + mapped.

Reference: ``mmaplab.drivers.afs`` ``prepare`` variant (v4 10/21).
"""

from __future__ import annotations

from ._driver_exercise import driver_exercise

EXERCISE = driver_exercise(
    nn="09", module="afs", cls="AfsDriver",
    methods={"afs_file_mmap_prepare": ("self", "desc"),
             "afs_mapped": ("self", "start", "end", "pgoff", "file", "vm_private_data")})
