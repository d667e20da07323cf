"""mmap actions: what an ``mmap_prepare`` hook asks the kernel to do once the VMA exists.

Models the ``mmap_action_*()`` helpers of include/linux/mm.h and
``mmap_action_prepare()``, ``mmap_action_complete()``, ``mmap_action_finish()``,
``call_vma_mapped()`` and ``maybe_rmap_unlock_action()`` (mm/util.c,
mm/internal.h) as of the "expand mmap_prepare functionality" v4 series, plus the
per-action prepare steps of mm/memory.c (``remap_pfn_range_prepare()``,
``io_remap_pfn_range_prepare()``, ``simple_ioremap_prepare()``,
``map_kernel_pages_prepare()``).

Prepare steps run on the descriptor, *before* the merge decision, so the flags
they set (VM_IO|VM_PFNMAP|..., VM_MIXEDMAP) are visible to it.  Complete steps
run on the new VMA after insertion; then ``vm_ops->mapped``, then the success
hook.  On error the rmap lock is dropped first, then the VMA is unmapped, then
the error hook may rewrite the error.
"""

from __future__ import annotations

import errno

from .errors import KernelError
from .flags import PAGE_SIZE
from .hooks import call_hook
from .memory import do_remap_pfn_range, insert_pages, simple_ioremap_prep
from .mm_types import (
    MmapAction,
    MmapActionType,
    MmStruct,
    Ref,
    VmAreaDesc,
    VmAreaStruct,
    vma_desc_is_cow_mapping,
    vma_desc_set_flags,
    vma_desc_test,
)
from .page_alloc import Page
from .pgtable import pgprot_decrypted
from .vma import do_vmi_munmap
from .vma_flags import (
    VMA_DONTDUMP_BIT,
    VMA_DONTEXPAND_BIT,
    VMA_IO_BIT,
    VMA_MIXEDMAP_BIT,
    VMA_PFNMAP_BIT,
)

__all__ = [
    "mmap_action_remap", "mmap_action_remap_full", "mmap_action_ioremap",
    "mmap_action_ioremap_full", "mmap_action_simple_ioremap", "mmap_action_map_kernel_pages",
    "mmap_action_map_kernel_pages_full", "mmap_action_prepare", "mmap_action_complete",
    "call_vma_mapped", "range_in_vma_desc",
]

T = MmapActionType


def _warn(desc: VmAreaDesc, msg: str) -> None:
    mm = desc.mm
    if mm is not None:
        mm.warn(msg)


# -- helpers a driver calls from mmap_prepare (include/linux/mm.h) -------------

def mmap_action_remap(desc: VmAreaDesc, start: int, start_pfn: int, size: int) -> None:
    """``mmap_action_remap()``: remap ``size`` bytes at ``start`` to ``start_pfn``.

    Warns (``WARN_ON_ONCE``) when the range is outside the descriptor; the
    prepare step then fails it with EFAULT.
    """
    if start < desc.start or start >= desc.end or start + size > desc.end:
        _warn(desc, f"mmap_action_remap: {start:#x}+{size:#x} outside {desc.start:#x}-"
              f"{desc.end:#x}")
    a = desc.action
    a.type = T.MMAP_REMAP_PFN
    a.remap_start, a.remap_start_pfn, a.remap_size = start, start_pfn, size
    a.remap_pgprot = desc.page_prot


def mmap_action_remap_full(desc: VmAreaDesc, start_pfn: int) -> None:
    """``mmap_action_remap_full()``: the whole proposed VMA."""
    mmap_action_remap(desc, desc.start, start_pfn, desc.end - desc.start)


def mmap_action_ioremap(desc: VmAreaDesc, start: int, start_pfn: int, size: int) -> None:
    """``mmap_action_ioremap()``: as remap, for I/O memory."""
    mmap_action_remap(desc, start, start_pfn, size)
    desc.action.type = T.MMAP_IO_REMAP_PFN


def mmap_action_ioremap_full(desc: VmAreaDesc, start_pfn: int) -> None:
    """``mmap_action_ioremap_full()``."""
    mmap_action_ioremap(desc, desc.start, start_pfn, desc.end - desc.start)


def mmap_action_simple_ioremap(desc: VmAreaDesc, start_phys_addr: int, size: int) -> None:
    """``mmap_action_simple_ioremap()`` (v4 11/21): ``vm_iomap_memory()`` for mmap_prepare.

    Maps the physical region ``[start_phys_addr, +size)`` honouring ``desc.pgoff``;
    the checks run at prepare time.  Drivers may adjust ``desc.page_prot`` first.
    """
    a = desc.action
    a.type = T.MMAP_SIMPLE_IO_REMAP
    a.simple_ioremap_start_phys_addr = start_phys_addr
    a.simple_ioremap_size = size


def mmap_action_map_kernel_pages(desc: VmAreaDesc, start: int, pages: list[Page],
                                 nr_pages: int) -> None:
    """``mmap_action_map_kernel_pages()`` (v4 20/21): ``vm_insert_pages()`` for mmap_prepare."""
    a = desc.action
    a.type = T.MMAP_MAP_KERNEL_PAGES
    a.map_kernel_start = start
    a.map_kernel_pages = pages
    a.map_kernel_nr_pages = nr_pages
    a.map_kernel_pgoff = desc.pgoff


def mmap_action_map_kernel_pages_full(desc: VmAreaDesc, pages: list[Page]) -> None:
    """``mmap_action_map_kernel_pages_full()``: as many pages as the VMA has, from its start."""
    mmap_action_map_kernel_pages(desc, desc.start, pages, (desc.end - desc.start) // PAGE_SIZE)


def range_in_vma_desc(desc: VmAreaDesc, start: int, end: int) -> bool:
    """``range_in_vma_desc()`` (v4 20/21)."""
    return desc.start <= start and end <= desc.end


# -- prepare steps (mm/memory.c, mm/internal.h) -----------------------------------

def remap_pfn_range_prepare(desc: VmAreaDesc) -> int:
    """``remap_pfn_range_prepare()``: range check (v4 21/21), COW pgoff rule, VM_REMAP_FLAGS."""
    a = desc.action
    start, end = a.remap_start, a.remap_start + a.remap_size
    if not range_in_vma_desc(desc, start, end):
        return -errno.EFAULT
    if vma_desc_is_cow_mapping(desc):
        if start != desc.start or end != desc.end:
            return -errno.EINVAL
        desc.pgoff = a.remap_start_pfn
    vma_desc_set_flags(desc, VMA_IO_BIT, VMA_PFNMAP_BIT, VMA_DONTEXPAND_BIT, VMA_DONTDUMP_BIT)
    return 0


def io_remap_pfn_range_prepare(desc: VmAreaDesc) -> int:
    """``io_remap_pfn_range_prepare()``: transform pfn/prot, then it is a plain remap."""
    a = desc.action
    a.remap_pgprot = pgprot_decrypted(a.remap_pgprot)  # as captured (C5)
    err = remap_pfn_range_prepare(desc)
    if err:
        return err
    a.type = T.MMAP_REMAP_PFN
    return 0


def simple_ioremap_prepare(desc: VmAreaDesc) -> int:
    """``simple_ioremap_prepare()``: ``vm_iomap_memory()``'s checks, then a full io remap."""
    a = desc.action
    try:
        pfn = simple_ioremap_prep(desc.end - desc.start, desc.pgoff,
                                  a.simple_ioremap_start_phys_addr, a.simple_ioremap_size)
    except KernelError as exc:
        return -exc.errno
    mmap_action_ioremap_full(desc, pfn)
    return io_remap_pfn_range_prepare(desc)


def map_kernel_pages_prepare(desc: VmAreaDesc) -> int:
    """``map_kernel_pages_prepare()``: set VM_MIXEDMAP, then EFAULT if out of range."""
    if not vma_desc_test(desc, VMA_MIXEDMAP_BIT):
        if vma_desc_test(desc, VMA_PFNMAP_BIT):
            _warn(desc, "map_kernel_pages on a VM_PFNMAP descriptor")
        vma_desc_set_flags(desc, VMA_MIXEDMAP_BIT)
    a = desc.action
    end = a.map_kernel_start + PAGE_SIZE * a.map_kernel_nr_pages
    if not range_in_vma_desc(desc, a.map_kernel_start, end):
        return -errno.EFAULT
    return 0


_PREPARE = {
    T.MMAP_NOTHING: None,
    T.MMAP_REMAP_PFN: remap_pfn_range_prepare,
    T.MMAP_IO_REMAP_PFN: io_remap_pfn_range_prepare,
    T.MMAP_SIMPLE_IO_REMAP: simple_ioremap_prepare,
    T.MMAP_MAP_KERNEL_PAGES: map_kernel_pages_prepare,
}


def mmap_action_prepare(desc: VmAreaDesc) -> int:
    """``mmap_action_prepare()``: run the action's prepare step on the descriptor."""
    a = desc.action
    if not isinstance(a, MmapAction) or a.type not in _PREPARE:
        _warn(desc, f"mmap_action_prepare: invalid action {a!r}")
        return -errno.EINVAL
    step = _PREPARE[a.type]
    if step is None:
        return 0
    mm = desc.mm
    if mm is not None:
        mm.trace.step(step.__name__, a.type.name)
    return step(desc)


# -- complete / finish (mm/util.c) --------------------------------------------------

def call_vma_mapped(mm: MmStruct, vma: VmAreaStruct) -> int:
    """``call_vma_mapped()``: ``vm_ops->mapped(start, end, pgoff, file, &private_data)``."""
    ops = vma.vm_ops
    if ops is None or ops.mapped is None:
        return 0
    priv = Ref(vma.vm_private_data)
    with mm.trace.enter(f"{ops.name}->mapped", f"{vma.vm_start:#x}-{vma.vm_end:#x}"):
        if err := mm.injected_error("mapped"):
            return err
        err = call_hook(f"{ops.name}->mapped", ops.mapped, vma.vm_start, vma.vm_end,
                        vma.vm_pgoff, vma.vm_file, priv)
    if err:
        return err
    vma.vm_private_data = priv.value
    return 0


def maybe_rmap_unlock_action(vma: VmAreaStruct, action: MmapAction) -> None:
    """``maybe_rmap_unlock_action()``: drop the rmap lock held since ``vma_link_file``."""
    if action.hide_from_rmap_until_complete:
        file = vma.vm_file
        if file is not None:
            file.f_mapping.i_mmap_rwsem.up_write()
        action.hide_from_rmap_until_complete = False


def map_kernel_pages_complete(mm: MmStruct, vma: VmAreaStruct, a: MmapAction) -> int:
    """``map_kernel_pages_complete()`` (v4 20/21): ``insert_pages()`` of ``nr_pages``.

    D8: the kernel reads ``nr_pages`` entries of the caller's array whatever its length
    (the HOWTO makes enough entries the caller's duty), so a short array is read past its
    end: undefined behaviour, which KASAN reports as ``slab-out-of-bounds``.  The model
    cannot map what lies beyond the array.  What it does: it maps the pages the array
    has, records that KASAN report in ``mm.warnings`` (and the trace), and leaves the
    rest of the VMA without PTEs; the mmap succeeds, as it would have in the kernel
    unless the garbage beyond the array happened to fail validation.
    """
    pages = a.map_kernel_pages
    nr = a.map_kernel_nr_pages
    if len(pages) < nr:
        mm.warn(f"KASAN: slab-out-of-bounds in map_kernel_pages_complete: {nr} pages to "
                f"map from a {len(pages)}-entry array (read past its end; the model maps "
                f"the {len(pages)} it has)")
    return insert_pages(vma, a.map_kernel_start, pages[:nr], vma.vm_page_prot)


def _complete_step(mm: MmStruct, vma: VmAreaStruct, a: MmapAction) -> int:
    if a.type is T.MMAP_NOTHING:
        return 0  # nothing to do, nothing that can fail
    if err := mm.injected_error("mmap_action_complete"):
        return err
    if a.type is T.MMAP_REMAP_PFN:
        try:
            do_remap_pfn_range(vma, a.remap_start, a.remap_start_pfn, a.remap_size,
                               a.remap_pgprot)  # as captured, even zero (C5)
        except KernelError as exc:
            return -exc.errno
        return 0
    if a.type is T.MMAP_MAP_KERNEL_PAGES:
        return map_kernel_pages_complete(mm, vma, a)
    mm.warn(f"mmap_action_complete: {a.type.name} should have been delegated at prepare time")
    return -errno.EINVAL


def mmap_action_complete(mm: MmStruct, vma: VmAreaStruct, action: MmapAction,
                         is_compat: bool = False) -> int:
    """``mmap_action_complete()``: do the action on the inserted VMA, then finish."""
    with mm.trace.enter("mmap_action_complete", action.type.name):
        err = _complete_step(mm, vma, action)
        return mmap_action_finish(mm, vma, action, err, is_compat)


def _v4_compat_unmap(mm: MmStruct, start: int, end: int) -> None:
    """D7, v4 as posted: ``do_munmap(vm_start, len)`` from the compat layer.

    The compat caller's VMA was never inserted, so the unmap acts on whatever the tree
    holds in the range.  During an mmap that is the VMAs being replaced (MAP_FIXED over
    old mappings): ``vms_gather_munmap_vmas()`` left them in the kernel's tree, already
    closed and marked detached, and tearing them down again hits the WARN in
    ``vma_mark_detached()`` (syzbot; fixed by 619eab23e1ce).  The model takes gathered
    VMAs out of its tree at gather time, so it reports that WARN for them instead of
    freeing them twice, then runs the unmap on its tree.  With nothing to overlap
    nothing is found and nothing is reported, as in the kernel.
    """
    gathered = mm.vms_in_flight
    replaced = [v for v in (gathered.detached if gathered is not None else ())
                if v.vm_start < end and v.vm_end > start]
    for old in replaced:
        mm.warn(f"vma_mark_detached: VMA {old.vm_start:#x}-{old.vm_end:#x} is already "
                "detached (v4's compat do_munmap tore down a VMA that MAP_FIXED was "
                "replacing)")
    with mm.trace.enter("do_munmap", f"v4 compat: {start:#x}-{end:#x} on the tree"):
        do_vmi_munmap(mm, start, end)


def mmap_action_finish(mm: MmStruct, vma: VmAreaStruct, action: MmapAction, err: int,
                       is_compat: bool) -> int:
    """``mmap_action_finish()`` (v4): mapped, success hook; on error unlock, unmap, error hook.

    With the 619eab23e1ce fix, compat callers get the error back without an
    unmap (their VMA was never inserted; the outer ->mmap path cleans up).

    The error hook's result *is* the result (D6, v4 07/21 and 08/21): one that returns
    0 makes this return 0 after the VMA was unmapped, and ``__mmap_region()`` then
    reports success with the address of a mapping that no longer exists.  The kernel
    only warns (a debug-build WARN) and documents it as the caller's bug: an error hook
    may change the error, never clear it.  The model does the same, so such an mmap
    "succeeds" with nothing mapped, and ``mm.warnings`` says why.
    """
    if not err:
        err = call_vma_mapped(mm, vma)
    if not err and action.success_hook is not None:
        mm.trace.step("success_hook")
        err = mm.injected_error("success_hook") or call_hook(
            "mmap_action.success_hook", action.success_hook, vma)
    maybe_rmap_unlock_action(vma, action)
    if not err:
        return 0
    if is_compat and not mm.config.compat_unmap_on_error:
        return err
    start, end = vma.vm_start, vma.vm_end
    if vma.detached:
        _v4_compat_unmap(mm, start, end)
    else:
        with mm.trace.enter("do_munmap", f"undo the failed mapping {start:#x}-{end:#x}"):
            do_vmi_munmap(mm, start, end)
    if action.error_hook is not None:
        new = call_hook("mmap_action.error_hook", action.error_hook, err)
        if not new:
            mm.warn(f"mmap_action error_hook turned {err} into 0: mmap will report success "
                    f"for {start:#x}-{end:#x}, which it has just unmapped (a caller bug)")
        err = new
    return err

