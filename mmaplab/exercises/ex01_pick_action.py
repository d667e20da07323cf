"""Exercise 01: pick the right mmap action for three legacy hooks.

Three made-up devices, each mapped by a deprecated ``f_op->mmap`` that calls one
of the classic helpers — ``remap_pfn_range()``, ``vm_iomap_memory()`` and
``vm_map_pages()`` (mm/memory.c).  In ``mmap_prepare`` no VMA exists yet, so the
learner describes the work with the matching ``mmap_action_*()`` helper
(include/linux/mm.h, v4 series) and keeps the legacy errnos.
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from typing import Any

from ..drivers.base import (
    Driver,
    Scenario,
    fault_op,
    fork_op,
    mmap_op,
    munmap_op,
)
from ..kernel.flags import MAP_PRIVATE, PROT_READ, PROT_WRITE
from ..kernel.fs import FileOperations, FMode
from ..kernel.mm_types import vma_desc_pages
from ..kernel.mmap_action import (
    mmap_action_map_kernel_pages,
    mmap_action_remap_full,
    mmap_action_simple_ioremap,
)
from ..kernel.page_alloc import alloc_pages
from ..kernel.pgtable import pgprot_noncached
from ..lab.diff import Case, Divergence
from ._core import Exercise, Misconception, Rule
from ._device import ExerciseDevice, need_function

RW = PROT_READ | PROT_WRITE


class FbDev(ExerciseDevice):
    """A frame buffer: ``nr_pages`` of physical memory starting at ``base_pfn``."""

    name = "fb"
    path = "/dev/fb0"
    devno = (29, 0)

    def __init__(self, f_op: FileOperations) -> None:
        super().__init__(f_op)
        self.base_pfn = 0xC0000
        self.nr_pages = 4


class RegsDev(ExerciseDevice):
    """A register block: ``len`` bytes of MMIO at physical address ``phys``."""

    name = "regs"
    path = "/dev/regs0"
    devno = (240, 0)

    def __init__(self, f_op: FileOperations) -> None:
        super().__init__(f_op)
        self.phys = 0xFED00000
        self.len = 0x400


class BufDev(ExerciseDevice):
    """A kernel buffer of ``nr_pages`` pages (``pages``: a list of struct page)."""

    name = "buf"
    path = "/dev/buf0"
    devno = (241, 0)

    def __init__(self, f_op: FileOperations) -> None:
        super().__init__(f_op)
        self.nr_pages = 4
        self.pages = alloc_pages(self.nr_pages, kind="kernel")

    def observe(self) -> dict[str, object]:
        return {"page refcount/mapcount": [(p.refcount, p.mapcount) for p in self.pages]}


# -- reference ----------------------------------------------------------------------

def fb_mmap_prepare(desc):
    dev = desc.file.private_data
    if desc.pgoff >= dev.nr_pages or vma_desc_pages(desc) > dev.nr_pages - desc.pgoff:
        return -errno.EINVAL
    mmap_action_remap_full(desc, dev.base_pfn + desc.pgoff)
    return 0


def regs_mmap_prepare(desc):
    dev = desc.file.private_data
    desc.page_prot = pgprot_noncached(desc.page_prot)
    mmap_action_simple_ioremap(desc, dev.phys, dev.len)
    return 0


def buf_mmap_prepare(desc):
    dev = desc.file.private_data
    pages = vma_desc_pages(desc)
    if desc.pgoff >= dev.nr_pages or pages > dev.nr_pages - desc.pgoff:
        return -errno.ENXIO
    mmap_action_map_kernel_pages(desc, desc.start, dev.pages[desc.pgoff:], pages)
    return 0


# -- scenarios ------------------------------------------------------------------------

PRIV = MAP_PRIVATE

FB = (
    Scenario("whole frame buffer", (mmap_op(0, 4, RW), fault_op(0), fault_op(3, write=True),
                                    munmap_op(0, 4))),
    Scenario("window at an offset", (mmap_op(0, 2, offset_pages=2), fault_op(1))),
    Scenario("too large", (mmap_op(0, 5),), note="5 pages of a 4-page frame buffer"),
    Scenario("offset past the end", (mmap_op(0, 1, offset_pages=4),)),
    Scenario("private writable mapping (COW)", (mmap_op(0, 4, RW, PRIV), fault_op(1))),
    Scenario("two adjacent mappings", (mmap_op(0, 2), mmap_op(2, 2, offset_pages=2))),
    Scenario("fork and split", (mmap_op(0, 4), fork_op(), munmap_op(1, 1), fault_op(2))),
    Scenario("page-table allocation fails", (mmap_op(0, 4), fault_op(0)),
             inject=("pte_alloc", 1)),
)

REGS = (
    Scenario("one page of registers", (mmap_op(0, 1, RW), fault_op(0, write=True))),
    Scenario("read-only open", (mmap_op(0, 1, PROT_READ, mode=FMode.READ), fault_op(0))),
    Scenario("two pages", (mmap_op(0, 2),), note="the block is smaller than one page"),
    Scenario("offset 1", (mmap_op(0, 1, offset_pages=1),)),
    Scenario("fork", (mmap_op(0, 1), fork_op(), fault_op(0))),
)

BUF = (
    Scenario("whole buffer", (mmap_op(0, 4, RW), fault_op(0), fault_op(3), munmap_op(0, 4))),
    Scenario("tail of the buffer", (mmap_op(0, 3, offset_pages=1), fault_op(0))),
    Scenario("too large after the offset", (mmap_op(0, 4, offset_pages=1),)),
    Scenario("offset past the end", (mmap_op(0, 1, offset_pages=4),)),
    Scenario("fork and split", (mmap_op(0, 4), fork_op(), munmap_op(2, 2))),
    Scenario("page-table allocation fails", (mmap_op(0, 2), fault_op(0)),
             inject=("pte_alloc", 1)),
)


def cases(fb, regs, buf) -> list[Case]:
    fb = need_function("fb_mmap_prepare", fb, ("desc",))
    regs = need_function("regs_mmap_prepare", regs, ("desc",))
    buf = need_function("buf_mmap_prepare", buf, ("desc",))

    def dev(cls: type[ExerciseDevice], hook: Callable[..., Any], ref: Callable[..., Any]
            ) -> tuple[Callable[[], Driver], Callable[[], Driver]]:
        name = cls.name + "_fops"
        return (lambda: cls(FileOperations(name=name, mmap_prepare=hook)),
                lambda: cls(FileOperations(name=name, mmap_prepare=ref)))

    return [Case("fb", *dev(FbDev, fb, fb_mmap_prepare), FB),
            Case("regs", *dev(RegsDev, regs, regs_mmap_prepare), REGS),
            Case("buf", *dev(BufDev, buf, buf_mmap_prepare), BUF)]


# -- diagnosis ------------------------------------------------------------------------

M = {m.id: m for m in (
    Misconception(
        "legacy-helper-in-prepare", "calling a VMA helper from mmap_prepare",
        "remap_pfn_range(), vm_iomap_memory() and vm_map_pages() work on a VMA that already "
        "exists. mmap_prepare only has a descriptor: there is no VMA and no page table yet. "
        "Describe the work with an mmap_action_*() helper and the kernel does it once the VMA "
        "is in place."),
    Misconception(
        "remap-for-iomem", "a raw pfn remap where vm_iomap_memory() did the checking",
        "vm_iomap_memory() checks that the mapping (offset + length) fits inside the "
        "physical region and honours the file offset. A plain mmap_action_(io)remap_full() "
        "does none of that: too-large or offset requests succeed and map whatever lies "
        "beyond the registers. mmap_action_simple_ioremap() keeps those checks."),
    Misconception(
        "forgot-noncached", "lost the caching attribute",
        "The legacy hook made the mapping uncached with pgprot_noncached() on "
        "vma->vm_page_prot. The descriptor has the same field: desc.page_prot."),
    Misconception(
        "no-enxio-check", "map_kernel_pages does not check the buffer size",
        "vm_map_pages() refuses with -ENXIO when the offset is past the buffer or the "
        "mapping is longer than what is left after it. mmap_action_map_kernel_pages() "
        "trusts you: do those two checks yourself in mmap_prepare."),
    Misconception(
        "ignores-pgoff", "the file offset selects where in the device the mapping starts",
        "The legacy hook started at vma->vm_pgoff pages into the device (the offset passed "
        "to mmap). Use desc.pgoff the same way."),
    Misconception(
        "wrong-errno", "keep the legacy errno",
        "User space sees the errno. The legacy hook returned a specific one for this "
        "request; the converted hook must return the same."),
)}


def _case(name: str):
    return lambda d: d.case == name


def _hook_crash_vma(d: Divergence) -> bool:
    return d.got.result.startswith("hook error") and (
        "VmAreaDesc" in d.got.result or "vm_" in d.got.result)


def _exp_errno(err: str):
    return lambda d: d.expected.result == err and d.got.result.startswith("ok")


def _errno_mismatch(d: Divergence) -> bool:
    return (d.aspect == "result" and d.expected.result.startswith("-")
            and d.got.result.startswith("-"))


def _ptes_pfn_differ(d: Divergence) -> bool:
    return d.aspect in ("ptes", "maps") and d.expected.result == d.got.result and (
        d.scenario.ops[d.index].offset_pages > 0 or "offset" in d.scenario.name
        or any(o.offset_pages for o in d.scenario.ops))


def _uc(d: Divergence) -> bool:
    e, g = " ".join(d.value("expected")), " ".join(d.value("got"))
    return d.aspect in ("ptes", "maps") and e.count(" uc") != g.count(" uc")


RULES: list[Rule] = [
    ("legacy-helper-in-prepare", _hook_crash_vma),
    ("forgot-noncached", lambda d: d.case == "regs" and _uc(d)),
    ("remap-for-iomem", lambda d: d.case == "regs" and _exp_errno("-EINVAL")(d)),
    ("remap-for-iomem", lambda d: d.case == "regs" and d.aspect in ("ptes", "maps")),
    ("no-enxio-check", lambda d: d.case == "buf" and d.expected.result == "-ENXIO"
     and d.got.result != "-ENXIO" and not d.got.result.startswith("-E")),
    ("wrong-errno", _errno_mismatch),
    ("ignores-pgoff", _ptes_pfn_differ),
    ("ignores-pgoff", lambda d: d.case == "fb" and _exp_errno("-EINVAL")(d)),
]


EXERCISE = Exercise(
    nn="01", slug="pick_action", kind="concept",
    label="fb, regs and buf mmap_prepare",
    answer_names=("fb_mmap_prepare", "regs_mmap_prepare", "buf_mmap_prepare"),
    cases=cases, misconceptions=M, rules=RULES,
    extra={"reference_args": lambda: (fb_mmap_prepare, regs_mmap_prepare, buf_mmap_prepare)},
)

