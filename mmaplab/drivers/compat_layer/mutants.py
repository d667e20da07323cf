"""Exercise 04: realistic wrong wrappers around the converted callback, each written once.

Each replaces ``chan_bin_mmap``, with the rule it breaks.  Exercise 04's catalogue and
its diagnoses read :data:`MUTANTS`.
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from typing import Any

from ...kernel.compat import (
    __compat_vma_mmap,
    compat_set_desc_from_vma,
    compat_vma_mmap,
)
from ...kernel.fs import File, FileOperations
from ...kernel.mm_types import VmAreaStruct
from ...kernel.vma_flags import vma_flags_to_legacy
from ..base import Mutant
from .model import ChanDev

__all__ = ["MUTANTS"]

Hook = Callable[[File, VmAreaStruct], int]


def _by_hand(file: File, vma: VmAreaStruct) -> int:
    chan: Any = file.private_data
    desc = compat_set_desc_from_vma(file, vma)
    err = chan.mmap_prepare_ring(chan, desc)
    if err:
        return err
    # "copy the results back by hand"
    vma.vm_ops = desc.vm_ops
    vma.vm_flags = vma_flags_to_legacy(desc.vma_flags)
    vma.vm_page_prot = desc.page_prot
    return 0


def _vma_to_callback(file: File, vma: VmAreaStruct) -> int:
    chan: Any = file.private_data
    return int(chan.mmap_prepare_ring(chan, vma))  # "a VMA describes the mapping too"


def _ignores_error(file: File, vma: VmAreaStruct) -> int:
    chan: Any = file.private_data
    desc = compat_set_desc_from_vma(file, vma)
    chan.mmap_prepare_ring(chan, desc)  # "it only fills a descriptor"
    return __compat_vma_mmap(desc, vma)


def _compat_entry(file: File, vma: VmAreaStruct) -> int:
    return compat_vma_mmap(file, vma)  # "the compat layer does it all"


def _swallows_compat_error(file: File, vma: VmAreaStruct) -> int:
    chan: Any = file.private_data
    desc = compat_set_desc_from_vma(file, vma)
    err = chan.mmap_prepare_ring(chan, desc)
    if err:
        return err
    __compat_vma_mmap(desc, vma)
    return 0  # "the callback succeeded"


def _einval(file: File, vma: VmAreaStruct) -> int:
    chan: Any = file.private_data
    desc = compat_set_desc_from_vma(file, vma)
    if chan.mmap_prepare_ring(chan, desc):
        return -errno.EINVAL  # "the attribute could not be mapped"
    return __compat_vma_mmap(desc, vma)


def _m(name: str, text: str, breaks: str, fn: Hook) -> Mutant:
    return Mutant(name, text,
                  lambda: ChanDev("prepare", FileOperations(name="chan_ring_fops", mmap=fn)),
                  breaks, {"chan_bin_mmap": fn})


MUTANTS: tuple[Mutant, ...] = (
    _m("skipped-compat-mmap",
       "running the callback is only half of the job: the callback fills a descriptor; "
       "__compat_vma_mmap(desc, vma) prepares its action, copies the permitted fields "
       "back into the VMA, performs the action and calls vm_ops->mapped; copied by hand, "
       "nothing is mapped and mapped never runs", "compat-steps", _by_hand),
    _m("vma-for-desc",
       "hands the VMA to a callback that takes a descriptor: the converted callback "
       "records an action in desc->action, which a VMA does not have; build the "
       "descriptor from the VMA with compat_set_desc_from_vma() first",
       "kernel-oops", _vma_to_callback),
    _m("ignores-prepare-error",
       "a failing callback must fail the mmap: when the mmap_prepare-style callback "
       "returns an error, return it at once; the descriptor is not meant to be applied",
       "lost-check", _ignores_error),
    _m("wrong-compat-entry",
       "compat_vma_mmap() is for a file's own mmap_prepare: it calls "
       "file->f_op->mmap_prepare, and this file has only a legacy ->mmap; for a callback "
       "of your own build the descriptor with compat_set_desc_from_vma(), call the "
       "callback, then __compat_vma_mmap()", "kernel-oops", _compat_entry),
    _m("compat-error-swallowed",
       "__compat_vma_mmap() can fail too: the action (the remap) or mapped may fail, "
       "and the legacy ->mmap returns that error to mmap()", "lost-check",
       _swallows_compat_error),
    _m("wrong-errno",
       "keep the callback's errno: a closed channel is -ENODEV, and the wrapper passes "
       "the callback's error on unchanged", "errno", _einval),
)
