"""Exercise 03: per-mapping private data under split, fork and late failure.

A ring device hands each mapping a context object (the vme_user
``vme_user_vma_priv`` / tcmu ``udev`` pattern): allocated when the mapping is
created, shared by every VMA split or forked from it (``vm_ops->open`` takes a
reference), freed by the last ``vm_ops->close``.  Converted, the allocation
moves to ``vm_ops->mapped``, which publishes it through its ``vm_private_data``
out-parameter (``call_vma_mapped()``, mm/util.c, v4 08/21); and ``close`` must
cope with a VMA whose ``mapped`` never ran, because a failing action/``mapped``
unmaps the new VMA with its ``vm_ops`` already installed (``mmap_action_finish()``).
"""

from __future__ import annotations

import errno

from ..drivers.base import Scenario, child_exit_op, exit_op, fault_op, fork_op, mmap_op, munmap_op
from ..kernel.errors import UseAfterFreeError
from ..kernel.filemap import VM_FAULT_SIGBUS
from ..kernel.fs import FileOperations
from ..kernel.mm_types import VmOperationsStruct, vma_desc_pages, vma_desc_set_flags
from ..kernel.page_alloc import alloc_pages
from ..kernel.vma_flags import VMA_DONTDUMP_BIT, VMA_DONTEXPAND_BIT
from ..lab.diff import Case, Divergence
from ._core import Exercise, Misconception
from ._device import ExerciseDevice, need_function, need_instance


class RingCtx:
    """``struct ring_ctx``: one per mapping, shared by its split/forked VMAs."""

    def __init__(self, dev: RingDev, ident: int) -> None:
        self.dev = dev
        self.id = ident
        self.refcnt = 1
        self.freed = False

    def describe(self) -> str:
        return f"ring_ctx#{self.id}" + (" (freed)" if self.freed else "")

    def __repr__(self) -> str:
        return f"<{self.describe()} refcnt={self.refcnt}>"


class RingDev(ExerciseDevice):
    """A ring buffer of ``nr_pages`` pages; at most ``max_ctx`` contexts at a time."""

    name = "ring"
    path = "/dev/ring0"
    devno = (242, 0)

    def __init__(self, f_op: FileOperations) -> None:
        super().__init__(f_op)
        self.nr_pages = 4
        self.max_ctx = 2
        self.pages = alloc_pages(self.nr_pages, kind="kernel")
        self.live: list[RingCtx] = []
        self.allocated = 0

    def ctx_alloc(self) -> RingCtx | None:
        """``ring_ctx_alloc()``: a new context with refcnt 1, or None when all are in use."""
        if len(self.live) >= self.max_ctx:
            return None
        self.allocated += 1
        ctx = RingCtx(self, self.allocated)
        self.live.append(ctx)
        return ctx

    def ctx_free(self, ctx: RingCtx) -> None:
        """``ring_ctx_free()``."""
        if ctx.freed:
            raise UseAfterFreeError(f"double free of ring_ctx#{ctx.id}")
        ctx.freed = True
        self.live.remove(ctx)

    def observe(self) -> dict[str, object]:
        return {"live contexts": [f"#{c.id} refcnt={c.refcnt}" for c in self.live],
                "allocated": self.allocated}


def ring_fault(vmf):
    """The (given) fault handler: needs the mapping's context."""
    ctx = vmf.vma.vm_private_data
    if ctx is None or ctx.freed:
        if ctx is not None:
            raise UseAfterFreeError(f"fault on a mapping whose ring_ctx#{ctx.id} was freed")
        return VM_FAULT_SIGBUS
    vmf.page = ctx.dev.pages[vmf.pgoff]
    return 0


# -- reference ----------------------------------------------------------------------

def ring_mapped(start, end, pgoff, file, vm_private_data):
    ctx = file.private_data.ctx_alloc()
    if ctx is None:
        return -errno.ENOMEM
    vm_private_data.value = ctx
    return 0


def ring_vm_open(vma):
    vma.vm_private_data.refcnt += 1


def ring_vm_close(vma):
    ctx = vma.vm_private_data
    if ctx is None:  # mapped never ran: the mapping failed late
        return
    ctx.refcnt -= 1
    if ctx.refcnt == 0:
        ctx.dev.ctx_free(ctx)


ring_vm_ops = VmOperationsStruct(name="ring_vm_ops", mapped=ring_mapped, open=ring_vm_open,
                                 close=ring_vm_close, fault=ring_fault)


def ring_mmap_prepare(desc):
    dev = desc.file.private_data
    if desc.pgoff + vma_desc_pages(desc) > dev.nr_pages:
        return -errno.EINVAL
    vma_desc_set_flags(desc, VMA_DONTEXPAND_BIT, VMA_DONTDUMP_BIT)
    desc.vm_ops = ring_vm_ops
    return 0


# -- scenarios ------------------------------------------------------------------------

SCENARIOS = (
    Scenario("one mapping", (mmap_op(0, 2), fault_op(1), munmap_op(0, 2))),
    Scenario("beyond the ring", (mmap_op(0, 5),)),
    Scenario("adjacent mappings stay separate", (mmap_op(0, 2), mmap_op(2, 2, offset_pages=2),
                                                 munmap_op(0, 4))),
    Scenario("split, then unmap piece by piece", (mmap_op(0, 4), munmap_op(1, 1),
                                                  munmap_op(0, 1), fault_op(2),
                                                  munmap_op(2, 2))),
    Scenario("fork, parent unmaps first", (mmap_op(0, 2), fork_op(), munmap_op(0, 2),
                                           child_exit_op())),
    Scenario("all contexts in use", (mmap_op(0, 1), mmap_op(1, 1, offset_pages=1),
                                     mmap_op(2, 1, offset_pages=2), munmap_op(0, 1),
                                     mmap_op(2, 1, offset_pages=2))),
    Scenario("VMA allocation fails", (mmap_op(0, 2), mmap_op(0, 2)),
             inject=("vm_area_alloc", 1), note="mmap fails after mmap_prepare ran"),
    Scenario("mapped fails", (mmap_op(0, 2), mmap_op(0, 2)), inject=("mapped", 1),
             note="vm_ops->mapped fails with ENOMEM: the new VMA is unmapped again"),
    Scenario("MAP_FIXED over an existing mapping", (mmap_op(0, 2), mmap_op(0, 2))),
    Scenario("exit", (mmap_op(0, 2), fork_op(), exit_op(), child_exit_op())),
)


def cases(prepare, vm_ops) -> list[Case]:
    prepare = need_function("ring_mmap_prepare", prepare, ("desc",))
    need_instance("ring_vm_ops", vm_ops, VmOperationsStruct, "a vm_operations_struct")
    return [Case("ring",
                 lambda: RingDev(FileOperations(name="ring_fops", mmap_prepare=prepare)),
                 lambda: RingDev(FileOperations(name="ring_fops",
                                                mmap_prepare=ring_mmap_prepare)),
                 SCENARIOS)]


# -- diagnosis ------------------------------------------------------------------------

M = {m.id: m for m in (
    Misconception(
        "ctx-in-prepare", "allocating per-mapping state in mmap_prepare",
        "mmap_prepare runs before the VMA is allocated. If anything fails after it (here: "
        "allocating the vm_area_struct), no VMA exists, close never runs, and the context "
        "leaks. Allocate in vm_ops->mapped and publish it through its vm_private_data "
        "out-parameter (vm_private_data.value = ctx)."),
    Misconception(
        "close-assumes-mapped", "close runs even when mapped did not",
        "If vm_ops->mapped fails (or the action before it does), the kernel unmaps the new "
        "VMA — whose vm_ops are already installed — so close runs on a VMA that never got its "
        "private data. close must accept vm_private_data == None."),
    Misconception(
        "missing-open", "split and fork share the context",
        "A split or fork makes another VMA pointing at the same context; vm_ops->open must "
        "take a reference (refcnt += 1) or the first close frees a context still in use."),
    Misconception(
        "forgot-flags", "the legacy hook set VM_DONTEXPAND | VM_DONTDUMP",
        "Set them on the descriptor with vma_desc_set_flags(desc, ...). They also keep the "
        "mapping from merging with its neighbours (VM_DONTEXPAND is part of VM_SPECIAL)."),
    Misconception(
        "priv-not-set", "mapped publishes the private data through its out-parameter",
        "vm_ops->mapped receives vm_private_data, a reference to the VMA's private data; "
        "set vm_private_data.value = ctx so the VMA (and open/close/fault) can find it."),
    Misconception(
        "lost-check", "the legacy size check is still needed",
        "The legacy hook refused mappings beyond the ring with -EINVAL."),
    Misconception(
        "ctx-not-allocated", "every new mapping gets its own context",
        "The legacy hook allocated a context for each successful mmap(). The converted code "
        "must do so too — once the VMA exists, i.e. in vm_ops->mapped."),
)}


def _live(d: Divergence, which: str) -> int:
    v = d.state(which, "live contexts")
    return v.count("#") if v else 0


def _alloc(d: Divergence, which: str) -> int:
    v = d.state(which, "allocated")
    return int(v) if v else 0


RULES = [
    ("close-assumes-mapped", lambda d: "->close" in d.got.result and "NoneType" in d.got.result),
    ("lost-check", lambda d: d.aspect == "result" and d.expected.result == "-EINVAL"),
    ("forgot-flags", lambda d: d.aspect == "maps" and "DONTEXPAND" in " ".join(d.expected.maps)
     and "DONTEXPAND" not in " ".join(d.got.maps)),
    ("forgot-flags", lambda d: d.op.kind == "mmap" and _alloc(d, "got") < _alloc(d, "expected")
     and d.scenario.name.startswith("adjacent")),
    ("priv-not-set", lambda d: d.aspect == "maps" and "private_data=NULL" in " ".join(d.got.maps)
     and "private_data=NULL" not in " ".join(d.expected.maps)),
    ("ctx-in-prepare", lambda d: d.op.kind == "mmap" and d.got.result.startswith("-")
     and _alloc(d, "got") > _alloc(d, "expected")),
    ("ctx-not-allocated", lambda d: d.op.kind == "mmap" and d.aspect == "state"
     and _alloc(d, "got") < _alloc(d, "expected")),
    ("missing-open", lambda d: "double free" in d.got.result or "was freed" in d.got.result),
    ("missing-open", lambda d: d.op.kind in ("munmap", "exit", "child_exit", "fork")
     and _live(d, "got") < _live(d, "expected")),
]


EXERCISE = Exercise(
    nn="03", slug="private_data",
    kind="concept", label="ring mmap_prepare + mapped",
    answer_names=("ring_mmap_prepare", "ring_vm_ops"),
    cases=cases, misconceptions=M, rules=RULES,
    extra={"reference_args": lambda: (ring_mmap_prepare, ring_vm_ops)},
)
