"""The C bindings of the descriptor's vma_flags_t path (include/linux/mm.h as of v4):
``desc->vma_flags``, the ``VMA_*_BIT`` numbers, ``vma_desc_set/clear_flags(desc, ...)``,
the ``_mask`` variants with ``mk_vma_flags()``, the tests, and
``vma_desc_pages/size/is_cow_mapping()`` — run by a C hook on real mmap() calls and
compared with the model's own Python functions on the same descriptor."""

from __future__ import annotations

import pytest

from mmaplab.drivers.base import WINDOW
from mmaplab.kernel import mm_types as mt
from mmaplab.kernel.flags import MAP_PRIVATE, MAP_SHARED, PAGE_SIZE, PROT_READ, PROT_WRITE, VMFlag
from mmaplab.kernel.fs import File, FileOperations, FMode, Inode
from mmaplab.kernel.mm import MM
from mmaplab.kernel.vma_flags import VmaFlagBit
from mmaplab.kernel_c import compile_c
from mmaplab.kernel_c.bindings import vma_flag_bit

PROBE_C = """\
#include <linux/mm.h>

static int shared, any_wx, all_read, cow, all_mask, any_mask;
static unsigned long pages, size;

static int probe_mmap_prepare(struct vm_area_desc *desc)
{
	vma_flags_t before = desc->vma_flags;

	all_mask = vma_desc_test_all_mask(desc, before);
	shared = vma_desc_test(desc, VMA_SHARED_BIT);
	any_wx = vma_desc_test_any(desc, VMA_WRITE_BIT, VMA_EXEC_BIT);
	all_read = vma_desc_test_all(desc, VMA_READ_BIT, VMA_MAYREAD_BIT);
	cow = vma_desc_is_cow_mapping(desc);
	any_mask = vma_desc_test_any_mask(desc, mk_vma_flags(VMA_IO_BIT, VMA_PFNMAP_BIT));
	pages = vma_desc_pages(desc);
	size = vma_desc_size(desc);

	vma_desc_set_flags(desc, VMA_DONTEXPAND_BIT, VMA_DONTDUMP_BIT);
	vma_desc_set_flags_mask(desc, mk_vma_flags(VMA_DONTCOPY_BIT));
	vma_desc_clear_flags_mask(desc, mk_vma_flags(VMA_MAYEXEC_BIT));
	if (shared)
		vma_desc_clear_flags(desc, VMA_MAYWRITE_BIT);
	return 0;
}
"""


def _map(flags: int, prot: int, pages: int = 3) -> tuple[object, MM, list[object]]:
    """mmap() a file whose mmap_prepare is the C probe; also snapshot what the model's
    own functions say of the same descriptor, before the probe changes it."""
    inst = compile_c(PROBE_C, "probe.c").bind()
    probe = inst.function("probe_mmap_prepare")
    seen: list[object] = []

    def hook(desc: mt.VmAreaDesc) -> int:
        seen.extend([mt.vma_desc_test(desc, VmaFlagBit.SHARED),
                     mt.vma_desc_test_any(desc, VmaFlagBit.WRITE, VmaFlagBit.EXEC),
                     mt.vma_desc_test_all(desc, VmaFlagBit.READ, VmaFlagBit.MAYREAD),
                     mt.vma_desc_is_cow_mapping(desc), mt.vma_desc_pages(desc),
                     mt.vma_desc_size(desc)])
        return int(probe(desc))

    fops = FileOperations(name="probe_fops", mmap_prepare=hook)
    file = File(Inode("/dev/probe", 16 * PAGE_SIZE), fops, FMode.READ | FMode.WRITE)
    mm = MM()
    mm.mmap(WINDOW, pages * PAGE_SIZE, prot, flags, file=file)
    return inst.store, mm, seen


@pytest.mark.parametrize(("flags", "prot"), [(MAP_SHARED, PROT_READ),
                                             (MAP_SHARED, PROT_READ | PROT_WRITE),
                                             (MAP_PRIVATE, PROT_READ | PROT_WRITE),
                                             (MAP_PRIVATE, PROT_READ)])
def test_the_c_reads_the_descriptor_as_the_model_does(flags: int, prot: int) -> None:
    store, mm, seen = _map(flags, prot)
    got = [store.shared, store.any_wx, store.all_read, store.cow, store.pages, store.size]
    assert got == [int(v) if isinstance(v, bool) else v for v in seen]
    assert store.all_mask == 1 and store.any_mask == 0
    assert (store.pages, store.size) == (3, 3 * PAGE_SIZE)
    assert store.cow == (flags == MAP_PRIVATE)   # private mappings of a file may COW


@pytest.mark.parametrize("flags", [MAP_SHARED, MAP_PRIVATE])
def test_the_c_changes_reach_the_vma(flags: int) -> None:
    _, mm, _ = _map(flags, PROT_READ)
    (vma,) = mm.vmas()
    for flag in (VMFlag.DONTEXPAND, VMFlag.DONTDUMP, VMFlag.DONTCOPY):
        assert flag in vma.vm_flags, flag
    assert VMFlag.MAYEXEC not in vma.vm_flags        # cleared through the mask variant
    assert (VMFlag.MAYWRITE in vma.vm_flags) == (flags == MAP_PRIVATE)


def test_vma_bit_numbers_are_the_models() -> None:
    names = ["READ", "WRITE", "EXEC", "SHARED", "MAYWRITE", "DONTEXPAND", "IO", "PFNMAP"]
    src = "".join(f"int bit_{n.lower()}(void)\n{{\n\treturn VMA_{n}_BIT;\n}}\n" for n in names)
    inst = compile_c(src, "bits.c").bind()
    for n in names:
        bit = inst.function(f"bit_{n.lower()}")()
        assert bit == int(VmaFlagBit[n]) == vma_flag_bit(VMFlag[n]), n


def test_a_mask_where_a_bit_number_belongs_tests_another_bit() -> None:
    """The Python idiom the issue warns about, as C gives it: VM_SHARED (the mask 0x8)
    passed as a bit number tests bit 8 (VMA_GROWSDOWN_BIT), so a shared mapping reads as
    not shared.  gcc accepts it as the kernel's build would (only sparse would warn)."""
    assert VMFlag.SHARED.value == 8 and VmaFlagBit.GROWSDOWN == 8
    src = PROBE_C.replace("vma_desc_test(desc, VMA_SHARED_BIT)",
                          "vma_desc_test(desc, VM_SHARED)")
    inst = compile_c(src, "probe.c").bind()
    fops = FileOperations(name="probe_fops", mmap_prepare=inst.function("probe_mmap_prepare"))
    file = File(Inode("/dev/probe", 16 * PAGE_SIZE), fops, FMode.READ | FMode.WRITE)
    MM().mmap(WINDOW, PAGE_SIZE, PROT_READ, MAP_SHARED, file=file)
    assert inst.store.shared == 0
