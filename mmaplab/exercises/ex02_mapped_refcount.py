"""Exercise 02: move per-mapping accounting from mmap_prepare into ``vm_ops->mapped``.

A file whose mappings are counted (the afs ``cb_nr_mmap`` pattern of
fs/afs/file.c): the legacy ``->mmap`` counts each new VMA; ``open``/``close``
keep the count equal to the number of live VMAs.  ``mmap_prepare`` runs before
the merge decision and before the VMA is allocated (mm/vma.c
``__mmap_region()``, v4 series), so counting there leaks on a merge or a late
failure; ``vm_ops->mapped`` (v4 08/21) runs only for a new, unmerged VMA.
"""

from __future__ import annotations

import errno

from ..drivers.base import (
    Scenario,
    child_exit_op,
    exit_op,
    fault_op,
    fork_op,
    mmap_op,
    mprotect_op,
    munmap_op,
)
from ..kernel.filemap import VM_FAULT_SIGBUS
from ..kernel.flags import PROT_READ, PROT_WRITE
from ..kernel.fs import FileOperations
from ..kernel.mm_types import VmOperationsStruct, vma_desc_pages
from ..kernel.page_alloc import alloc_pages
from ..lab.diff import Case, Divergence
from ._core import Exercise, Misconception
from ._device import ExerciseDevice, need_function, need_instance

RW = PROT_READ | PROT_WRITE


class TrkDev(ExerciseDevice):
    """A file of ``nr_pages`` pages whose live mappings are counted in ``nr_mmaps``."""

    name = "trk"
    path = "/srv/trk/data"
    devno = (0, 42)

    def __init__(self, f_op: FileOperations) -> None:
        super().__init__(f_op)
        self.nr_pages = 8
        self.pages = alloc_pages(self.nr_pages, kind="pagecache")
        self.nr_mmaps = 0

    def add_open_mmap(self) -> None:
        """``trk_add_open_mmap()``: one more VMA maps this file."""
        self.nr_mmaps += 1

    def drop_open_mmap(self) -> None:
        """``trk_drop_open_mmap()``: one VMA fewer."""
        self.nr_mmaps -= 1

    def observe(self) -> dict[str, object]:
        return {"nr_mmaps": self.nr_mmaps}


def trk_fault(vmf):
    """The (given) fault handler: the file's page at ``vmf.pgoff``."""
    dev = vmf.vma.vm_file.private_data
    if vmf.pgoff >= dev.nr_pages:
        return VM_FAULT_SIGBUS
    vmf.page = dev.pages[vmf.pgoff]
    return 0


# -- reference ----------------------------------------------------------------------

def trk_mapped(start, end, pgoff, file, vm_private_data):
    file.private_data.add_open_mmap()
    return 0


def trk_vm_open(vma):
    vma.vm_file.private_data.add_open_mmap()


def trk_vm_close(vma):
    vma.vm_file.private_data.drop_open_mmap()


trk_vm_ops = VmOperationsStruct(name="trk_vm_ops", mapped=trk_mapped, open=trk_vm_open,
                                close=trk_vm_close, fault=trk_fault)


def trk_mmap_prepare(desc):
    dev = desc.file.private_data
    if desc.pgoff + vma_desc_pages(desc) > dev.nr_pages:
        return -errno.EINVAL
    desc.vm_ops = trk_vm_ops
    return 0


# -- scenarios ------------------------------------------------------------------------

SCENARIOS = (
    Scenario("one mapping", (mmap_op(0, 2), fault_op(1), munmap_op(0, 2))),
    Scenario("beyond the end of the file", (mmap_op(0, 9), mmap_op(0, 1, offset_pages=8))),
    Scenario("merge with the mapping below", (mmap_op(0, 2), mmap_op(2, 2, offset_pages=2),
                                             fault_op(3), munmap_op(0, 4)),
             note="the second mmap extends the first VMA: no new VMA is created"),
    Scenario("merge with the mapping above", (mmap_op(2, 2, offset_pages=2), mmap_op(0, 2),
                                             munmap_op(0, 4))),
    Scenario("split by munmap", (mmap_op(0, 4), munmap_op(1, 1), munmap_op(0, 4))),
    Scenario("split by mprotect", (mmap_op(0, 4, RW), mprotect_op(1, 1, PROT_READ),
                                   munmap_op(0, 4))),
    Scenario("fork", (mmap_op(0, 2), fork_op(), child_exit_op(), munmap_op(0, 2))),
    Scenario("VMA allocation fails", (mmap_op(0, 2), mmap_op(0, 2)),
             inject=("vm_area_alloc", 1),
             note="the first mmap fails with ENOMEM after mmap_prepare ran"),
    Scenario("MAP_FIXED over an existing mapping", (mmap_op(0, 2), mmap_op(0, 2))),
    Scenario("exit with two mappings", (mmap_op(0, 2), mmap_op(4, 2, offset_pages=4),
                                        exit_op())),
)


def cases(prepare, vm_ops) -> list[Case]:
    prepare = need_function("trk_mmap_prepare", prepare, ("desc",))
    need_instance("trk_vm_ops", vm_ops, VmOperationsStruct, "a vm_operations_struct")
    return [Case("trk",
                 lambda: TrkDev(FileOperations(name="trk_fops", mmap_prepare=prepare)),
                 lambda: TrkDev(FileOperations(name="trk_fops", mmap_prepare=trk_mmap_prepare)),
                 SCENARIOS)]


# -- diagnosis ------------------------------------------------------------------------

M = {m.id: m for m in (
    Misconception(
        "count-in-prepare", "counting in mmap_prepare",
        "mmap_prepare runs before the kernel decides whether the new range merges into a "
        "neighbouring VMA, and before the VMA is allocated. When the range merges, or a later "
        "step fails, no new VMA exists — but your count went up and nothing will ever bring it "
        "down. Count in vm_ops->mapped, which runs only once a new VMA is really in place."),
    Misconception(
        "counted-twice", "counting in both mmap_prepare and mapped",
        "Each new VMA must be counted exactly once. mapped already does it; mmap_prepare must "
        "not (this was a bug in v1 of the afs conversion)."),
    Misconception(
        "missing-open", "split and fork create VMAs too",
        "vm_ops->open runs when a VMA is duplicated: split (partial munmap/mprotect) and fork. "
        "mapped is not called for those, so without open the count falls behind and close "
        "drives it below the number of live VMAs."),
    Misconception(
        "missing-close", "every VMA that goes away must be uncounted",
        "vm_ops->close runs when a VMA is removed (munmap, exit, MAP_FIXED replacement)."),
    Misconception(
        "not-counted", "a new mapping must be counted",
        "The legacy hook counted every new VMA. Something in the converted code must do "
        "that too — but only once the VMA really exists."),
    Misconception(
        "vm-ops-not-set", "the descriptor's vm_ops is an output",
        "Install the operations with desc.vm_ops = ...; the kernel copies it into the VMA. "
        "Without it neither mapped, open, close nor the fault handler ever runs."),
    Misconception(
        "lost-check", "the legacy size check is still needed",
        "The legacy hook refused mappings beyond the end of the file with -EINVAL. "
        "mmap_prepare must refuse them the same way (desc.pgoff, vma_desc_pages(desc))."),
)}


def _count(d: Divergence, which: str, before: bool = False) -> int:
    v = d.state(which, "nr_mmaps", before)
    return int(v) if v is not None else 0


def _delta(d: Divergence, which: str) -> int:
    return _count(d, which) - _count(d, which, before=True)


def _state_at(kinds: tuple[str, ...]):
    return lambda d: d.aspect == "state" and d.op.kind in kinds


RULES = [
    ("vm-ops-not-set", lambda d: d.aspect == "maps" and "vm_ops=NULL" in " ".join(d.got.maps)
     and "vm_ops=NULL" not in " ".join(d.expected.maps)),
    ("lost-check", lambda d: d.aspect == "result" and d.expected.result == "-EINVAL"),
    ("counted-twice", lambda d: _state_at(("mmap",))(d) and _delta(d, "got") == 2
     and _delta(d, "expected") == 1),
    ("count-in-prepare", lambda d: _state_at(("mmap",))(d) and _delta(d, "got")
     > _delta(d, "expected")),
    ("not-counted", lambda d: _state_at(("mmap",))(d) and _delta(d, "got")
     < _delta(d, "expected")),
    ("missing-open", lambda d: _state_at(("munmap", "mprotect", "fork", "child_exit", "exit"))(d)
     and _count(d, "got") < _count(d, "expected")),
    ("missing-close", lambda d: _state_at(("munmap", "exit", "child_exit", "mmap"))(d)
     and _count(d, "got") > _count(d, "expected")),
]


EXERCISE = Exercise(
    nn="02", slug="mapped_refcount", kind="concept",
    label="trk mmap_prepare + mapped", answer_names=("trk_mmap_prepare", "trk_vm_ops"),
    cases=cases, misconceptions=M, rules=RULES,
    extra={"reference_args": lambda: (trk_mmap_prepare, trk_vm_ops)},
)
