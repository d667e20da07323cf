"""The review's discrepancies (shared/reviews/fidelity.md, D1-D11 and C3-C6), each pinned
to what the kernel does (mm/vma.c, mm/mmap.c, mm/memory.c, mm/util.c @334fbe73 and the v4
series).  Each test names its id; /work/wt/fidelity_D_table.md lists them.
"""

from __future__ import annotations

import errno

import pytest

from mmaplab import (
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_GROWSDOWN,
    MAP_PRIVATE,
    MAP_SHARED,
    MM,
    PAGE_SIZE,
    PROT_READ,
    PROT_WRITE,
    File,
    FileOperations,
    FMode,
    Inode,
    VmOperationsStruct,
)
from mmaplab.kernel.fs import get_file

P = PAGE_SIZE
BASE = 0x7F0000000000
RW = PROT_READ | PROT_WRITE


def _counting_file() -> tuple[File, list[str]]:
    calls: list[str] = []

    def mapped(start, end, pgoff, file, priv):
        calls.append(f"mapped {(end - start) // P}p pgoff={pgoff}")
        return 0

    ops = VmOperationsStruct(name="d1_vm_ops", mapped=mapped)

    def prepare(desc):
        desc.vm_ops = ops
        return 0

    fops = FileOperations(name="d1_fops", mmap_prepare=prepare)
    return File(Inode("/dev/d1", 64 * P), fops, FMode.READ | FMode.WRITE), calls


def test_d1_failed_merge_prealloc_builds_an_unmerged_vma():
    """D1: __mmap_region() ignores VMA_MERGE_ERROR_NOMEM and goes on to __mmap_new_vma()."""
    file, calls = _counting_file()
    mm = MM()
    mm.mmap(BASE, 2 * P, RW, MAP_SHARED | MAP_FIXED, file, 0)
    with mm.injecting("vma_iter_prealloc", 1):  # the merge's; the new VMA's own succeeds
        assert mm.mmap(BASE + 2 * P, 2 * P, RW, MAP_SHARED | MAP_FIXED, file, 2 * P) \
            == BASE + 2 * P
    assert [(v.vm_start - BASE, v.vm_end - BASE) for v in mm.vmas()] == [(0, 2 * P),
                                                                          (2 * P, 4 * P)]
    assert calls == ["mapped 2p pgoff=0", "mapped 2p pgoff=2"]


def test_d1_anonymous_mmap_too():
    mm = MM()
    mm.mmap(BASE, P, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED)
    with mm.injecting("vma_iter_prealloc", 1):
        mm.mmap(BASE + P, P, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED)
    assert len(mm.vmas()) == 2 and mm.committed_pages == 2


def test_d3_swapped_vm_file_reference_is_dropped_when_vma_alloc_fails():
    """D3: the abort path fputs the file mmap_prepare swapped in (file_doesnt_need_get)."""
    backing = File(Inode("/backing", 16 * P), FileOperations(
        name="backing_fops", mmap_prepare=lambda desc: 0), FMode.READ | FMode.WRITE)

    def prepare(desc):
        desc.vm_file = get_file(backing)
        return 0

    outer = File(Inode("/dev/stacked", 16 * P), FileOperations(
        name="stacked_fops", mmap_prepare=prepare), FMode.READ | FMode.WRITE)
    mm = MM()
    for point in ("vm_area_alloc", "vma_iter_prealloc"):
        with mm.injecting(point), pytest.raises(OSError) as ei:
            mm.mmap(BASE, 2 * P, RW, MAP_SHARED | MAP_FIXED, outer, 0)
        assert ei.value.errno == errno.ENOMEM
        assert backing.f_count == 1 and outer.f_count == 1
    mm.mmap(BASE, 2 * P, RW, MAP_SHARED | MAP_FIXED, outer, 0)
    assert backing.f_count == 2 and outer.f_count == 1  # the VMA owns the swapped reference


def _stacked_over(backing: File) -> File:
    def prepare(desc):
        desc.vm_file = get_file(backing)  # the mapping owns this reference
        return 0

    return File(Inode("/dev/stacked", 16 * P), FileOperations(
        name="stacked_fops", mmap_prepare=prepare), FMode.READ | FMode.WRITE)


@pytest.mark.parametrize("leak", [True, False])
def test_d3_swapped_vm_file_reference_on_a_merge(leak):
    """A swapped file whose range merges with a neighbour mapping it: 7.0 drops the
    owned reference on the abort path only, so after a merge it leaks (mm/vma.c
    ``__mmap_region()`` @334fbe73); ``leak_swapped_file_on_merge=False`` fputs it."""
    from mmaplab.kernel.config import DEFAULT

    backing = File(Inode("/backing", 16 * P), FileOperations(
        name="backing_fops", mmap_prepare=lambda desc: 0), FMode.READ | FMode.WRITE)
    outer = _stacked_over(backing)
    mm = MM(config=DEFAULT.with_options(leak_swapped_file_on_merge=leak))
    mm.mmap(BASE, 2 * P, RW, MAP_SHARED | MAP_FIXED, outer, 0)
    mm.mmap(BASE + 2 * P, 2 * P, RW, MAP_SHARED | MAP_FIXED, outer, 2 * P)
    [vma] = mm.vmas()  # merged: one VMA mapping the backing file
    assert vma.vm_file is backing and (vma.vm_start, vma.vm_end) == (BASE, BASE + 4 * P)
    assert outer.f_count == 1
    assert backing.f_count == (3 if leak else 2)  # ours + the VMA's (+ the leaked one)
    mm.munmap(BASE, 4 * P)
    assert backing.f_count == (2 if leak else 1)


def test_d3_swapped_file_that_does_not_merge_is_owned_by_the_new_vma():
    backing = File(Inode("/backing", 16 * P), FileOperations(
        name="backing_fops", mmap_prepare=lambda desc: 0), FMode.READ | FMode.WRITE)
    outer = _stacked_over(backing)
    mm = MM()
    mm.mmap(BASE, 2 * P, RW, MAP_SHARED | MAP_FIXED, outer, 0)
    mm.mmap(BASE + 2 * P, 2 * P, RW, MAP_SHARED | MAP_FIXED, outer, 8 * P)  # pgoff gap
    assert len(mm.vmas()) == 2 and backing.f_count == 3
    mm.munmap(BASE, 4 * P)
    assert backing.f_count == 1


# -- D5: legacy remap_pfn_range() has no in-VMA range check -------------------------

def _legacy_remapper(nbytes_past_end: int) -> File:
    from mmaplab.kernel.memory import remap_pfn_range

    def legacy(file, vma):
        return remap_pfn_range(vma, vma.vm_start, 0x5000,
                               vma.vm_end - vma.vm_start + nbytes_past_end, vma.vm_page_prot)

    return File(Inode("/dev/remap", 16 * P), FileOperations(name="remap_fops", mmap=legacy),
                FMode.READ | FMode.WRITE)


def test_d5_legacy_remap_past_vm_end_writes_ptes_outside_the_vma():
    mm = MM(trace=True)
    mm.mmap(BASE, 2 * P, PROT_READ, MAP_SHARED | MAP_FIXED, _legacy_remapper(P), 0)
    assert sorted(mm.pagetable.entries()) == [BASE, BASE + P, BASE + 2 * P]
    assert mm.vma_lookup(BASE + 2 * P) is None  # the third PTE is outside every VMA
    pte = mm.pagetable.lookup(BASE + 2 * P)
    assert pte is not None and pte.pfn == 0x5002
    assert "the kernel does not check" in mm.trace.render()
    mm.munmap(BASE, 2 * P)
    assert list(mm.pagetable.entries()) == [BASE + 2 * P]  # munmap never clears it


def test_d5_prepare_path_keeps_its_efault_range_check():
    from mmaplab.kernel.mmap_action import mmap_action_remap

    def prepare(desc):
        mmap_action_remap(desc, desc.start, 0x5000, desc.end - desc.start + P)
        return 0

    f = File(Inode("/dev/remap2", 16 * P), FileOperations(name="r2", mmap_prepare=prepare),
             FMode.READ | FMode.WRITE)
    mm = MM()
    with pytest.raises(OSError) as ei:
        mm.mmap(BASE, 2 * P, PROT_READ, MAP_SHARED | MAP_FIXED, f, 0)
    assert ei.value.errno == errno.EFAULT and len(mm.pagetable) == 0


def test_d5_empty_or_unaligned_remap_warns_and_fails():
    from mmaplab.kernel.memory import remap_pfn_range

    results = []

    def legacy(file, vma):
        results.append(remap_pfn_range(vma, vma.vm_start + 1, 0x5000, P, vma.vm_page_prot))
        results.append(remap_pfn_range(vma, vma.vm_start, 0x5000, 0, vma.vm_page_prot))
        return 0

    f = File(Inode("/dev/r3", 4 * P), FileOperations(name="r3", mmap=legacy), FMode.READ)
    mm = MM()
    mm.mmap(BASE, P, PROT_READ, MAP_SHARED | MAP_FIXED, f, 0)
    assert results == [-errno.EINVAL, -errno.EINVAL]
    assert any("not page aligned" in w for w in mm.warnings)
    assert any("BUG" in w and "empty range" in w for w in mm.warnings)


# -- D7: v4's compat unmap acts on the tree --------------------------------------------

def _stacked_failing() -> File:
    from mmaplab.kernel.compat import vfs_mmap

    def inner_prepare(desc):
        return 0

    def mapped(start, end, pgoff, file, priv):
        return -errno.EIO

    ops = VmOperationsStruct(name="inner_ops", mapped=mapped)

    def prepare(desc):
        desc.vm_ops = ops
        return 0

    inner = File(Inode("/dev/inner", 8 * P), FileOperations(name="inner", mmap_prepare=prepare),
                 FMode.READ | FMode.WRITE)
    return File(Inode("/dev/outer", 8 * P), FileOperations(
        name="outer", mmap=lambda f, vma: vfs_mmap(inner, vma)), FMode.READ | FMode.WRITE)


def test_d7_v4_compat_unmap_over_replaced_vmas_hits_the_detached_warning():
    from mmaplab import V4

    mm = MM(config=V4)
    mm.mmap(BASE, 2 * P, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED)
    with pytest.raises(OSError):
        mm.mmap(BASE, 2 * P, PROT_READ, MAP_SHARED | MAP_FIXED, _stacked_failing(), 0)
    assert [w for w in mm.warnings if "vma_mark_detached" in w]


def test_d7_v4_compat_unmap_with_nothing_there_is_silent():
    from mmaplab import V4

    mm = MM(config=V4)
    with pytest.raises(OSError):
        mm.mmap(BASE, 2 * P, PROT_READ, MAP_SHARED | MAP_FIXED, _stacked_failing(), 0)
    assert mm.warnings == []


# -- D8: map_kernel_pages_full with a short array --------------------------------------

def _kernel_pages_file(pages) -> File:
    from mmaplab.kernel.mmap_action import mmap_action_map_kernel_pages_full

    def prepare(desc):
        mmap_action_map_kernel_pages_full(desc, pages)
        return 0

    return File(Inode("/dev/kp", 16 * P), FileOperations(name="kp", mmap_prepare=prepare),
                FMode.READ | FMode.WRITE)


def test_d8_short_page_array_is_an_out_of_bounds_read_reported_by_kasan():
    from mmaplab.kernel.page_alloc import alloc_pages

    mm = MM()
    mm.mmap(BASE, 4 * P, PROT_READ, MAP_SHARED | MAP_FIXED, _kernel_pages_file(alloc_pages(2)),
            0)
    assert any("KASAN: slab-out-of-bounds" in w for w in mm.warnings)
    assert sorted(mm.pagetable.entries()) == [BASE, BASE + P]  # only what the array has


def test_d8_enough_pages_map_all_of_them():
    from mmaplab.kernel.page_alloc import alloc_pages

    mm = MM()
    mm.mmap(BASE, 4 * P, PROT_READ, MAP_SHARED | MAP_FIXED, _kernel_pages_file(alloc_pages(5)), 0)
    assert len(mm.pagetable) == 4 and mm.warnings == []


# -- D9: insert_pages validates each page ----------------------------------------------

@pytest.mark.parametrize(("kind", "refcount", "want"), [
    ("anon", 1, errno.EINVAL), ("kernel", 0, errno.EINVAL), ("kernel", 1, 0),
])
def test_d9_validate_page_before_insert(kind: str, refcount: int, want: int):
    from mmaplab.kernel.page_alloc import alloc_page

    page = alloc_page(kind)
    page.refcount = refcount
    mm = MM()
    f = _kernel_pages_file([page])
    if want:
        with pytest.raises(OSError) as ei:
            mm.mmap(BASE, P, PROT_READ, MAP_SHARED | MAP_FIXED, f, 0)
        assert ei.value.errno == want and mm.vmas() == []
    else:
        mm.mmap(BASE, P, PROT_READ, MAP_SHARED | MAP_FIXED, f, 0)
        assert len(mm.pagetable) == 1


def test_d9_zero_page_only_where_vm_mixed_zeropage_allowed():
    from mmaplab.kernel.page_alloc import ZERO_PAGE

    mm = MM()
    with pytest.raises(OSError) as ei:  # shared, may become writable: refused
        mm.mmap(BASE, P, PROT_READ, MAP_SHARED | MAP_FIXED, _kernel_pages_file([ZERO_PAGE]), 0)
    assert ei.value.errno == errno.EINVAL
    ro = File(Inode("/dev/kp-ro", 4 * P), _kernel_pages_file([ZERO_PAGE]).f_op, FMode.READ)
    mm.mmap(BASE, P, PROT_READ, MAP_SHARED | MAP_FIXED, ro, 0)  # never writable: allowed
    assert len(mm.pagetable) == 1


def test_d9_present_pte_is_ebusy():
    from mmaplab.kernel.memory import vm_insert_page
    from mmaplab.kernel.page_alloc import alloc_page

    results = []

    def legacy(file, vma):
        page = alloc_page("kernel")
        results.append(vm_insert_page(vma, vma.vm_start, page))
        results.append(vm_insert_page(vma, vma.vm_start, page))
        return 0

    f = File(Inode("/dev/ins", 4 * P), FileOperations(name="ins", mmap=legacy), FMode.READ)
    MM().mmap(BASE, P, PROT_READ, MAP_SHARED | MAP_FIXED, f, 0)
    assert results == [0, -errno.EBUSY]


# -- D10: compat with no vm_ops leaves NULL ops: an anonymous VMA ----------------------

def _stacked_without_ops() -> File:
    from mmaplab.kernel.compat import vfs_mmap

    inner = File(Inode("/dev/noops", 8 * P), FileOperations(
        name="noops", mmap_prepare=lambda desc: 0), FMode.READ | FMode.WRITE)
    return File(Inode("/dev/stack", 8 * P), FileOperations(
        name="stack", mmap=lambda f, vma: vfs_mmap(inner, vma)), FMode.READ | FMode.WRITE)


def test_d10_private_read_fault_maps_the_zero_page():
    from mmaplab import BusError
    from mmaplab.kernel.page_alloc import ZERO_PFN

    mm = MM()
    mm.mmap(BASE, 2 * P, RW, MAP_PRIVATE | MAP_FIXED, _stacked_without_ops(), 0)
    assert mm.fault(BASE).pfn == ZERO_PFN
    assert mm.fault(BASE + P, write=True).page.kind == "anon"
    shared = MM()
    shared.mmap(BASE, P, PROT_READ, MAP_SHARED | MAP_FIXED, _stacked_without_ops(), 0)
    with pytest.raises(BusError):  # do_anonymous_page(): a shared file VMA is SIGBUS
        shared.fault(BASE)


def test_d10_a_direct_mmap_prepare_file_without_ops_still_sigbuses():
    """Only the compat copy-back sets NULL ops; __mmap_region keeps the dummy ops."""
    from mmaplab import BusError

    f = File(Inode("/dev/noops2", 8 * P), FileOperations(
        name="noops2", mmap_prepare=lambda desc: 0), FMode.READ | FMode.WRITE)
    mm = MM()
    mm.mmap(BASE, P, PROT_READ, MAP_PRIVATE | MAP_FIXED, f, 0)
    with pytest.raises(BusError):
        mm.fault(BASE)


# -- C3, C4, C5, C6 --------------------------------------------------------------------

def test_c3_vm_operations_struct_has_the_kernel_members():
    import dataclasses

    names = {f.name for f in dataclasses.fields(VmOperationsStruct)}
    assert {"open", "close", "mapped", "may_split", "fault", "page_mkwrite", "pfn_mkwrite",
            "mremap", "mprotect", "huge_fault", "map_pages", "access", "pagesize",
            "find_special_page", "vma_name"} <= names


def test_c3_the_name_callback_names_a_file_less_vma_in_maps():
    mm = MM()
    mm.mmap(BASE, P, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED)
    (vma,) = mm.vmas()
    vma.vm_ops = VmOperationsStruct(name="special", vma_name=lambda v: "[vvar]")
    assert mm.maps().rstrip().endswith("[vvar]")


def test_c4_mmap_action_docstring_names_its_fields():
    import dataclasses

    from mmaplab import MmapAction

    doc = MmapAction.__doc__ or ""
    for f in dataclasses.fields(MmapAction):
        if f.name.startswith(("remap_", "simple_ioremap_", "map_kernel_")):
            assert f"``{f.name}``" in doc, f.name
    assert "phys_" not in doc.replace("start_phys_addr", "")


def test_c5_remap_pgprot_is_used_exactly_as_captured():
    from mmaplab.kernel.mm_types import MmapActionType
    from mmaplab.kernel.pgtable import Pgprot

    def prepare(desc):  # fills the action by hand, without mmap_action_remap()
        a = desc.action
        a.type = MmapActionType.MMAP_REMAP_PFN
        a.remap_start, a.remap_start_pfn, a.remap_size = desc.start, 0x7000, P
        return 0

    f = File(Inode("/dev/byhand", 4 * P), FileOperations(name="byhand", mmap_prepare=prepare),
             FMode.READ)
    mm = MM()
    mm.mmap(BASE, P, PROT_READ, MAP_SHARED | MAP_FIXED, f, 0)
    pte = mm.pagetable.lookup(BASE)
    assert pte is not None and pte.prot == Pgprot.NONE  # zero, not the VMA's page_prot


def test_c6_hpet_private_writable_is_a_cow_mapping():
    from mmaplab.drivers.hpet import spec
    from mmaplab.lab.scenario import run_case

    sc = next(s for s in spec.SCENARIOS if s.name == "private-writable")
    assert "is a COW mapping" in sc.note and "not a COW" not in sc.note
    for variant in ("legacy", "prepare"):
        steps = run_case(lambda v=variant: spec.SPEC.make(v), sc)
        assert "pgoff=0xfed00" in steps[0].maps[0]


# -- item 6: the commit charge of a failed mremap move ---------------------------------

def test_mremap_move_whose_source_unmap_fails_recharges_it_as_the_kernel_does():
    """unmap_source_vma() (mm/mremap.c): do_vmi_munmap() failing after the copy ->
    vm_acct_memory(len) ("just get accounts right"), while the source has lost
    VM_ACCOUNT: the charge exceeds what the VM_ACCOUNT VMAs hold, in the kernel too."""
    from mmaplab import MREMAP_FIXED, MREMAP_MAYMOVE, VMFlag

    mm = MM()
    mm.mmap(BASE, 2 * P, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED)
    with mm.injecting("munmap_clear_tree"):
        # the move succeeded (move_vma() returns the new address); the source stays
        assert mm.mremap(BASE, 2 * P, 2 * P, MREMAP_MAYMOVE | MREMAP_FIXED, BASE + 8 * P) \
            == BASE + 8 * P
    src, new = mm.vmas()
    assert (src.vm_start, new.vm_start) == (BASE, BASE + 8 * P)
    assert VMFlag.ACCOUNT not in src.vm_flags and VMFlag.ACCOUNT in new.vm_flags
    assert mm.committed_pages == 2 + 2  # 2 more than the VM_ACCOUNT VMAs hold
    mm.exit()
    assert mm.committed_pages == 2  # leaked for good


def test_mremap_failed_page_table_move_keeps_the_growth_charge():
    """copy_vma_and_data() failing (move_page_tables short): the new VMA is unmapped with
    VM_ACCOUNT cleared, so the delta charged by vrm_calc_charge() is never given back."""
    from mmaplab import MREMAP_FIXED, MREMAP_MAYMOVE

    mm = MM()
    mm.mmap(BASE, 2 * P, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED)
    with mm.injecting("move_page_tables"), pytest.raises(OSError) as ei:
        mm.mremap(BASE, 2 * P, 4 * P, MREMAP_MAYMOVE | MREMAP_FIXED, BASE + 8 * P)
    assert ei.value.errno == errno.ENOMEM
    assert [(v.vm_start, v.vm_end) for v in mm.vmas()] == [(BASE, BASE + 2 * P)]
    assert mm.committed_pages == 2 + 2  # the source's 2 pages + the leaked delta


# -- D11: may_expand_vm (RLIMIT_AS) ----------------------------------------------------

def test_d11_rlimit_as_makes_mmap_enomem_counting_replaced_pages():
    mm = MM(rlimit_as=4 * P)
    mm.mmap(BASE, 4 * P, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED)
    mm.mmap(BASE, 2 * P, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED)  # replaces
    with pytest.raises(OSError) as ei:
        mm.mmap(BASE + 8 * P, P, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED)
    assert ei.value.errno == errno.ENOMEM and mm.total_vm == 4


def test_d11_mdwe_refuses_write_exec_mappings_and_exec_gain():
    from mmaplab import PROT_EXEC

    mm = MM(mdwe=True)
    with pytest.raises(OSError) as ei:
        mm.mmap(BASE, P, RW | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED)
    assert ei.value.errno == errno.EACCES and mm.vmas() == []
    mm.mmap(BASE, P, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED)
    mm.mmap(BASE + P, P, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED)
    with pytest.raises(OSError) as ei:
        mm.mprotect(BASE + P, P, PROT_READ | PROT_EXEC)  # gaining exec
    assert ei.value.errno == errno.EACCES
    mm.mprotect(BASE, P, PROT_EXEC)  # already executable: allowed
    child = mm.fork()
    assert child.mdwe
    assert MM().mmap(BASE, P, RW | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED) == BASE


def test_d11_rlimit_as_limits_mremap_growth_and_dontunmap():
    from mmaplab import MREMAP_DONTUNMAP, MREMAP_MAYMOVE

    mm = MM(rlimit_as=3 * P)
    mm.mmap(BASE, 2 * P, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED)
    with pytest.raises(OSError) as ei:
        mm.mremap(BASE, 2 * P, 4 * P, MREMAP_MAYMOVE)
    assert ei.value.errno == errno.ENOMEM
    with pytest.raises(OSError) as ei:
        mm.mremap(BASE, 2 * P, 2 * P, MREMAP_MAYMOVE | MREMAP_DONTUNMAP)
    assert ei.value.errno == errno.ENOMEM
    assert mm.mremap(BASE, 2 * P, 3 * P, MREMAP_MAYMOVE) == BASE  # fits exactly


# -- D11, the RLIMIT_DATA half of may_expand_vm() (mm/mmap.c, 7.0) ---------------------

ANON_FIXED = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED


def test_d11_rlimit_data_refuses_private_writable_mmap_and_warns_once():
    mm = MM(rlimit_data=4 * P)
    mm.mmap(BASE, 4 * P, RW, ANON_FIXED)  # exactly the limit: data_vm = 4
    for _ in range(2):
        with pytest.raises(OSError) as ei:
            mm.mmap(BASE + 8 * P, P, RW, ANON_FIXED)
        assert ei.value.errno == errno.ENOMEM and "RLIMIT_DATA" in str(ei.value)
    assert len(mm.vmas()) == 1
    # pr_warn_once(): the kernel names the boot option that would let it through
    vmdata = [w for w in mm.warnings if w.startswith("VmData")]
    assert vmdata == [f"VmData {5 * P} exceed data ulimit {4 * P}. Update limits or use "
                      "boot option ignore_rlimit_data."]
    # not data: read-only, shared, or a stack (VM_GROWSDOWN)
    mm.mmap(BASE + 8 * P, P, PROT_READ, ANON_FIXED)
    mm.mmap(BASE + 10 * P, P, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED)
    mm.mmap(BASE + 12 * P, P, RW, ANON_FIXED | MAP_GROWSDOWN)
    assert len(mm.vmas()) == 4


def test_d11_rlimit_data_counts_replaced_pages_as_the_kernel_does():
    """``__mmap_setup()`` passes ``pglen - vms->nr_pages`` while ``data_vm`` still holds
    the replaced data pages: replacing a read-only VMA frees room for data too."""
    mm = MM(rlimit_data=4 * P)
    mm.mmap(BASE, 3 * P, RW, ANON_FIXED)
    mm.mmap(BASE + 4 * P, 2 * P, PROT_READ, ANON_FIXED)
    # 2 new data pages over 2 read-only ones: 3 + (2 - 2) <= 4 although data would be 5
    assert mm.mmap(BASE + 4 * P, 2 * P, RW, ANON_FIXED) == BASE + 4 * P
    from mmaplab.kernel.mmap import data_vm

    assert data_vm(mm) == 5 and mm.warnings == []


def test_d11_rlimit_data_limits_mprotect_to_data_brk_and_mremap():
    from mmaplab import MREMAP_MAYMOVE

    mm = MM(rlimit_data=3 * P)
    mm.mmap(BASE, 2 * P, RW, ANON_FIXED)
    mm.mmap(BASE + 4 * P, 2 * P, PROT_READ, ANON_FIXED)
    with pytest.raises(OSError) as ei:
        mm.mprotect(BASE + 4 * P, 2 * P, RW)  # turns into data: 2 + 2 > 3
    assert ei.value.errno == errno.ENOMEM
    assert "w" not in mm.maps().splitlines()[1].split()[1]
    mm.mprotect(BASE + 4 * P, P, RW)  # 2 + 1 fits
    with pytest.raises(OSError) as ei:
        mm.mremap(BASE, 2 * P, 3 * P, MREMAP_MAYMOVE)
    assert ei.value.errno == errno.ENOMEM and "RLIMIT_DATA" in str(ei.value)
    # brk: check_data_rlimit() counts the heap only, may_expand_vm() all data mappings
    before = mm.brk(0)
    assert mm.brk(before + P) == before  # heap 1 page, but data_vm 3 + 1 > 3: refused


def test_d11_ignore_rlimit_data_boot_option_only_warns():
    from mmaplab.kernel.config import DEFAULT

    mm = MM(rlimit_data=P, config=DEFAULT.with_options(ignore_rlimit_data=True))
    assert mm.mmap(BASE, 4 * P, RW, ANON_FIXED) == BASE
    assert mm.warnings == [f"VmData {4 * P} exceed data ulimit {P}. Update limits."]


def test_d11_zero_rlimit_data_is_let_through_up_to_the_hard_limit():
    """The kernel's "workaround for Valgrind": a zero soft limit is checked against the
    hard limit, which the model takes as RLIM_INFINITY."""
    mm = MM(rlimit_data=0)
    assert mm.mmap(BASE, 4 * P, RW, ANON_FIXED) == BASE and mm.warnings == []


def test_d11_data_vm_helper_matches_what_maps_shows():
    from mmaplab.kernel.mmap import data_vm, is_data_mapping

    mm = MM()
    mm.mmap(BASE, 2 * P, RW, ANON_FIXED)
    mm.mmap(BASE + 3 * P, P, PROT_READ, ANON_FIXED)
    mm.mmap(BASE + 5 * P, 3 * P, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED)
    assert data_vm(mm) == 2
    assert [is_data_mapping(v.vm_flags) for v in mm.vmas()] == [True, False, False]


def test_mprotect_keeps_the_caching_of_each_pte_as_pte_modify_does():
    """The remap helper captures desc->page_prot when it is called (the book's pitfall):
    pgprot_noncached() after it gives an uncached VMA with cached PTEs.  mprotect()
    does not repair that: pte_modify() keeps the PTE's caching bits (x86 _PAGE_CHG_MASK,
    arch/x86/include/asm/pgtable.h), and change_protection() rewrites PTEs with it."""
    from mmaplab.kernel.mmap_action import mmap_action_remap_full
    from mmaplab.kernel.pgtable import Pgprot, pgprot_noncached

    def prepare(desc):
        mmap_action_remap_full(desc, 0x7000)
        desc.page_prot = pgprot_noncached(desc.page_prot)  # too late for the PTEs
        return 0

    f = File(Inode("/dev/late", 4 * P), FileOperations(name="late", mmap_prepare=prepare),
             FMode.READ | FMode.WRITE)
    mm = MM()
    mm.mmap(BASE, 2 * P, RW, MAP_SHARED | MAP_FIXED, f, 0)
    vma = mm.find_vma(BASE)
    assert vma is not None and Pgprot.PCD in vma.vm_page_prot
    for prot in (PROT_READ, RW):  # a split, then the merge back
        mm.mprotect(BASE, P, prot)
        for addr in (BASE, BASE + P):
            pte = mm.pagetable.lookup(addr)
            assert pte is not None and Pgprot.PCD not in pte.prot, (prot, hex(addr))
    assert Pgprot.RW in mm.pagetable.lookup(BASE).prot  # the new protection did apply
