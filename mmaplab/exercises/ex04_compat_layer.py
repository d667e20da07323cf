"""Exercise 04: call a converted (mmap_prepare-style) callback from a legacy ``->mmap``.

The stacked-caller pattern of v4 17/21 ("mm: allow handling of stacked
mmap_prepare hooks in more drivers"), as the hv vmbus ring attribute and uio use
it: the outer hook stays a legacy ``->mmap`` (its caller only knows that), the
inner per-device callback has been converted to take a ``vm_area_desc``.  The
wrapper fills a descriptor from the VMA (``compat_set_desc_from_vma()``), runs
the callback, then lets ``__compat_vma_mmap()`` prepare the action, copy the
descriptor back into the VMA and complete the action (``mapped`` included) —
mm/util.c, v4.
"""

from __future__ import annotations

import errno

from ..drivers.base import (
    Scenario,
    child_exit_op,
    fault_op,
    fork_op,
    mmap_op,
    munmap_op,
)
from ..kernel.flags import PAGE_SHIFT
from ..kernel.fs import FileOperations
from ..kernel.mm_types import VmOperationsStruct
from ..kernel.mmap_action import mmap_action_simple_ioremap
from ..lab.diff import Case, Divergence
from ._core import Exercise, Misconception, Rule
from ._device import ExerciseDevice, need_function


def chan_vm_mapped(start, end, pgoff, file, vm_private_data):
    file.private_data.users += 1
    return 0


def chan_vm_open(vma):
    vma.vm_file.private_data.users += 1


def chan_vm_close(vma):
    vma.vm_file.private_data.users -= 1


chan_vm_ops = VmOperationsStruct(name="chan_vm_ops", mapped=chan_vm_mapped, open=chan_vm_open,
                                 close=chan_vm_close)


def chan_ring_mmap_prepare(chan, desc):
    """The (given) converted per-channel callback: ``mmap_prepare_ring(chan, desc)``."""
    if chan.state != "opened":
        return -errno.ENODEV
    desc.vm_ops = chan_vm_ops
    mmap_action_simple_ioremap(desc, chan.ring_phys, chan.ring_pages << PAGE_SHIFT)
    return 0


class ChanDev(ExerciseDevice):
    """A channel with a ring buffer, exposed through a legacy attribute file ``ring``."""

    name = "chan"
    path = "/sys/bus/chan/devices/chan0/ring"
    devno = (0, 23)

    def __init__(self, f_op: FileOperations, state: str = "opened") -> None:
        super().__init__(f_op)
        self.state = state
        self.ring_phys = 0x1_0000_0000
        self.ring_pages = 4
        self.users = 0
        #: The converted callback the wrapper must call: ``mmap_prepare_ring(chan, desc)``.
        self.mmap_prepare_ring = chan_ring_mmap_prepare

    def observe(self) -> dict[str, object]:
        return {"users": self.users}


# -- reference ----------------------------------------------------------------------

def chan_bin_mmap(file, vma):
    from ..kernel.compat import __compat_vma_mmap, compat_set_desc_from_vma

    chan = file.private_data
    desc = compat_set_desc_from_vma(file, vma)
    err = chan.mmap_prepare_ring(chan, desc)
    if err:
        return err
    return __compat_vma_mmap(desc, vma)


# -- scenarios ------------------------------------------------------------------------

OPEN = (
    Scenario("map the ring", (mmap_op(0, 4), fault_op(0), fault_op(3), munmap_op(0, 4))),
    Scenario("part of the ring at an offset", (mmap_op(0, 2, offset_pages=2), fault_op(1))),
    Scenario("larger than the ring", (mmap_op(0, 5),)),
    Scenario("fork and split", (mmap_op(0, 4), fork_op(), munmap_op(1, 1), child_exit_op(),
                                munmap_op(0, 4))),
    Scenario("remap fails after the callback", (mmap_op(0, 2), mmap_op(0, 2)),
             inject=("pte_alloc", 1)),
    Scenario("mapped fails", (mmap_op(0, 2), mmap_op(0, 2)), inject=("mapped", 1)),
)

CLOSED = (
    Scenario("channel not open", (mmap_op(0, 1),)),
)


def cases(wrapper) -> list[Case]:
    wrapper = need_function("chan_bin_mmap", wrapper, ("file", "vma"))

    def dev(hook, state):
        return lambda: ChanDev(FileOperations(name="chan_ring_fops", mmap=hook), state)

    return [Case("open channel", dev(wrapper, "opened"), dev(chan_bin_mmap, "opened"), OPEN),
            Case("closed channel", dev(wrapper, "closed"), dev(chan_bin_mmap, "closed"),
                 CLOSED)]


# -- diagnosis ------------------------------------------------------------------------

M = {m.id: m for m in (
    Misconception(
        "skipped-compat-mmap", "running the callback is only half of the job",
        "The callback only fills a descriptor. __compat_vma_mmap(desc, vma) is what prepares "
        "its action, copies the permitted fields (flags, page_prot, vm_ops, private_data, "
        "pgoff) back into the VMA, performs the action and calls vm_ops->mapped. Without it "
        "nothing is mapped and mapped never runs."),
    Misconception(
        "ignores-prepare-error", "a failing callback must fail the mmap",
        "If the mmap_prepare-style callback returns an error, return it at once: the "
        "descriptor is not meant to be applied."),
    Misconception(
        "wrong-compat-entry", "compat_vma_mmap() is for a file's own mmap_prepare",
        "compat_vma_mmap(file, vma) calls file->f_op->mmap_prepare — this file has only a "
        "legacy ->mmap. For a callback of your own, build the descriptor with "
        "compat_set_desc_from_vma(file, vma), call the callback, then __compat_vma_mmap()."),
)}


def _crash(d: Divergence) -> bool:
    return d.got.result.startswith("hook error") and (
        "AssertionError" in d.got.result or "mmap_prepare" in d.got.result
        or "RecursionError" in d.got.result)


RULES: list[Rule] = [
    ("wrong-compat-entry", _crash),
    ("ignores-prepare-error", lambda d: d.case == "closed channel"
     and d.expected.result.startswith("-") and not d.got.result.startswith("-")),
    ("skipped-compat-mmap", lambda d: d.case == "open channel" and d.op.kind == "mmap"
     and d.got.result == "ok" and d.aspect in ("state", "maps", "ptes")),
    ("skipped-compat-mmap", lambda d: d.case == "open channel"
     and d.expected.result == "-EINVAL" and d.got.result == "ok"),
]


EXERCISE = Exercise(
    nn="04", slug="compat_layer",
    kind="concept", label="chan ring ->mmap via the compat layer",
    answer_names=("chan_bin_mmap",),
    cases=cases, misconceptions=M, rules=RULES,
    extra={"reference_args": lambda: (chan_bin_mmap,)},
)
