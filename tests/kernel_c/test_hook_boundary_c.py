"""The hook boundary for C hooks: a wrong-typed write is the same HookViolation.

A C hook's writes reach the model through the C runtime (``mmaplab.kernel_c``), not
through Python's ``setattr`` in the hook's own frame; a pointer cast can still store an
object of the wrong type, and integer arithmetic an unaligned address.  The write is
refused with the same :class:`HookViolation` a Python hook gets, naming the field and
its C type, and the mm is left as it was.
"""

from __future__ import annotations

import pytest

from mmaplab import HookViolation
from mmaplab.kernel.flags import MAP_FIXED, MAP_SHARED, PAGE_SIZE, PROT_READ
from mmaplab.kernel.fs import File, FileOperations, FMode, Inode
from mmaplab.kernel.mm import MM
from mmaplab.kernel.mm_types import VmOperationsStruct
from mmaplab.kernel_c import compile_c

P = PAGE_SIZE
B = 0x7F0000000000

BAD_C = """\
#include <linux/mm.h>

static int ops_is_a_file(struct file *file, struct vm_area_struct *vma)
{
	vma->vm_ops = (const struct vm_operations_struct *)file;
	return 0;
}

static int end_off_by_one(struct file *file, struct vm_area_struct *vma)
{
	vma->vm_end = vma->vm_start + 1;
	return 0;
}

static int desc_ops_is_a_file(struct vm_area_desc *desc)
{
	desc->vm_ops = (const struct vm_operations_struct *)desc->file;
	return 0;
}

static vm_fault_t page_is_a_vma(struct vm_fault *vmf)
{
	vmf->page = (struct page *)vmf->vma;
	return 0;
}
"""


def _python(name: str):
    """The same mistake written in Python."""
    return {
        "ops_is_a_file": lambda file, vma: setattr(vma, "vm_ops", file),
        "end_off_by_one": lambda file, vma: setattr(vma, "vm_end", vma.vm_start + 1),
        "desc_ops_is_a_file": lambda desc: setattr(desc, "vm_ops", desc.file),
        "page_is_a_vma": lambda vmf: setattr(vmf, "page", vmf.vma),
    }[name]


def _map(kind: str, hook) -> tuple[MM, File, HookViolation]:
    if kind == "fault":
        ops = VmOperationsStruct(name="cdev_vm_ops", fault=hook)

        def prepare(desc):
            desc.vm_ops = ops
            return 0

        fops = FileOperations(name="cdev", mmap_prepare=prepare)
    else:
        fops = FileOperations(name="cdev", **{kind: hook})
    f = File(Inode("/dev/c", 16 * P, dev=(10, 3)), fops, FMode.READ | FMode.WRITE)
    mm = MM()
    with pytest.raises(HookViolation) as ei:
        mm.mmap(B, 2 * P, PROT_READ, MAP_SHARED | MAP_FIXED, f)
        mm.fault(B)
    return mm, f, ei.value


def _field_part(msg: str) -> str:
    """The message up to the offending value (whose repr names the object)."""
    return msg.split(", not ")[0]


@pytest.mark.parametrize(("name", "kind", "field"), [
    ("ops_is_a_file", "mmap", "vma.vm_ops"),
    ("end_off_by_one", "mmap", "vma.vm_end"),
    ("desc_ops_is_a_file", "mmap_prepare", "desc.vm_ops"),
    ("page_is_a_vma", "fault", "vmf.page"),
])
def test_a_c_hook_writing_a_wrong_type_gets_the_python_hooks_violation(name, kind, field):
    prog = compile_c(BAD_C, "bad.c")
    c_mm, c_file, c_exc = _map(kind, prog.function(name))
    py_mm, py_file, py_exc = _map(kind, _python(name))
    assert f"{field} must be" in str(c_exc)
    assert _field_part(str(c_exc)) == _field_part(str(py_exc))
    assert c_exc.errno == py_exc.errno
    # the mm is left as the Python hook leaves it: nothing half-made, references balanced
    def shape(mm: MM) -> list[tuple[int, int, object]]:
        return [(v.vm_start, v.vm_end, v.vm_flags) for v in mm.vmas()]

    assert shape(c_mm) == shape(py_mm)
    assert len(c_mm.pagetable.entries()) == len(py_mm.pagetable.entries()) == 0
    assert c_file.f_count == py_file.f_count == 1 + len(c_mm.vmas())
