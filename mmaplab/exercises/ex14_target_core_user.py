"""Exercise 14: convert tcmu's ``uio_info->mmap`` to ``uio_info->mmap_prepare`` + mapped.

Reference: ``mmaplab.drivers.target_core_user`` ``prepare`` variant (v4 19/21), mapped
through the converted uio core of exercise 12.
"""

from __future__ import annotations

from ..lab.diff import Divergence
from ._driver_exercise import driver_exercise


def _no_private_data(d: Divergence) -> bool:
    """The new VMA lacks tcmu's pointer: shown as NULL, or mapped() trips over it."""
    got, want = " ".join(d.got.maps), " ".join(d.expected.maps)
    if "private_data=NULL" in got and "private_data=NULL" not in want:
        return True
    r = d.got.result
    return r.startswith("hook error") and "->mapped" in r and (
        "NoneType" in r or "NULL" in r or "UioDevice" in r)


EXERCISE = driver_exercise(
    nn="14", module="target_core_user", cls="TcmuDev",
    methods={"tcmu_mmap_prepare": ("self", "info", "desc"),
             "tcmu_vma_mapped": ("self", "start", "end", "pgoff", "file", "vm_private_data")},
    extra_rules=[("forgot-private_data", _no_private_data)])
