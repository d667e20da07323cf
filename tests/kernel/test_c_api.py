"""The descriptor's C API: ``desc.vma_flags`` (``vma_flags_t``), ``VMA_*_BIT`` numbers, the
``vma_desc_*`` accessors and ``pgprot_*()`` functions, with the kernel's names and
argument forms (include/linux/mm.h, mm_types.h, Linux 7.0 + the v4 series)."""

from __future__ import annotations

import errno

import pytest

import mmaplab
from mmaplab import (
    MAP_FIXED,
    MAP_PRIVATE,
    MAP_SHARED,
    MM,
    PAGE_SIZE,
    PROT_READ,
    PROT_WRITE,
    VMA_DONTDUMP_BIT,
    VMA_DONTEXPAND_BIT,
    VMA_IO_BIT,
    VMA_MAYREAD_BIT,
    VMA_MAYWRITE_BIT,
    VMA_READ_BIT,
    VMA_SHARED_BIT,
    VMA_WRITE_BIT,
    File,
    FileOperations,
    FMode,
    HookViolation,
    Inode,
    Pgprot,
    VmaFlagBit,
    VmaFlags,
    VMFlag,
    mk_vma_flags,
    pgprot_noncached,
    pgprot_writecombine,
    vma_desc_clear_flags,
    vma_desc_clear_flags_mask,
    vma_desc_is_cow_mapping,
    vma_desc_pages,
    vma_desc_set_flags,
    vma_desc_set_flags_mask,
    vma_desc_size,
    vma_desc_test,
    vma_desc_test_all,
    vma_desc_test_all_mask,
    vma_desc_test_any,
    vma_desc_test_any_mask,
    vma_pages,
)
from mmaplab.kernel.mm_types import VmAreaDesc

P = PAGE_SIZE
BASE = 0x7F0000000000


def _desc(flags: VMFlag = VMFlag.READ | VMFlag.MAYREAD | VMFlag.MAYWRITE) -> VmAreaDesc:
    return VmAreaDesc(None, None, BASE, BASE + 3 * P, 0, None, flags, Pgprot.NONE)


def _map_with(hook, flags=MAP_SHARED, prot=PROT_READ | PROT_WRITE):
    mm = MM()
    f = File(Inode("/dev/capi", 1 << 20, dev=(10, 9)),
             FileOperations(name="capi_fops", mmap_prepare=hook), FMode.READ | FMode.WRITE)
    return mm, mm.mmap(BASE, 2 * P, prot, flags | MAP_FIXED, f)


def test_bit_numbers_are_the_vm_flag_positions() -> None:
    """Every VMA_*_BIT is the bit position of the VM_* mask of the same name."""
    for bit in VmaFlagBit:
        assert VMFlag[bit.name].value == 1 << bit, bit
    single = [m for m in VMFlag if m.value and m.value & (m.value - 1) == 0]
    assert {m.name for m in single} == {b.name for b in VmaFlagBit}
    assert repr(VMA_SHARED_BIT) == "VMA_SHARED_BIT" and int(VMA_SHARED_BIT) == 3


def test_accessors_take_bit_numbers_and_masks() -> None:
    d = _desc()
    assert vma_desc_test(d, VMA_READ_BIT) and not vma_desc_test(d, VMA_SHARED_BIT)
    assert vma_desc_test_any(d, VMA_SHARED_BIT, VMA_MAYWRITE_BIT)
    assert not vma_desc_test_all(d, VMA_SHARED_BIT, VMA_MAYWRITE_BIT)
    vma_desc_set_flags(d, VMA_IO_BIT, VMA_DONTEXPAND_BIT)
    assert vma_desc_test_all(d, VMA_IO_BIT, VMA_DONTEXPAND_BIT)
    vma_desc_clear_flags(d, VMA_IO_BIT)
    assert not vma_desc_test(d, VMA_IO_BIT) and vma_desc_test(d, VMA_DONTEXPAND_BIT)
    mask = mk_vma_flags(VMA_DONTDUMP_BIT, VMA_WRITE_BIT)
    assert not vma_desc_test_any_mask(d, mask)
    vma_desc_set_flags_mask(d, mask)
    assert vma_desc_test_all_mask(d, mask)
    vma_desc_clear_flags_mask(d, mk_vma_flags(VMA_WRITE_BIT))
    assert d.vma_flags.names() == "READ|MAYREAD|MAYWRITE|DONTEXPAND|DONTDUMP"
    assert vma_desc_pages(d) == 3 and vma_desc_size(d) == 3 * P
    assert vma_desc_is_cow_mapping(d)
    vma_desc_set_flags(d, VMA_SHARED_BIT)
    assert not vma_desc_is_cow_mapping(d)


def test_vma_flags_t_is_a_value_without_integer_operators() -> None:
    d = _desc()
    before = d.vma_flags
    vma_desc_set_flags(d, VMA_IO_BIT)
    assert before == mk_vma_flags(VMA_READ_BIT, VMA_MAYREAD_BIT, VMA_MAYWRITE_BIT)
    assert d.vma_flags != before
    with pytest.raises(TypeError, match="bitmap, not an integer"):
        d.vma_flags | mk_vma_flags(VMA_IO_BIT)  # noqa: B018
    with pytest.raises(TypeError, match="bitmap, not an integer"):
        VMA_IO_BIT in d.vma_flags  # noqa: B015


@pytest.mark.parametrize("call, msg", [
    (lambda d: vma_desc_test(d, VMFlag.SHARED), r"not the VMFlag mask .* VMA_SHARED_BIT"),
    (lambda d: vma_desc_set_flags(d, VMFlag.IO | VMFlag.DONTDUMP),
     r"VMA_IO_BIT/VMA_DONTDUMP_BIT"),
    (lambda d: vma_desc_test(d, VMA_IO_BIT, VMA_SHARED_BIT), r"vma_desc_test_any"),
    (lambda d: vma_desc_set_flags_mask(d, VMFlag.IO), r"takes a vma_flags_t mask"),
    (lambda d: vma_desc_clear_flags(d, mk_vma_flags(VMA_IO_BIT)), r"use vma_desc_clear_flags_"),
    (lambda d: vma_desc_test_any(d, "IO"), r"VMA_\*_BIT bit numbers"),
    (lambda d: vma_pages(d), r"vma_desc_pages"),
])
def test_wrong_argument_forms_name_the_right_one(call, msg) -> None:
    with pytest.raises(TypeError, match=msg):
        call(_desc())


def test_old_vm_flags_field_names_vma_flags() -> None:
    d = _desc()
    with pytest.raises(HookViolation, match=r"no field 'vm_flags'.*desc\.vma_flags"):
        d.vm_flags  # noqa: B018
    with pytest.raises(HookViolation, match=r"no field 'vm_flags'.*desc\.vma_flags"):
        d.vm_flags = VMFlag.READ
    with pytest.raises(HookViolation, match=r"desc\.vma_flags must be a vma_flags_t"):
        d.vma_flags = VMFlag.READ | VMFlag.IO


def test_desc_vma_flags_assignment_reaches_the_vma() -> None:
    """A hook may assign a whole vma_flags_t (as C may); the VMA gets the legacy word."""

    def hook(desc):
        flags = desc.vma_flags
        assert isinstance(flags, VmaFlags)
        vma_desc_set_flags(desc, VMA_DONTEXPAND_BIT)
        desc.vma_flags = desc.vma_flags  # plain struct assignment
        return 0

    mm, addr = _map_with(hook)
    vma = mm.vma_lookup(addr)
    assert VMFlag.DONTEXPAND in vma.vm_flags and VMFlag.SHARED in vma.vm_flags


def test_a_hook_using_the_old_field_fails_the_mmap_cleanly() -> None:
    def hook(desc):
        desc.vm_flags |= VMFlag.DONTEXPAND
        return 0

    with pytest.raises(HookViolation, match="vma_flags") as exc:
        _map_with(hook)
    assert exc.value.errno == errno.EINVAL


def test_pgprot_functions_on_a_value() -> None:
    def hook(desc):
        desc.page_prot = pgprot_noncached(desc.page_prot)
        return 0

    mm, addr = _map_with(hook, flags=MAP_PRIVATE, prot=PROT_READ)
    assert Pgprot.PCD in mm.vma_lookup(addr).vm_page_prot
    assert Pgprot.PWT in pgprot_writecombine(Pgprot.PRESENT)
    assert "pgprot_decrypted" in mmaplab.__all__ and "pgprot_encrypted" in mmaplab.__all__
