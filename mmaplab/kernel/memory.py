"""Page faults and the helpers drivers use to fill page tables.

Models mm/memory.c (Linux 7.0 + the v4 series): ``handle_mm_fault()`` with
``do_anonymous_page()``, ``do_fault()``/``do_cow_fault()``, ``do_wp_page()``;
``anon_vma_prepare()`` with ``find_mergeable_anon_vma()`` (mm/rmap.c,
mm/vma.c); and the driver helpers ``remap_pfn_range()``,
``io_remap_pfn_range()``, ``vm_iomap_memory()``, ``vm_insert_page()``,
``vm_insert_pages()``, ``vm_map_pages[_zero]()``, ``zap_vma_ptes()``.
"""

from __future__ import annotations

import errno

from .errors import BusError, KernelError, SegmentationFault, kerr
from .filemap import VM_FAULT_NOPAGE, VM_FAULT_OOM, VM_FAULT_SIGBUS, VM_FAULT_SIGSEGV
from .flags import (
    PAGE_MASK,
    PAGE_SHIFT,
    PAGE_SIZE,
    VM_ACCESS_FLAGS,
    VM_REMAP_FLAGS,
    VMFlag,
    is_cow_mapping,
)
from .hooks import Deferred, call_hook
from .mm_types import AnonVma, MmStruct, VmAreaStruct, VmFault
from .page_alloc import ZERO_PAGE, Page, alloc_page, pfn_to_page
from .pgtable import Pgprot, Pte, pgprot_decrypted

__all__ = ["handle_mm_fault", "populate_vma_page_range", "mm_populate", "anon_vma_prepare",
           "remap_pfn_range", "io_remap_pfn_range",
           "vm_iomap_memory", "vm_insert_page", "vm_insert_pages", "vm_map_pages",
           "vm_map_pages_zero", "zap_vma_ptes", "do_remap_pfn_range", "insert_pages",
           "get_remap_pgoff", "simple_ioremap_prep", "vmf_insert_pfn"]


# -- anon_vma -------------------------------------------------------------------

def _anon_vma_compatible(a: VmAreaStruct, b: VmAreaStruct) -> bool:
    """``anon_vma_compatible()``: a directly below b, same file, linear pgoff, flags
    equal except for access bits and soft-dirty."""
    return (
        a.vm_end == b.vm_start
        and a.vm_file is b.vm_file
        and not ((a.vm_flags ^ b.vm_flags) & ~(VM_ACCESS_FLAGS | VMFlag.SOFTDIRTY))
        and b.vm_pgoff == a.vm_pgoff + ((b.vm_start - a.vm_start) >> PAGE_SHIFT)
    )


def _reusable_anon_vma(old: VmAreaStruct, a: VmAreaStruct, b: VmAreaStruct) -> AnonVma | None:
    """``reusable_anon_vma()``: a neighbour's anon_vma, if its chain is singular."""
    if _anon_vma_compatible(a, b) and old.anon_vma is not None and len(old.anon_vma_chain) == 1:
        return old.anon_vma
    return None


def find_mergeable_anon_vma(mm: MmStruct, vma: VmAreaStruct) -> AnonVma | None:
    """``find_mergeable_anon_vma()``: try next, then prev, so they may merge later."""
    nxt = mm.mt.next_after(vma.vm_end)
    if nxt is not None:
        found = _reusable_anon_vma(nxt, vma, nxt)
        if found is not None:
            return found
    prev = mm.mt.prev(vma.vm_start)
    if prev is not None:
        return _reusable_anon_vma(prev, prev, vma)
    return None


def anon_vma_prepare(mm: MmStruct, vma: VmAreaStruct) -> None:
    """``anon_vma_prepare()``: attach an anon_vma before the first anonymous page."""
    if vma.anon_vma is not None:
        return
    if mm.should_fail("anon_vma_prepare"):
        raise kerr(errno.ENOMEM, "VM_FAULT_OOM: anon_vma_prepare could not allocate")
    anon = find_mergeable_anon_vma(mm, vma) or AnonVma()
    vma.anon_vma = anon
    vma.anon_vma_chain = (anon,)
    if mm.trace.enabled:
        mm.trace.step("anon_vma_prepare", f"{anon!r}")


# -- faults ---------------------------------------------------------------------

def _new_anon_page(mm: MmStruct) -> Page:
    if mm.should_fail("alloc_page"):
        raise kerr(errno.ENOMEM, "VM_FAULT_OOM: no page for the fault")
    return alloc_page("anon")


def _map_page(mm: MmStruct, vma: VmAreaStruct, addr: int, page: Page, writable: bool) -> Pte:
    prot = vma.vm_page_prot | Pgprot.RW if writable else vma.vm_page_prot & ~Pgprot.RW
    page.mapcount += 1
    page.refcount += 1
    pte = Pte(page.pfn, prot, page, dirty=writable)
    mm.pagetable.set(addr, pte)
    return pte


def _check_fault_result(ret: int, vma: VmAreaStruct, addr: int) -> None:
    if ret & VM_FAULT_OOM:
        raise kerr(errno.ENOMEM, f"VM_FAULT_OOM at {addr:#x}")
    if ret & VM_FAULT_SIGBUS:
        raise BusError(f"the fault handler of VMA {vma.vm_start:#x}-{vma.vm_end:#x} "
                       f"returned VM_FAULT_SIGBUS for {addr:#x}")
    if ret & VM_FAULT_SIGSEGV:
        raise SegmentationFault(f"the fault handler returned VM_FAULT_SIGSEGV for {addr:#x}")


def _do_fault(mm: MmStruct, vma: VmAreaStruct, addr: int, write: bool) -> Pte:
    """``do_fault()``: ask ``vm_ops->fault`` for the page; COW it for private writes."""
    ops = vma.vm_ops
    if ops is None or ops.fault is None:
        raise BusError(f"VMA {vma.vm_start:#x}-{vma.vm_end:#x} has no fault handler "
                       f"(nothing was mapped at {addr:#x})")
    pgoff = vma.vm_pgoff + ((addr - vma.vm_start) >> PAGE_SHIFT)
    vmf = VmFault(vma, addr, pgoff, write)
    mm.trace.step(f"{ops.name}->fault", f"{addr:#x}")
    ret = call_hook(f"{ops.name}->fault", ops.fault, vmf, vm_fault=True)
    _check_fault_result(ret, vma, addr)
    if ret & VM_FAULT_NOPAGE:
        pte = mm.pagetable.lookup(addr)
        if pte is None:
            raise BusError(f"{ops.name}->fault returned VM_FAULT_NOPAGE but mapped nothing")
        return pte
    if vmf.page is None:
        raise BusError(f"{ops.name}->fault returned 0 without setting vmf.page")
    if write and VMFlag.SHARED not in vma.vm_flags:
        anon_vma_prepare(mm, vma)
        return _map_page(mm, vma, addr, _new_anon_page(mm), True)
    if write and ops.page_mkwrite is not None:
        ret = call_hook(f"{ops.name}->page_mkwrite", ops.page_mkwrite, vmf, vm_fault=True)
        _check_fault_result(ret, vma, addr)
    return _map_page(mm, vma, addr, vmf.page, write and VMFlag.SHARED in vma.vm_flags)


def _do_wp_page(mm: MmStruct, vma: VmAreaStruct, addr: int, pte: Pte) -> Pte:
    """``do_wp_page()``: write to a present read-only PTE in a writable VMA."""
    if VMFlag.SHARED in vma.vm_flags:
        pte.prot |= Pgprot.RW
        pte.dirty = True
        return pte
    page = pte.page
    if page is not None and page.kind == "anon" and page.mapcount == 1:
        pte.prot |= Pgprot.RW  # exclusive anonymous page: reuse it
        pte.dirty = True
        return pte
    anon_vma_prepare(mm, vma)
    new = _new_anon_page(mm)  # wp_page_copy(): allocate first; on failure the PTE stays
    mm.pagetable.zap(addr, addr + PAGE_SIZE)
    return _map_page(mm, vma, addr, new, True)


def handle_mm_fault(mm: MmStruct, addr: int, write: bool) -> Pte:
    """``handle_mm_fault()`` after the arch checks (``lock_mm_and_find_vma``, x86
    ``access_error``): SIGSEGV without a VMA or permission; otherwise fill the PTE."""
    with mm.trace.enter("handle_mm_fault", f"{addr:#x} {'write' if write else 'read'}"
                        if mm.trace.enabled else ""):
        vma = mm.mt.lookup(addr)
        if vma is None:
            raise SegmentationFault(f"no mapping at {addr:#x}")
        if write and VMFlag.WRITE not in vma.vm_flags:
            raise SegmentationFault(f"write to {addr:#x} in a mapping without PROT_WRITE")
        if not write and not vma.vm_flags & VM_ACCESS_FLAGS:
            raise SegmentationFault(f"read of {addr:#x} in a PROT_NONE mapping")
        if not write and mm.pku and (vma.vm_flags & VM_ACCESS_FLAGS) == VMFlag.EXEC:
            raise SegmentationFault(f"read of {addr:#x} in an execute-only (pkey) mapping")
        page_addr = addr & PAGE_MASK
        pte = mm.pagetable.lookup(page_addr)
        if pte is not None:
            if write and not pte.writable:
                return _do_wp_page(mm, vma, page_addr, pte)
            return pte
        if vma.vm_ops is None and (vma.vm_file is None or vma.null_vm_ops):
            # vma_is_anonymous(): do_anonymous_page(), which refuses a shared file VMA
            # ("File mapping without ->vm_ops?") with SIGBUS.
            if vma.vm_file is not None and VMFlag.SHARED in vma.vm_flags:
                raise BusError(f"shared file mapping {vma.vm_start:#x}-{vma.vm_end:#x} "
                               "has NULL vm_ops: do_anonymous_page() refuses it")
            if not write:
                return _map_page(mm, vma, page_addr, ZERO_PAGE, False)
            anon_vma_prepare(mm, vma)
            return _map_page(mm, vma, page_addr, _new_anon_page(mm), True)
        return _do_fault(mm, vma, page_addr, write)


def populate_vma_page_range(mm: MmStruct, vma: VmAreaStruct, start: int, end: int) -> int:
    """``populate_vma_page_range()`` (mm/gup.c, Linux 7.0): fault in ``[start, end)``.

    Private writable mappings are touched with write faults, to break COW now;
    others with (forced) read faults.  VM_LOCKONFAULT mappings are left alone:
    their pages come in on first touch.  Returns 0, or the negative errno
    ``__get_user_pages()`` would give at the first page that cannot be faulted
    in (-EFAULT for SIGBUS/SIGSEGV and for a PROT_NONE VMA, which gup refuses
    without FOLL_FORCE; -ENOMEM for an OOM); the pages before it stay populated.
    """
    if VMFlag.LOCKONFAULT in vma.vm_flags:
        return 0
    if vma.vm_flags & (VMFlag.IO | VMFlag.PFNMAP) or not vma.vm_flags & VM_ACCESS_FLAGS:
        return -errno.EFAULT  # check_vma_flags(): gup never touches these
    if mm.pku and (vma.vm_flags & VM_ACCESS_FLAGS) == VMFlag.EXEC:
        return -errno.EFAULT  # arch_vma_access_permitted(): the execute-only pkey
    write = (vma.vm_flags & (VMFlag.WRITE | VMFlag.SHARED)) == VMFlag.WRITE
    for addr in range(start, end, PAGE_SIZE):
        try:
            handle_mm_fault(mm, addr, write)
        except KernelError as exc:
            return -(exc.errno or errno.EFAULT)
    return 0


def mm_populate(mm: MmStruct, start: int, length: int, ignore_errors: bool) -> int:
    """``__mm_populate()`` (mm/gup.c, Linux 7.0): populate every VMA of the range.

    VM_IO/VM_PFNMAP VMAs are skipped.  With ``ignore_errors`` (``mm_populate()``:
    mmap's MAP_POPULATE/MAP_LOCKED, mlockall, brk and mremap of a locked mapping) a
    failing VMA is passed over and the call that asked for the populate succeeds, its
    mapping in place; otherwise (mlock) the first error is returned as a negative errno.

    A fault handler that misbehaves (returns a negative errno or garbage, raises) is
    named by a report that, inside a system call, is raised on the way out.  When the
    errors are ignored the kernel gives no sign at all; the model records that report
    in ``mm.warnings`` instead, so the broken hook is still named but the mmap returns
    its address as Linux's does.
    """
    if not ignore_errors:
        return _populate_range(mm, start, start + length, ignore_errors)
    with Deferred() as ignored:
        _populate_range(mm, start, start + length, ignore_errors)
    if ignored.report is not None:
        mm.warn(f"__mm_populate ignored a fault error (the mapping stays): {ignored.report}")
    return 0


def _populate_range(mm: MmStruct, start: int, end: int, ignore_errors: bool) -> int:
    """The loop of ``__mm_populate()``: one ``populate_vma_page_range()`` per VMA."""
    for vma in list(mm.mt.range(start, end)):
        if vma.vm_flags & (VMFlag.IO | VMFlag.PFNMAP):
            continue
        ret = populate_vma_page_range(mm, vma, max(start, vma.vm_start), min(end, vma.vm_end))
        if ret < 0 and not ignore_errors:
            return ret
    return 0


# -- pfn remapping --------------------------------------------------------------

def get_remap_pgoff(flags: VMFlag, addr: int, end: int, vm_start: int, vm_end: int,
                    pfn: int) -> int | None:
    """``get_remap_pgoff()``: a COW mapping must be remapped whole; its pgoff becomes pfn.

    Returns the new pgoff (``None``: unchanged); raises EINVAL for a partial COW remap.
    """
    if is_cow_mapping(flags):
        if addr != vm_start or end != vm_end:
            raise kerr(errno.EINVAL, "a private writable (COW) mapping may only be remapped "
                       "as a whole")
        return pfn
    return None


def _pte_alloc(mm: MmStruct) -> None:
    if mm.should_fail("pte_alloc"):
        raise kerr(errno.ENOMEM, "out of memory allocating a page table")


def do_remap_pfn_range(vma: VmAreaStruct, addr: int, pfn: int, size: int,
                       prot: Pgprot) -> None:
    """``remap_pfn_range_internal()`` (mm/memory.c, 7.0): write special PTEs; on failure
    zap what was written.

    D5: there is no check that the range lies in the VMA (v4 21/21 added one to the
    prepare path only, ``remap_pfn_range_prepare()``).  A legacy driver that remaps past
    ``vm_end`` gets PTEs written where no VMA covers them, as in the kernel: munmap never
    clears them (they are only found at exit).  The model does the same and says so in
    the trace.  An unaligned ``addr`` is a WARN and EINVAL; an empty range is a
    ``BUG_ON(addr >= end)`` in the kernel, here a WARN and EINVAL.
    """
    mm = vma.vm_mm
    assert mm is not None  # a VMA handed to a driver is linked into an mm
    if addr & ~PAGE_MASK:
        mm.warn(f"remap_pfn_range_internal: address {addr:#x} is not page aligned")
        raise kerr(errno.EINVAL, f"remap address {addr:#x} is not page aligned")
    end = addr + ((size + PAGE_SIZE - 1) & PAGE_MASK)
    if addr >= end:
        mm.warn(f"BUG: remap_pfn_range_internal: empty range at {addr:#x} (BUG_ON(addr >= "
                "end) in the kernel: the task would be killed)")
        raise kerr(errno.EINVAL, "remap_pfn_range of an empty range")
    if addr < vma.vm_start or end > vma.vm_end:
        mm.trace.step("remap_pfn_range", f"{addr:#x}-{end:#x} is outside VMA "
                      f"{vma.vm_start:#x}-{vma.vm_end:#x}: the kernel does not check, the "
                      "PTEs land outside the VMA")
    with mm.trace.enter("remap_pfn_range_internal", f"{addr:#x}-{end:#x} -> pfn {pfn:#x}"):
        try:
            for i, va in enumerate(range(addr, end, PAGE_SIZE)):
                if i % 512 == 0:
                    _pte_alloc(mm)
                mm.pagetable.set(va, Pte(pfn + i, prot, None, special=True))
        except KernelError:
            mm.pagetable.zap(addr, end)
            raise


def remap_pfn_range(vma: VmAreaStruct, addr: int, pfn: int, size: int,
                    prot: Pgprot) -> int:
    """``remap_pfn_range()`` (legacy, on a built VMA): flags, COW pgoff rule, PTEs.

    Returns 0 or a negative errno, like the C function.
    """
    try:
        pgoff = get_remap_pgoff(vma.vm_flags, addr, addr + size, vma.vm_start, vma.vm_end, pfn)
        if pgoff is not None:
            vma.vm_pgoff = pgoff
        vma.vm_flags |= VM_REMAP_FLAGS
        do_remap_pfn_range(vma, addr, pfn, size, prot)
    except KernelError as exc:
        return -exc.errno
    return 0


def io_remap_pfn_range(vma: VmAreaStruct, addr: int, pfn: int, size: int,
                       prot: Pgprot) -> int:
    """``io_remap_pfn_range()``: remap of I/O memory (identity pfn transform on x86)."""
    return remap_pfn_range(vma, addr, pfn, size, pgprot_decrypted(prot))


def simple_ioremap_prep(vm_len: int, vm_pgoff: int, start_phys: int, size: int) -> int:
    """``__simple_ioremap_prep()`` (v4 11/21): the checks shared by ``vm_iomap_memory()``
    and ``mmap_action_simple_ioremap()``; returns the first pfn to map or raises EINVAL."""
    if start_phys + size >= 1 << 64:
        raise kerr(errno.EINVAL, "physical range overflows")
    size += start_phys & ~PAGE_MASK
    pfn = start_phys >> PAGE_SHIFT
    pages = (size + PAGE_SIZE - 1) >> PAGE_SHIFT
    if pfn + pages >= 1 << 64:
        raise kerr(errno.EINVAL, "pfn range overflows")
    if vm_pgoff > pages:
        raise kerr(errno.EINVAL, f"offset of {vm_pgoff} pages is beyond the {pages}-page region")
    pfn += vm_pgoff
    pages -= vm_pgoff
    if (vm_len >> PAGE_SHIFT) > pages:
        raise kerr(errno.EINVAL, f"mapping of {vm_len >> PAGE_SHIFT} pages does not fit in the "
                   f"{pages} pages of the region left after the offset")
    return pfn


def vm_iomap_memory(vma: VmAreaStruct, start: int, length: int) -> int:
    """``vm_iomap_memory()``: map a physical region, honouring the mapping's offset."""
    try:
        pfn = simple_ioremap_prep(vma.vm_end - vma.vm_start, vma.vm_pgoff, start, length)
    except KernelError as exc:
        return -exc.errno
    return io_remap_pfn_range(vma, vma.vm_start, pfn, vma.vm_end - vma.vm_start,
                              vma.vm_page_prot)


def vmf_insert_pfn(vma: VmAreaStruct, addr: int, pfn: int) -> int:
    """``vmf_insert_pfn()`` from a fault handler: returns ``VM_FAULT_NOPAGE``."""
    mm = vma.vm_mm
    assert mm is not None  # a VMA handed to a driver is linked into an mm
    mm.pagetable.set(addr & PAGE_MASK, Pte(pfn, vma.vm_page_prot, None, special=True))
    return VM_FAULT_NOPAGE


# -- inserting kernel pages ---------------------------------------------------------

def _set_mixedmap(vma: VmAreaStruct) -> None:
    if VMFlag.MIXEDMAP not in vma.vm_flags:
        if VMFlag.PFNMAP in vma.vm_flags and vma.vm_mm is not None:
            vma.vm_mm.warn("vm_insert_page on a VM_PFNMAP mapping")
        vma.vm_flags |= VMFlag.MIXEDMAP


def vm_mixed_zeropage_allowed(vma: VmAreaStruct) -> bool:
    """``vm_mixed_zeropage_allowed()`` (mm/memory.c, 7.0): may the shared zero page be
    inserted?  In a COW mapping, in one that can never be writable, or with
    ``pfn_mkwrite`` on a VM_IO mapping (the fsdax case is not modelled)."""
    if VMFlag.PFNMAP in vma.vm_flags and vma.vm_mm is not None:
        vma.vm_mm.warn("vm_mixed_zeropage_allowed on a VM_PFNMAP mapping")
    if is_cow_mapping(vma.vm_flags):
        return True
    if not vma.vm_flags & (VMFlag.WRITE | VMFlag.MAYWRITE):
        return True
    ops = vma.vm_ops
    return ops is not None and ops.pfn_mkwrite is not None and VMFlag.IO in vma.vm_flags


def validate_page_before_insert(vma: VmAreaStruct, page: Page) -> int:
    """``validate_page_before_insert()`` (mm/memory.c, 7.0): 0, or -EINVAL for a page
    that cannot be inserted: a free page (refcount 0), an anonymous page, or the zero
    page where ``vm_mixed_zeropage_allowed()`` says no.  (Typed pages, ``page_has_type()``,
    do not exist in the model.)"""
    if page.refcount <= 0:
        return -errno.EINVAL
    if page.kind == "zero":
        return 0 if vm_mixed_zeropage_allowed(vma) else -errno.EINVAL
    if page.kind == "anon":
        return -errno.EINVAL
    return 0


def insert_pages(vma: VmAreaStruct, addr: int, pages: list[Page], prot: Pgprot) -> int:
    """``insert_pages()`` (mm/memory.c, 7.0): map each kernel page at successive addresses.

    D9: each page is validated first (EINVAL, :func:`validate_page_before_insert`), and a
    page table entry already present is -EBUSY (``insert_page_into_pte_locked()``).  The
    first error stops the batch; the pages inserted before it stay mapped (the caller
    unmaps, as a failed mmap action does).
    """
    mm = vma.vm_mm
    assert mm is not None  # a VMA handed to a driver is linked into an mm
    try:
        for i, page in enumerate(pages):
            if not isinstance(page, Page):
                # Not a struct page at all (a hook's bug; C could not express it): refused
                # as validate_page_before_insert() refuses a page it cannot insert.
                mm.warn(f"insert_pages: element {i} is {type(page).__name__}, not a page")
                return -errno.EINVAL
            if i % 512 == 0:
                _pte_alloc(mm)
            va = addr + i * PAGE_SIZE
            if err := validate_page_before_insert(vma, page):
                mm.trace.step("insert_pages", f"{page!r} at {va:#x} cannot be inserted: EINVAL")
                return err
            if mm.pagetable.lookup(va) is not None:
                mm.trace.step("insert_pages", f"{va:#x} already has a PTE: EBUSY")
                return -errno.EBUSY
            page.refcount += 1
            page.mapcount += 1
            mm.pagetable.set(va, Pte(page.pfn, prot, page))
    except KernelError as exc:
        return -exc.errno
    return 0


def vm_insert_pages(vma: VmAreaStruct, addr: int, pages: list[Page]) -> int:
    """``vm_insert_pages()``: range must lie in the VMA (EFAULT); sets VM_MIXEDMAP."""
    end = addr + PAGE_SIZE * len(pages)
    if addr < vma.vm_start or end > vma.vm_end:
        return -errno.EFAULT
    _set_mixedmap(vma)
    return insert_pages(vma, addr, pages, vma.vm_page_prot)


def vm_insert_page(vma: VmAreaStruct, addr: int, page: Page) -> int:
    """``vm_insert_page()``: one kernel page (EFAULT outside the VMA)."""
    if addr < vma.vm_start or addr >= vma.vm_end:
        return -errno.EFAULT
    _set_mixedmap(vma)
    return insert_pages(vma, addr, [page], vma.vm_page_prot)


def _vm_map_pages(vma: VmAreaStruct, pages: list[Page], offset: int) -> int:
    """``__vm_map_pages()``: ENXIO if the VMA wants more than the buffer has after offset."""
    count = vma.pages
    num = len(pages)
    if offset >= num:
        return -errno.ENXIO
    if count > num - offset:
        return -errno.ENXIO
    return vm_insert_pages(vma, vma.vm_start, pages[offset:offset + count])


def vm_map_pages(vma: VmAreaStruct, pages: list[Page]) -> int:
    """``vm_map_pages()``: map a kernel buffer, starting ``vm_pgoff`` pages in."""
    return _vm_map_pages(vma, pages, vma.vm_pgoff)


def vm_map_pages_zero(vma: VmAreaStruct, pages: list[Page]) -> int:
    """``vm_map_pages_zero()``: same, ignoring ``vm_pgoff``."""
    return _vm_map_pages(vma, pages, 0)


def zap_vma_ptes(vma: VmAreaStruct, addr: int, size: int) -> None:
    """``zap_vma_ptes()``: remove PTEs a driver inserted."""
    mm = vma.vm_mm
    assert mm is not None  # a VMA handed to a driver is linked into an mm
    mm.pagetable.zap(addr, addr + size)


def page_of(pfn: int) -> Page | None:
    """``pfn_to_page()`` re-exported for drivers."""
    return pfn_to_page(pfn)
