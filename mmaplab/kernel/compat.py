"""The compatibility layer: invoking an ``mmap_prepare`` hook from an ``mmap`` hook.

Models, as of the v4 series (patch 17/21 "mm: allow handling of stacked
mmap_prepare hooks in more drivers"), ``vfs_mmap()``/``vfs_mmap_prepare()``
(include/linux/fs.h), ``compat_vma_mmap()``, ``__compat_vma_mmap()``,
``compat_set_desc_from_vma()``, ``__vma_check_mmap_hook()`` (mm/util.c) and
``compat_set_vma_from_desc()`` (mm/vma.h).

Inside a legacy ``->mmap`` the VMA exists but is not yet inserted, so the
descriptor is filled from it, the prepare hook runs, the permitted fields are
copied back and the action completes at once (``mapped`` included).  The rmap
lock "hide" option is forced off: nothing can see the VMA yet anyway.
"""

from __future__ import annotations

import errno

from .fs import File, fput, get_file
from .hooks import call_hook
from .mm_types import VmAreaDesc, VmAreaStruct, desc_legacy_flags
from .mmap_action import mmap_action_complete, mmap_action_prepare

__all__ = ["vfs_mmap", "vfs_mmap_prepare", "compat_vma_mmap", "__compat_vma_mmap",
           "compat_set_desc_from_vma", "compat_set_vma_from_desc"]


def vfs_mmap_prepare(file: File, desc: VmAreaDesc) -> int:
    """``vfs_mmap_prepare()``: call ``file->f_op->mmap_prepare(desc)``."""
    f_op = file.f_op
    assert f_op.mmap_prepare is not None
    desc.hook = f"{f_op.name}->mmap_prepare"
    mm = desc.mm
    if mm is not None and (err := mm.injected_error("mmap_prepare")):
        return err
    if mm is not None:
        with mm.trace.enter(desc.hook, f"{desc.start:#x}-{desc.end:#x}"):
            return call_hook(desc.hook, f_op.mmap_prepare, desc)
    return call_hook(desc.hook, f_op.mmap_prepare, desc)


def compat_set_desc_from_vma(file: File, vma: VmAreaStruct) -> VmAreaDesc:
    """``compat_set_desc_from_vma()``: a descriptor describing an existing VMA.

    ``file`` may differ from ``vma.vm_file`` for stacked callers; ``vm_ops`` and
    ``private_data`` start empty and the action is MMAP_NOTHING.
    """
    return VmAreaDesc(vma.vm_mm, file, vma.vm_start, vma.vm_end, vma.vm_pgoff, vma.vm_file,
                      vma.vm_flags, vma.vm_page_prot)


def compat_set_vma_from_desc(vma: VmAreaStruct, desc: VmAreaDesc) -> None:
    """``compat_set_vma_from_desc()``: copy back what a prepare hook may change."""
    vma.vm_pgoff = desc.pgoff
    if desc.vm_file is not vma.vm_file:
        # vma_set_file(): take the new file, drop the old.
        if desc.vm_file is not None:
            get_file(desc.vm_file)
        old = vma.vm_file
        vma.vm_file = desc.vm_file
        if old is not None:
            fput(old)
    vma.vm_flags = desc_legacy_flags(desc)
    vma.vm_page_prot = desc.page_prot
    # v4 copies vm_ops back unconditionally: a hook that set none leaves the VMA with
    # NULL ops, so vma_is_anonymous() is true for this file VMA (D10; later linux-mm
    # pre-fills the descriptor with vma->vm_ops to prevent it).
    vma.vm_ops = desc.vm_ops
    vma.null_vm_ops = desc.vm_ops is None
    vma.vm_private_data = desc.private_data


def __compat_vma_mmap(desc: VmAreaDesc, vma: VmAreaStruct) -> int:
    """``__compat_vma_mmap()``: for a descriptor a stacked caller already prepared.

    Does not clear ``hide_from_rmap_until_complete`` (only
    :func:`compat_vma_mmap` does), as in v4.
    """
    mm = vma.vm_mm
    assert mm is not None
    with mm.trace.enter("__compat_vma_mmap"):
        err = mmap_action_prepare(desc)
        if err:
            return err
        compat_set_vma_from_desc(vma, desc)
        return mmap_action_complete(mm, vma, desc.action, is_compat=True)


def compat_vma_mmap(file: File, vma: VmAreaStruct) -> int:
    """``compat_vma_mmap()``: run ``file``'s mmap_prepare on behalf of an mmap caller."""
    mm = vma.vm_mm
    assert mm is not None
    with mm.trace.enter("compat_vma_mmap", file.name):
        desc = compat_set_desc_from_vma(file, vma)
        err = vfs_mmap_prepare(file, desc)
        if err:
            return err
        desc.action.hide_from_rmap_until_complete = False
        return __compat_vma_mmap(desc, vma)


def __vma_check_mmap_hook(vma: VmAreaStruct) -> int:
    """``__vma_check_mmap_hook()`` (v4 08/21): ``mapped`` is only valid from mmap_prepare."""
    ops = vma.vm_ops
    if ops is not None and ops.mapped is not None:
        mm = vma.vm_mm
        if mm is not None:
            mm.warn(f"{ops.name}->mapped set from a legacy f_op->mmap hook")
        return -errno.EINVAL
    return 0


def vfs_mmap(file: File, vma: VmAreaStruct) -> int:
    """``vfs_mmap()``: the file's ``->mmap``, or its ``->mmap_prepare`` through the compat layer."""
    f_op = file.f_op
    if f_op.mmap_prepare is not None:
        return compat_vma_mmap(file, vma)
    assert f_op.mmap is not None
    mm = vma.vm_mm
    assert mm is not None
    hook = f"{f_op.name}->mmap"
    if err := mm.injected_error("mmap"):
        return err
    with mm.trace.enter(hook, f"{vma.vm_start:#x}-{vma.vm_end:#x}"):
        err = call_hook(hook, f_op.mmap, file, vma)
    if err:
        return err
    if mm.config.vma_check_mmap_hook:
        return __vma_check_mmap_hook(vma)
    return 0
