"""Exercise 14: convert tcmu's ``uio_info->mmap`` to ``uio_info->mmap_prepare`` + mapped.

Reference: ``mmaplab.drivers.target_core_user`` ``prepare`` variant (v4 19/21), mapped
through the converted uio core of exercise 12.
"""

from __future__ import annotations

from ..kernel.errors import HookError
from ..lab.diff import Divergence
from ..lab.observe import Observation
from ._driver_exercise import driver_exercise


def _null_priv(o: Observation) -> bool:
    return any(v.private_text == "NULL" for v in o.vmas)


def _no_private_data(d: Divergence) -> bool:
    """The new VMA lacks tcmu's pointer: shown as NULL, or mapped() trips over it (an
    attribute of None, or of the uio device that is there instead)."""
    if _null_priv(d.got) and not _null_priv(d.expected):
        return True
    err = d.got.error
    if not (isinstance(err, HookError) and err.hook.endswith("->mapped")):
        return False
    cause = err.__cause__
    return isinstance(cause, (AttributeError, TypeError)) and type(
        getattr(cause, "obj", None)).__name__ in ("NoneType", "UioDevice")


EXERCISE = driver_exercise(
    nn="14", module="target_core_user", cls="TcmuDev",
    methods={"tcmu_mmap_prepare": ("self", "info", "desc"),
             "tcmu_vma_mapped": ("self", "start", "end", "pgoff", "file", "vm_private_data")},
    extra_rules=[("forgot-private_data", _no_private_data)])
