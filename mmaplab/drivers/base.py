"""What every driver model provides, so the equivalence harness and exercises can drive it.

A driver module ``mmaplab/drivers/<name>.py`` defines a :class:`Driver`
subclass (the device/object state the mmap hook depends on, small and explicit)
whose ``legacy`` variant installs ``f_op->mmap`` (or ``uio_info->mmap``) as it
was before the series, and whose ``prepare`` variant installs the converted
``f_op->mmap_prepare`` (or ``uio_info->mmap_prepare``) — plus a module-level
``SPEC`` (:class:`DriverSpec`) naming the kernel file/version followed, the
scenarios to run, the differences the series intends, and realistic mutants.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..kernel.flags import (
    MAP_FIXED,
    MAP_SHARED,
    PAGE_SIZE,
    PROT_READ,
    map_flags_names,
    prot_names,
)
from ..kernel.fs import File, FileOperations, FMode, Inode

__all__ = ["Driver", "DriverSpec", "Op", "Scenario", "mmap_op", "munmap_op", "mprotect_op",
           "fork_op", "fault_op", "exit_op", "child_exit_op", "anon_neighbour_op", "WINDOW",
           "WINDOW_PAGES", "Mutant", "answer_mutant", "CharDevice"]

#: Scenarios address pages relative to this base (a fixed, free window).
WINDOW = 0x7F0000000000
#: Pages ``[0, WINDOW_PAGES)`` above :data:`WINDOW` are observed (VMAs, PTEs).
WINDOW_PAGES = 64


class Driver:
    """Device state plus the file operations of one variant (``legacy`` or ``prepare``).

    Subclasses set ``name`` and implement ``file_operations()`` and
    :meth:`observe`; :meth:`open` returns a new ``struct file`` on the device.
    """

    name = "driver"

    def __init__(self, variant: str = "prepare") -> None:
        if variant not in ("legacy", "prepare"):
            raise ValueError(f"variant must be 'legacy' or 'prepare', not {variant!r}")
        self.variant = variant
        self.log: list[str] = []

    def open(self, mode: FMode = FMode.READ | FMode.WRITE) -> File:
        """``open(2)`` of the device node/file: a new ``struct file``."""
        raise NotImplementedError

    def observe(self) -> dict[str, Any]:
        """Driver-private state worth comparing (refcounts, counters, ...), JSON-like."""
        return {}

    def kconfig(self) -> frozenset[str]:
        """The ``CONFIG_*`` options of the kernel this device runs on, as far as a driver
        tests them (``#ifdef CONFIG_MMU``): a C hook is compiled for them.  The model's
        kernel is x86-64 with an MMU; a device that models another build says so."""
        return frozenset({"CONFIG_MMU"})


class CharDevice(Driver):
    """A made-up but kernel-shaped character device of a concept kit (exercises 01-04).

    Its ``struct file`` points back at the device state (``file->private_data``, as
    most drivers' ``open`` sets it).  ``fops`` are the file operations of the variant:
    a subclass builds the legacy or the converted ones; an exercise passes its own
    (the learner's hooks) to compare them with the converted ones.
    """

    name = "dev"
    path = "/dev/exercise"
    devno = (240, 0)

    def __init__(self, variant: str = "prepare", fops: FileOperations | None = None) -> None:
        super().__init__(variant)
        self.f_op = fops if fops is not None else self.file_operations(variant)
        self.inode = Inode(self.path, 0, dev=self.devno)

    def file_operations(self, variant: str) -> FileOperations:
        """The device's own ``file_operations`` for ``variant`` (legacy or converted)."""
        raise NotImplementedError

    def open(self, mode: FMode = FMode.READ | FMode.WRITE) -> File:
        return File(self.inode, self.f_op, mode, private_data=self)


@dataclass(frozen=True)
class Op:
    """One step of a scenario; ``page``/``pages`` are relative to :data:`WINDOW`."""

    kind: str
    page: int = 0
    pages: int = 1
    prot: int = PROT_READ
    flags: int = MAP_SHARED | MAP_FIXED
    offset_pages: int = 0
    mode: FMode = FMode.READ | FMode.WRITE
    write: bool = False
    #: Reuse the file opened by an earlier mmap op (index into the scenario's files).
    same_file: bool = True

    def describe(self) -> str:
        a = WINDOW + self.page * PAGE_SIZE
        if self.kind == "mmap":
            return (f"mmap({a:#x}, {self.pages} page(s), {prot_names(self.prot)}, "
                    f"{map_flags_names(self.flags)}, offset {self.offset_pages} page(s))")
        if self.kind in ("munmap", "mprotect"):
            extra = f", {prot_names(self.prot)}" if self.kind == "mprotect" else ""
            return f"{self.kind}({a:#x}, {self.pages} page(s){extra})"
        if self.kind == "fault":
            return f"{'write' if self.write else 'read'} of {a:#x}"
        if self.kind == "anon":
            return f"anonymous mmap({a:#x}, {self.pages} page(s), {prot_names(self.prot)})"
        return self.kind


def mmap_op(page: int = 0, pages: int = 1, prot: int = PROT_READ, flags: int = MAP_SHARED,
            offset_pages: int = 0, mode: FMode = FMode.READ | FMode.WRITE,
            same_file: bool = True) -> Op:
    """Map the device (MAP_FIXED at ``WINDOW + page``)."""
    return Op("mmap", page, pages, prot, flags | MAP_FIXED, offset_pages, mode,
              same_file=same_file)


def anon_neighbour_op(page: int, pages: int = 1, prot: int = PROT_READ) -> Op:
    """An unrelated anonymous mapping (to test merges next to it)."""
    return Op("anon", page, pages, prot)


def munmap_op(page: int, pages: int = 1) -> Op:
    return Op("munmap", page, pages)


def mprotect_op(page: int, pages: int, prot: int) -> Op:
    return Op("mprotect", page, pages, prot)


def fault_op(page: int, write: bool = False) -> Op:
    return Op("fault", page, write=write)


def fork_op() -> Op:
    """fork(): the child's address space is kept until ``child_exit_op``."""
    return Op("fork")


def child_exit_op() -> Op:
    return Op("child_exit")


def exit_op() -> Op:
    """exit(): unmap everything in the parent."""
    return Op("exit")


@dataclass(frozen=True)
class Scenario:
    """A named sequence of operations on a fresh address space and fresh device."""

    name: str
    ops: tuple[Op, ...]
    note: str = ""
    #: Optional fault injection: (point, nth) — see mmaplab.kernel.debug.fault_inject.POINTS.
    inject: tuple[str, int] | None = None


@dataclass(frozen=True)
class Mutant:
    """A realistic wrong conversion, written once and used three ways.

    ``make()`` returns the broken driver; the harness's mutant check compares it with
    ``reference(variant)`` (default: the spec's ``make``), i.e. the same device in the
    configuration where the mistake shows, on ``scenarios()`` (default: the spec's).
    ``answer`` is the same mistake as a learner writes it: the functions of the
    exercise's answer cell it replaces, by name; the exercise feeds them to its check
    and names ``misconception`` when its run looks like this one.  ``breaks`` names the
    rule of the contract the mistake breaks (an id of :data:`mmaplab.lab.diagnose.RULES`),
    so a learner who makes the same kind of mistake in other words is told the same.
    """

    name: str
    misconception: str
    make: Callable[[], Driver]
    breaks: str = ""
    answer: Mapping[str, Any] = field(default_factory=dict)
    reference: Callable[[str], Driver] | None = None
    scenarios: Callable[[], tuple[Scenario, ...]] | None = None


def answer_mutant(name: str, misconception: str, base: type[Driver], breaks: str,
                  answer: Mapping[str, Callable[..., Any]],
                  config: Mapping[str, Any] | None = None) -> Mutant:
    """A :class:`Mutant` written as an answer: ``base`` with the methods in ``answer``
    replaced, built as its ``prepare`` variant with ``config`` (device state where the
    mistake shows; the reference is built with the same ``config``)."""
    cls = type(f"_Mutant{base.__name__}", (base,), dict(answer))
    kw = dict(config or {})
    ref = (lambda variant: base(variant, **kw)) if kw else None
    return Mutant(name, misconception, lambda: cls("prepare", **kw), breaks, dict(answer), ref)


@dataclass(frozen=True)
class DriverSpec:
    """Everything the harness needs to know about one driver model."""

    name: str
    kernel_files: tuple[str, ...]
    kernel_version: str
    make: Callable[[str], Driver]
    scenarios: tuple[Scenario, ...]
    #: Differences the series intends, keyed by a short id the harness reports,
    #: with the explanation a learner should read.
    intended: dict[str, str] = field(default_factory=dict)
    mutants: tuple[Mutant, ...] = ()
    #: Differences that are defects of the upstream conversion: the converted kernel
    #: code (as posted) is wrong there and the model reproduces it faithfully. Keyed
    #: like ``intended``; the value says what goes wrong and where in the kernel.
    defects: dict[str, str] = field(default_factory=dict)
