"""Which kernel the model follows: the v4 series as posted, or with its later fixes.

The model follows Linux 7.0 with the "mm: expand mmap_prepare functionality" v4
series (2026-03-20) applied.  Two later upstream fixes change behaviour a learner
can observe, so both variants are available:

* ``619eab23e1ce`` "mm/vma: do not try to unmap a VMA if mmap_prepare() invoked
  from mmap()": in v4, a failing action/``mapped`` hook reached through the
  compatibility layer calls ``do_munmap()`` on a VMA that was never inserted.
* ``3d3544a6c996`` "mm/vma: remove __vma_check_mmap_hook()": v4 refuses (EINVAL)
  any ``->mmap`` that leaves ``vm_ops->mapped`` set — which breaks uio/tcmu,
  whose legacy ``->mmap`` now reaches ``mapped`` through the compat layer.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["KernelConfig", "V4", "V4_FIXED", "DEFAULT"]


@dataclass(frozen=True)
class KernelConfig:
    """A kernel variant the model can follow (see the module docstring)."""

    name: str
    #: v4 08/21 ``__vma_check_mmap_hook()``: ``mapped`` set by a legacy ->mmap is EINVAL.
    vma_check_mmap_hook: bool
    #: v4 ``mmap_action_finish()`` unmaps on error even in compat mode.
    compat_unmap_on_error: bool


V4 = KernelConfig("v4 as posted", vma_check_mmap_hook=True, compat_unmap_on_error=True)
V4_FIXED = KernelConfig("v4 + 619eab23e1ce + 3d3544a6c996", vma_check_mmap_hook=False,
                        compat_unmap_on_error=False)
DEFAULT = V4_FIXED
