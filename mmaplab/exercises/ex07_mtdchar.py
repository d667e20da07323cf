"""Exercise 07: convert mtdchar (drivers/mtd/mtdchar.c) to mmap_prepare.

Reference: ``mmaplab.drivers.mtdchar`` ``prepare`` variant (v4 14/21), on an MMU kernel
(the default) and with ``mmu=False`` (the !CONFIG_MMU branch).
"""

from __future__ import annotations

import dataclasses
import errno

from ..drivers import mtdchar
from ._driver_exercise import DriverCase, ExerciseMutant, driver_exercise, pick, subclass_with

NOMMU_NOTES = {
    "shared-read": "!CONFIG_MMU, MAP_SHARED: allowed (the core placed the mapping)",
    "shared-write": "!CONFIG_MMU, MAP_SHARED|PROT_WRITE: allowed",
    "private-read": "!CONFIG_MMU, MAP_PRIVATE: EACCES, only shared mappings of the chip",
    "private-write": "!CONFIG_MMU, MAP_PRIVATE|PROT_WRITE: EACCES",
    "with-offset": "!CONFIG_MMU, shared at an offset: allowed",
}

INTRO = """\
# Exercise 07 — mtdchar: converting what is really there

`/dev/mtdN` gives userspace raw access to flash and RAM/ROM chips. Its legacy `mmap` hook
looks substantial — a branch that would map MTD RAM/ROM directly from the chip's physical
address — but that branch sits under a literal `if (0 && ...)`: it was switched off on MMU
kernels years ago. On an MMU kernel the hook always refuses with `ENODEV`; on a kernel without
an MMU (`!CONFIG_MMU`) the core has already placed the mapping
(`mtdchar_get_unmapped_area()`), and the hook only insists that it is shared.

A conversion is a good moment to read the old hook closely: convert the behaviour, not the
dead code.

The device state is the driver model `MtdcharDriver` (`mmaplab/drivers/mtdchar.py`):
`self.mmu` (`True` for an MMU kernel, standing for `#ifdef CONFIG_MMU`), `self.mtd`
(`type`, `size`, `map_phys`). The flag test on a descriptor is
`vma_desc_test(desc, VMFlag.SHARED)`.
"""

LEGACY_C = """\
static int mtdchar_mmap(struct file *file, struct vm_area_struct *vma)
{
#ifdef CONFIG_MMU
	struct mtd_file_info *mfi = file->private_data;
	struct mtd_info *mtd = mfi->mtd;
	struct map_info *map = mtd->priv;

	/* switched off on purpose: RAM/ROM chips are not mapped on MMU kernels */
	if (0 && (mtd->type == MTD_RAM || mtd->type == MTD_ROM)) {
		vma->vm_page_prot = pgprot_noncached(vma->vm_page_prot);
		return vm_iomap_memory(vma, map->phys, map->size);
	}
	return -ENODEV;
#else
	/* no MMU: the mapping was placed for us; it must be shared */
	return vma->vm_flags & VM_SHARED ? 0 : -EACCES;
#endif
}
"""

TASK = """\
## Your task

Write `mtdchar_mmap_prepare(self, desc)` with the behaviour of `mtdchar_mmap()` on both
configurations (use `if self.mmu:` where the C has `#ifdef CONFIG_MMU`).

The check compares it with the converted driver model on 10 scenarios on an MMU kernel
(shared and private, read and write, offsets, next to and over existing mappings, fork, an
injected allocation failure), then on a `!CONFIG_MMU` device (shared and private requests).
"""

SETUP = """\
import errno

from mmaplab.drivers.mtdchar import MTD_RAM, MTD_ROM, MtdcharDriver
from mmaplab.exercises import check
from mmaplab.kernel.flags import VMFlag
from mmaplab.kernel.mm_types import vma_desc_test
from mmaplab.kernel.mmap_action import mmap_action_simple_ioremap
"""

STUB = """\
def mtdchar_mmap_prepare(self, desc):
    # TODO: what does mtdchar_mmap() really do on each configuration?
    if self.mtd.type in (MTD_RAM, MTD_ROM):
        mmap_action_simple_ioremap(desc, self.mtd.map_phys, self.mtd.size)
        return 0
    return -errno.ENODEV
"""

HINTS = (
    "Read the condition of the big branch again: can it ever be true? Then look at what is "
    "left on each side of the #ifdef.",
    "On an MMU kernel the hook returns -ENODEV whatever the request; without an MMU it only "
    "tests VM_SHARED (vma_desc_test(desc, VMFlag.SHARED)) — EACCES otherwise. No action, no "
    "page_prot: nothing is mapped by this hook.",
    "if self.mmu: return -errno.ENODEV; return 0 if vma_desc_test(desc, VMFlag.SHARED) else "
    "-errno.EACCES.",
)


def _cases(mod):
    base = mod.MtdcharDriver
    nommu = tuple(dataclasses.replace(sc, note=NOMMU_NOTES[sc.name])
                  for sc in pick(mod.SPEC.scenarios, *NOMMU_NOTES))
    return [DriverCase("mtdchar", lambda ov: subclass_with(base, ov)("prepare"),
                       lambda: base("prepare")),
            DriverCase("mtdchar (!CONFIG_MMU)",
                       lambda ov: subclass_with(base, ov)("prepare", mmu=False),
                       lambda: base("prepare", mmu=False), nommu, mutants=False)]


def _nommu_allows_private(self, desc):
    return -errno.ENODEV if self.mmu else 0


MUTANTS = (
    ExerciseMutant(
        "nommu-allows-private",
        "drops the VM_SHARED test of the !CONFIG_MMU branch: without an MMU a private "
        "mapping cannot be copied on write, so the driver must refuse it with EACCES",
        lambda: subclass_with(mtdchar.MtdcharDriver,
                              {"mtdchar_mmap_prepare": _nommu_allows_private},
                              "Mutant")("prepare", mmu=False),
        "mtdchar (!CONFIG_MMU)"),
)

EXERCISE = driver_exercise(
    nn="07", module="mtdchar", cls="MtdcharDriver",
    title="mtdchar: converting what is really there",
    methods={"mtdchar_mmap_prepare": ("self", "desc")}, cases=_cases, mutants=MUTANTS,
    intro=INTRO, legacy_c=LEGACY_C, task=TASK, setup=SETUP, stub=STUB, hints=HINTS)
