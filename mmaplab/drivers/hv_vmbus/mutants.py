"""hv_vmbus: realistic wrong conversions of ``hv_mmap_ring_buffer_wrapper()``, each written once.

The wrapper is the legacy ``bin_attribute->mmap`` that now calls the channel's converted
``mmap_prepare_ring_buffer`` callback and applies the descriptor through the compat
layer.  Each ``answer`` replaces ``VmbusDrv.hv_mmap_ring_buffer_wrapper``; the
harness's mutant check, the case study and exercise 11's catalogue all read
:data:`MUTANTS`.
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from typing import Any

from ...kernel.compat import (
    __compat_vma_mmap,
    compat_set_desc_from_vma,
    compat_set_vma_from_desc,
    compat_vma_mmap,
)
from ...kernel.fs import File
from ...kernel.mm_types import VmAreaStruct
from ...kernel.mmap_action import mmap_action_complete
from ..base import Mutant
from .model import VmbusChannel, VmbusDrv
from .ring import VmbusRing

__all__ = ["MUTANTS", "closed_ring"]

_WRAPPER = "hv_mmap_ring_buffer_wrapper"


def closed_ring(make: Callable[[], VmbusRing]) -> Callable[[], VmbusRing]:
    """A ring whose channel was closed after its "ring" file was opened."""
    def build() -> VmbusRing:
        ring = make()
        ring.dev.close_channel(primary=True)
        return ring
    return build


def _callback(channel: VmbusChannel) -> Callable[..., int]:
    """The channel's converted ring callback (every channel the wrapper serves has one)."""
    assert channel.mmap_prepare_ring_buffer is not None
    return channel.mmap_prepare_ring_buffer


def _skip_compat(self: VmbusDrv, filp: File, kobj: VmbusChannel, attr: str,
                 vma: VmAreaStruct) -> int:
    # "the kernel performs the action after ->mmap returns, as for mmap_prepare"
    return int(_callback(kobj)(kobj, compat_set_desc_from_vma(filp, vma)))


def _complete_without_prepare(self: VmbusDrv, filp: File, kobj: VmbusChannel, attr: str,
                              vma: VmAreaStruct) -> int:
    desc = compat_set_desc_from_vma(filp, vma)
    err = _callback(kobj)(kobj, desc)
    if err:
        return int(err)
    compat_set_vma_from_desc(vma, desc)
    assert vma.vm_mm is not None
    return mmap_action_complete(vma.vm_mm, vma, desc.action, is_compat=True)


def _ignore_result(self: VmbusDrv, filp: File, kobj: VmbusChannel, attr: str,
                   vma: VmAreaStruct) -> int:
    desc = compat_set_desc_from_vma(filp, vma)
    err = _callback(kobj)(kobj, desc)
    if err:
        return int(err)
    __compat_vma_mmap(desc, vma)
    return 0


def _ignores_callback_error(self: VmbusDrv, filp: File, kobj: VmbusChannel, attr: str,
                            vma: VmAreaStruct) -> int:
    desc = compat_set_desc_from_vma(filp, vma)
    _callback(kobj)(kobj, desc)
    return __compat_vma_mmap(desc, vma)


def _file_compat(self: VmbusDrv, filp: File, kobj: VmbusChannel, attr: str,
                 vma: VmAreaStruct) -> int:
    return compat_vma_mmap(filp, vma)  # "the compat helper calls mmap_prepare for us"


def _einval(self: VmbusDrv, filp: File, kobj: VmbusChannel, attr: str,
            vma: VmAreaStruct) -> int:
    desc = compat_set_desc_from_vma(filp, vma)
    if _callback(kobj)(kobj, desc):
        return -errno.EINVAL  # "the callback failed: the request was invalid"
    return __compat_vma_mmap(desc, vma)


def _m(name: str, text: str, breaks: str, fn: Any, closed: bool = False) -> Mutant:
    cls = type("_MutantVmbusDrv", (VmbusDrv,), {_WRAPPER: fn})

    def make() -> VmbusRing:
        return VmbusRing("prepare", vmbus=cls(True))

    def ref(variant: str) -> VmbusRing:
        return closed_ring(lambda: VmbusRing(variant))()

    return Mutant(name, text, closed_ring(make) if closed else make, breaks, {_WRAPPER: fn},
                  ref if closed else None)


MUTANTS: tuple[Mutant, ...] = (
    _m("skip-__compat_vma_mmap",
       "calls mmap_prepare_ring_buffer() and returns, as if the kernel would perform the "
       "action after ->mmap: nothing is mapped, every access is SIGBUS", "no-action",
       _skip_compat),
    _m("complete-without-prepare",
       "completes the action without mmap_action_prepare(): the simple-ioremap action "
       "is never turned into a remap, so mmap_action_complete warns and fails",
       "compat-steps", _complete_without_prepare),
    _m("ignore-__compat_vma_mmap-result",
       "ignores the error of __compat_vma_mmap(): oversized requests 'succeed' with nothing "
       "mapped", "lost-check", _ignore_result),
    _m("ignores-callback-error",
       "applies the descriptor even when the callback refused: on a closed channel the "
       "callback returns ENODEV before describing anything, and the wrapper must return "
       "that error instead of going on to __compat_vma_mmap()", "lost-check",
       _ignores_callback_error, closed=True),
    _m("file-compat-helper",
       "calls compat_vma_mmap(filp, vma), the helper for a file's own f_op->mmap_prepare: "
       "the sysfs file has none (the callback is the channel's), so the helper calls a "
       "NULL mmap_prepare", "kernel-oops", _file_compat),
    _m("callback-error-as-einval",
       "returns EINVAL when the callback refuses: the callback's own errno (ENODEV for a "
       "closed channel) is what user space must see", "errno", _einval, closed=True),
)
