"""C hooks plug in wherever Python hooks do: f_op, vm_ops, uio's override, the harness."""

from __future__ import annotations

import pytest

from mmaplab.drivers.base import WINDOW
from mmaplab.drivers.hpet import model as hpet
from mmaplab.drivers.hpet import spec as hpet_spec
from mmaplab.drivers.uio import model as uio
from mmaplab.exercises._driver_exercise import subclass_with
from mmaplab.kernel.debug.sanitizer import SanitizerReport
from mmaplab.kernel.errors import KernelError
from mmaplab.kernel.flags import MAP_SHARED, PAGE_SHIFT, PAGE_SIZE, PROT_READ, PROT_WRITE, VMFlag
from mmaplab.kernel.fs import File, FileOperations, FMode, Inode
from mmaplab.kernel.mm import MM
from mmaplab.kernel_c import COops, compile_c, method
from mmaplab.lab.compare import compare

HPET_C = """\
#include <linux/mm.h>

static int hpet_mmap_prepare(struct vm_area_desc *desc)
{
	struct hpet_dev *devp;
	unsigned long addr;

	if (!hpet_mmap_enabled)
		return -EACCES;

	devp = desc->file->private_data;
	addr = devp->hd_hpets->hp_hpet_phys;

	if (addr & (PAGE_SIZE - 1))
		return -ENOSYS;

	desc->page_prot = pgprot_noncached(desc->page_prot);
	mmap_action_simple_ioremap(desc, addr, PAGE_SIZE);
	return 0;
}
"""

VM_OPS_C = """\
static int maps, opens, closes;

static void demo_open(struct vm_area_struct *vma)
{
	opens++;
}

static void demo_close(struct vm_area_struct *vma)
{
	closes++;
}

static int demo_mapped(unsigned long start, unsigned long end, pgoff_t pgoff,
		const struct file *file, void **vm_private_data)
{
	maps++;
	*vm_private_data = file->private_data;
	return 0;
}

static const struct vm_operations_struct demo_vm_ops = {
	.open = demo_open,
	.close = demo_close,
	.mapped = demo_mapped,
};

static int demo_mmap_prepare(struct vm_area_desc *desc)
{
	if (!vma_desc_test(desc, VMA_SHARED_BIT))
		return -EINVAL;
	vma_desc_set_flags(desc, VMA_DONTEXPAND_BIT);
	desc->vm_ops = &demo_vm_ops;
	return 0;
}
"""


def c_hpet(source: str = HPET_C):  # type: ignore[no-untyped-def]
    prog = compile_c(source, "hpet.c")
    cls = subclass_with(hpet.HpetDriver, {"hpet_mmap_prepare": method(prog,
                                                                      "hpet_mmap_prepare")})
    return lambda **kw: cls("prepare", **kw)


def test_c_file_operations_and_vm_ops_run_against_the_model() -> None:
    prog = compile_c(VM_OPS_C, "demo.c")
    inst = prog.bind()
    fops = FileOperations(name="demo_fops", mmap_prepare=inst.function("demo_mmap_prepare"))
    file = File(Inode("/dev/demo"), fops, FMode.READ | FMode.WRITE, private_data="cookie")
    mm = MM()
    a = mm.mmap(WINDOW, 2 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, file=file)
    (vma,) = mm.vmas()
    assert vma.vm_ops is not None and vma.vm_ops.name == "demo_vm_ops"
    assert VMFlag.DONTEXPAND in vma.vm_flags
    assert vma.vm_private_data == "cookie"             # written through void **
    mm.mprotect(a, PAGE_SIZE, PROT_READ)               # split: ->open on the copy
    mm.munmap(a, 2 * PAGE_SIZE)                        # ->close on both
    assert (inst.store.maps, inst.store.opens, inst.store.closes) == (1, 1, 2)
    with pytest.raises(KernelError) as info:           # MAP_PRIVATE: the C refuses
        mm.mmap(WINDOW, PAGE_SIZE, PROT_READ, 0x02, file=file)
    assert info.value.errno == 22


def test_static_vm_ops_are_one_object_per_binding() -> None:
    prog = compile_c(VM_OPS_C)
    a, b = prog.bind(), prog.bind()
    assert a is b
    assert a.store.demo_vm_ops is a.store.demo_vm_ops
    assert a.store.demo_vm_ops.open is a.function("demo_open")


def test_c_hpet_behaves_like_the_converted_model_in_the_harness() -> None:
    make = c_hpet()
    for kw in ({}, {"mmap_enabled": False}, {"phys": hpet.HPET_PHYS + 0x400}):
        report = compare((lambda kw=kw: hpet.HpetDriver("prepare", **kw),
                          lambda kw=kw: make(**kw)), hpet_spec.SCENARIOS, name="C vs model")
        assert not report.differences, report.differences[:1]
    legacy = compare((lambda: hpet.HpetDriver("legacy"), make), hpet_spec.SCENARIOS,
                     hpet_spec.SPEC.intended)
    model = compare(hpet_spec.SPEC)
    assert legacy.keys == model.keys               # the same intended differences


def test_a_wrong_c_conversion_shows_in_the_harness() -> None:
    broken = HPET_C.replace("\tif (!hpet_mmap_enabled)\n\t\treturn -EACCES;\n", "")
    report = compare((lambda: hpet.HpetDriver("prepare", mmap_enabled=False),
                      lambda: c_hpet(broken)(mmap_enabled=False)), hpet_spec.SCENARIOS)
    assert report.differences and "EACCES" in str(report.differences[0])


def test_c_override_of_uio_info_mmap_prepare() -> None:
    src = """
static int regs_mmap_prepare(struct uio_info *info, struct vm_area_desc *desc)
{
	struct uio_mem *mem = &info->mem[0];

	if (desc->pgoff != 0)
		return -EINVAL;
	desc->page_prot = pgprot_noncached(desc->page_prot);
	mmap_action_remap_full(desc, mem->addr >> PAGE_SHIFT);
	return 0;
}
"""
    drv = uio.UioPdrv("prepare")
    drv.info.mmap_prepare = compile_c(src).function("regs_mmap_prepare")
    mm = MM()
    a = mm.mmap(WINDOW, PAGE_SIZE, PROT_READ, MAP_SHARED, file=drv.open())
    pte = mm.pagetable.lookup(a)
    assert pte is not None and pte.pfn == uio.REGS_PHYS >> PAGE_SHIFT
    assert "uc" in pte.prot.describe()
    with pytest.raises(KernelError):
        mm.mmap(WINDOW + PAGE_SIZE, PAGE_SIZE, PROT_READ, MAP_SHARED, file=drv.open(),
                offset=PAGE_SIZE)


def test_sanitizer_checks_c_hooks() -> None:
    # A C mmap_prepare that takes a reference at prepare time: counted even when the
    # new mapping merges with its neighbour, so the sanitizer flags it (afs's bug).
    src = VM_OPS_C.replace("\tdesc->vm_ops = &demo_vm_ops;\n",
                           "\tdesc->vm_ops = &demo_vm_ops;\n\tmaps++;\n")
    inst = compile_c(src).bind()
    fops = FileOperations(mmap_prepare=inst.function("demo_mmap_prepare"))
    file = File(Inode("/dev/demo"), fops, FMode.READ | FMode.WRITE)
    mm = MM(sanitize=True)

    class Counters:
        def observe(self) -> dict[str, int]:
            return {"maps": inst.store.maps}

    mm.sanitizer.register(Counters())  # type: ignore[union-attr]
    with pytest.raises(SanitizerReport) as info:
        mm.mmap(WINDOW, PAGE_SIZE, PROT_READ, MAP_SHARED, file=file)
    assert info.value.rule == "prepare-not-stateless"


def test_oops_in_a_c_hook_reaches_the_caller_with_its_line() -> None:
    src = "static int bad_mmap_prepare(struct vm_area_desc *desc)\n{\n\tstruct hpet_dev *d = " \
          "NULL;\n\n\treturn d->hd_hpets != NULL;\n}\n"
    fops = FileOperations(mmap_prepare=compile_c(src, "bad.c").function("bad_mmap_prepare"))
    with pytest.raises(COops, match=r"RIP: bad_mmap_prepare\(\) at bad.c:5"):
        MM().mmap(None, PAGE_SIZE, PROT_READ, MAP_SHARED, file=File(Inode("/dev/x"), fops))
