"""Exercise 05: convert hpet (drivers/char/hpet.c) to mmap_prepare.

Reference: ``mmaplab.drivers.hpet`` ``prepare`` variant (v4 13/21), on the default
device and on two other configurations (``hpet_mmap=0``, a block that is not page
aligned).
"""

from __future__ import annotations

import errno

from ..drivers import hpet
from ..kernel.flags import PAGE_SIZE
from ..kernel.mmap_action import mmap_action_simple_ioremap
from ._driver_exercise import DriverCase, ExerciseMutant, driver_exercise, pick, subclass_with

INTRO = """\
# Exercise 05 — hpet: one page of timer registers

`/dev/hpet` lets a process read the HPET counter directly: with `CONFIG_HPET_MMAP` (and the
boot option `hpet_mmap` not set to 0) mapping the device maps the **one page** of MMIO
registers of the HPET block, uncached. There is no per-mapping state — no `vm_ops`, no
reference counts — which makes it the smallest conversion of the series: everything the
legacy hook did becomes an edit of the descriptor plus one *action*.

The device state is the driver model `HpetDriver` (`mmaplab/drivers/hpet.py`):

* `self.hpet_mmap_enabled` — the boot option (`False`: mapping is refused with `EACCES`);
* `file.private_data` — the `HpetDev` (one timer) `hpet_open()` assigned; its
  `hd_hpets.hp_hpet_phys` is the physical base of the whole block (every timer maps the same
  page);
* `self._noncached(prot)` (= `pgprot_noncached`).

`/dev/hpet` can only be opened read-only (`hpet_open()` refuses `O_RDWR` with `EINVAL`).
"""

LEGACY_C = """\
static int hpet_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct hpet_dev *devp = file->private_data;
	unsigned long addr;

	if (!hpet_mmap_enabled)
		return -EACCES;

	addr = devp->hd_hpets->hp_hpet_phys;
	if (addr & (PAGE_SIZE - 1))		/* the block must start on a page */
		return -ENOSYS;

	vma->vm_page_prot = pgprot_noncached(vma->vm_page_prot);
	/* maps exactly one page; checks the VMA size and vm_pgoff against it */
	return vm_iomap_memory(vma, addr, PAGE_SIZE);
}
"""

TASK = """\
## Your task

Write `hpet_mmap_prepare(self, desc)`, the converted hook, as a plain function taking the
`HpetDriver` as `self`. The file is `desc.file`; set `desc.page_prot`; replace
`vm_iomap_memory()` by the action that does the same checks and the same remap once the VMA
exists. Keep the errnos.

The check plugs it into an `HpetDriver` and compares it with the converted driver model on
13 scenarios (one page, two pages, an offset, MAP_PRIVATE, mprotect, fork, two timers side by
side, injected failures), then on a device booted with `hpet_mmap=0` and on a block whose
address is not page aligned.
"""

SETUP = """\
import errno

from mmaplab.drivers.hpet import HpetDriver
from mmaplab.exercises import check
from mmaplab.kernel.flags import PAGE_SHIFT, PAGE_SIZE
from mmaplab.kernel.mm_types import vma_desc_size
from mmaplab.kernel.mmap_action import (mmap_action_ioremap_full, mmap_action_remap_full,
                                 mmap_action_simple_ioremap)
"""

STUB = """\
def hpet_mmap_prepare(self, desc):
    # TODO: the checks of hpet_mmap(), an uncached desc.page_prot, then the action
    return 0
"""

HINTS = (
    "Nothing here needs the VMA to exist: the checks read the device state, the caching is a "
    "field of the descriptor, and vm_iomap_memory() has an mmap_action_*() twin that takes "
    "the same (physical address, size) pair.",
    "vm_iomap_memory(vma, phys, len) becomes mmap_action_simple_ioremap(desc, phys, len) — "
    "with the same len, PAGE_SIZE, so the size and offset checks stay. The page protection "
    "is desc.page_prot = self._noncached(desc.page_prot).",
    "if not self.hpet_mmap_enabled: return -errno.EACCES; addr = "
    "desc.file.private_data.hd_hpets.hp_hpet_phys; if addr & (PAGE_SIZE - 1): return "
    "-errno.ENOSYS; desc.page_prot = self._noncached(desc.page_prot); "
    "mmap_action_simple_ioremap(desc, addr, PAGE_SIZE); return 0.",
)


def _cases(mod):
    base = mod.HpetDriver
    short = pick(mod.SCENARIOS, "map-one-page", "two-pages", "offset-one", "private-writable",
                 "fork")

    def case(name, scenarios=None, mutants=False, **kw):
        return DriverCase(name, lambda ov: subclass_with(base, ov)("prepare", **kw),
                          lambda: base("prepare", **kw), scenarios, mutants)

    return [case("hpet", mutants=True),
            case("hpet_mmap=0", short, mmap_enabled=False),
            case("block not page aligned", short, phys=mod.HPET_PHYS + 0x400)]


def _ignores_hpet_mmap(self, desc):
    addr = desc.file.private_data.hd_hpets.hp_hpet_phys
    if addr & (PAGE_SIZE - 1):
        return -errno.ENOSYS
    desc.page_prot = self._noncached(desc.page_prot)
    mmap_action_simple_ioremap(desc, addr, PAGE_SIZE)
    return 0


MUTANTS = (
    ExerciseMutant(
        "ignores-hpet_mmap",
        "drops the hpet_mmap_enabled check: on a machine booted with hpet_mmap=0 the "
        "registers are mapped anyway instead of refusing with EACCES — the boot option is "
        "device state the converted hook must still honour",
        lambda: subclass_with(hpet.HpetDriver, {"hpet_mmap_prepare": _ignores_hpet_mmap},
                              "Mutant")("prepare", mmap_enabled=False),
        "hpet_mmap=0"),
)

EXERCISE = driver_exercise(
    nn="05", module="hpet", cls="HpetDriver", title="hpet: one page of timer registers",
    methods={"hpet_mmap_prepare": ("self", "desc")}, cases=_cases, mutants=MUTANTS,
    intro=INTRO, legacy_c=LEGACY_C, task=TASK, setup=SETUP, stub=STUB, hints=HINTS)
