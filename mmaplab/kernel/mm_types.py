"""The structures of the mapping path: mm_struct, VMA, vm_ops, vm_area_desc, mmap_action, anon_vma.

Models ``struct mm_struct`` (its fields; the system calls live in ``mmaplab.kernel.mm``),
``struct vm_area_struct``, ``struct vm_operations_struct``,
``struct vm_area_desc``, ``struct mmap_action`` and ``struct anon_vma``
(include/linux/mm_types.h and include/linux/rmap.h, Linux 7.0 plus the
"mm: expand mmap_prepare functionality" v4 series).

``vm_area_desc`` enforces what a ``mmap_prepare`` hook may touch: ``mm``,
``file``, ``start`` and ``end`` are immutable; ``pgoff``, ``vm_file``, the
flags (``vma_flags``, a ``vma_flags_t``) and ``page_prot`` may change; ``vm_ops``
and ``private_data`` are outputs; ``action`` says what to do once the VMA exists.
"""

from __future__ import annotations

import enum
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .config import DEFAULT, KernelConfig
from .debug.fault_inject import FaultInjector
from .debug.trace import Trace
from .errors import HookViolation, UseAfterFreeError
from .flags import (
    DEFAULT_MAX_MAP_COUNT,
    DEFAULT_MMAP_MIN_ADDR,
    DEFAULT_RLIMIT_MEMLOCK,
    DEFAULT_START_BRK,
    MMAP_BASE,
    PAGE_SHIFT,
    RLIM_INFINITY,
    TASK_SIZE,
    TASK_UNMAPPED_BASE,
    VMFlag,
)
from .locks import LockLeak, RwSemaphore
from .maple_tree import MapleTree
from .pgtable import PageTable, Pgprot
from .vma_flags import (
    VmaFlagBit,
    VmaFlags,
    check_vma_bits,
    legacy_to_vma_flags,
    mk_vma_flags,
    vma_flags_andnot,
    vma_flags_or,
    vma_flags_test,
    vma_flags_test_all_mask,
    vma_flags_test_any_mask,
    vma_flags_to_legacy,
)

if TYPE_CHECKING:
    from .fs import File
    from .page_alloc import Page

__all__ = ["MmStruct", "AnonVma", "VmOperationsStruct", "VmAreaStruct", "VmAreaDesc", "MmapAction",
           "MmapActionType", "VmFault", "Ref", "vma_pages", "vma_dummy_vm_ops",
           "vma_desc_set_flags", "vma_desc_clear_flags", "vma_desc_test", "vma_desc_test_any",
           "vma_desc_test_all", "vma_desc_is_cow_mapping", "vma_desc_size", "vma_desc_pages",
           "vma_desc_set_flags_mask", "vma_desc_clear_flags_mask", "vma_desc_test_any_mask",
           "vma_desc_test_all_mask", "desc_legacy_flags", "HookVmArea", "HookMmapAction",
           "HookVmFault", "check_mmap_action", "hooks_running"]

_serial = itertools.count(1)


class MmStruct:
    """``struct mm_struct`` (include/linux/mm_types.h): the state of one address space.

    Only the fields; every mechanism takes ``mm: MmStruct``.  The system calls that
    act on it are methods of its subclass :class:`mmaplab.kernel.mm.MM`, the one module
    that sees every mechanism (as mm/mmap.c, mm/vma.c and mm/mprotect.c all see
    ``mm_struct`` but ``mm_struct`` sees none of them).
    """

    def __init__(self, *, mmap_min_addr: int = DEFAULT_MMAP_MIN_ADDR,
                 cap_sys_rawio: bool = False, max_map_count: int = DEFAULT_MAX_MAP_COUNT,
                 config: KernelConfig = DEFAULT, trace: bool = False,
                 rlimit_memlock: int = DEFAULT_RLIMIT_MEMLOCK, cap_ipc_lock: bool = False,
                 pku: bool = False, start_brk: int = DEFAULT_START_BRK,
                 rlimit_data: int = RLIM_INFINITY, rlimit_as: int = RLIM_INFINITY,
                 mdwe: bool = False) -> None:
        #: ``mm->mm_mt``: the VMAs, keyed by address.
        self.mt: MapleTree[VmAreaStruct] = MapleTree()
        #: ``mm->pgd``: the page tables.
        self.pagetable = PageTable()
        self.mmap_lock = RwSemaphore("&mm->mmap_lock", "mmap_lock")
        self.mmap_min_addr = mmap_min_addr
        self.cap_sys_rawio = cap_sys_rawio
        self.max_map_count = max_map_count
        self.config = config
        self.task_size = TASK_SIZE
        self.mmap_base = MMAP_BASE
        self.task_unmapped_base = TASK_UNMAPPED_BASE
        self.def_flags = VMFlag.NONE
        self.total_vm = 0
        self.locked_vm = 0
        #: RLIMIT_MEMLOCK (bytes) and CAP_IPC_LOCK of the owning task, for mlock.
        self.rlimit_memlock = rlimit_memlock
        self.cap_ipc_lock = cap_ipc_lock
        #: x86 protection keys are on: PROT_EXEC-only memory gets the execute-only pkey.
        self.pku = pku
        #: ``mm->start_brk`` and ``mm->brk``: the heap, as exec leaves it (empty).  The
        #: kernel's ``mm->brk`` is ``cur_brk`` here because ``MM.brk()`` is the system
        #: call; ``mm.brk(0)`` reads it, as userspace does.
        self.start_brk = start_brk
        self.cur_brk = start_brk
        #: ``mm->start_data``/``end_data``: the data segment, which RLIMIT_DATA also counts
        #: for brk (empty: the model maps no program image).
        self.start_data = self.end_data = 0
        #: RLIMIT_DATA (brk's ``check_data_rlimit()``) and RLIMIT_AS (``may_expand_vm()``),
        #: in bytes.
        self.rlimit_data = rlimit_data
        self.rlimit_as = rlimit_as
        #: ``MMF_HAS_MDWE``: memory-deny-write-execute is on (``prctl(PR_SET_MDWE)``).
        self.mdwe = mdwe
        #: The munmap state of the mmap in progress (``__mmap_region()``'s gathered VMAs,
        #: which the kernel's tree still holds): what v4's compat unmap would hit (D7).
        self.vms_in_flight: Any = None
        #: Pages charged to overcommit accounting (``vm_acct_memory``) for VM_ACCOUNT VMAs.
        self.committed_pages = 0
        self.trace = Trace(enabled=trace)
        #: The debug aids subscribed to this mm's event points, in subscription order
        #: (``events.MmObserver``s, ``mmaplab.kernel.debug.events.attach``); empty, the
        #: common case, they cost nothing.
        self.observers: tuple[Any, ...] = ()
        #: Kernel warnings (``WARN_ON_ONCE`` splats) in the order they happened.
        self.warnings: list[str] = []
        #: Locks still held when a system call returned (``lockdep_sys_exit()``), on the
        #: success and the error paths alike, oldest first; the model released them.
        self.lock_leaks: list[LockLeak] = []
        #: The armed fault-injection point, if any (see :meth:`MM.injecting`).
        self.inject: FaultInjector | None = None
        #: VMAs created in this mm so far: numbers them per address space for display
        #: (``VMA #3``), so a page's output does not depend on what ran before it.
        self.vmas_created = 0

    def next_vma_nr(self) -> int:
        """The display number of the next VMA created in this mm (1, 2, ...)."""
        self.vmas_created += 1
        return self.vmas_created

    @property
    def map_count(self) -> int:
        """``mm->map_count``."""
        return self.mt.count

    def warn(self, msg: str) -> None:
        """Record a ``WARN_ON_ONCE``-style kernel warning."""
        self.warnings.append(msg)
        self.trace.step("WARNING", msg)

    def should_fail(self, point: str) -> bool:
        """``should_fail()`` (lib/fault-inject.c): is fault-injection ``point`` to fail now?

        The model consults this wherever the kernel can fail an allocation or a hook;
        it is false unless a :class:`~mmaplab.kernel.debug.fault_inject.FaultInjector`
        is armed for ``point``.
        """
        return self.inject is not None and self.inject.should_fail(point)

    def injected_error(self, point: str) -> int:
        """For a hook ``point``: the negative errno to return if it is to fail now, else 0."""
        if self.inject is not None and self.inject.should_fail(point):
            return -self.inject.err
        return 0


class AnonVma:
    """``struct anon_vma``: groups the anonymous (COW) pages of related VMAs.

    Only identity matters for merging; ``parent`` records fork ancestry.
    """

    __slots__ = ("id", "parent")
    _ids = itertools.count(1)

    def __init__(self, parent: AnonVma | None = None) -> None:
        self.id = next(AnonVma._ids)
        self.parent = parent

    def __repr__(self) -> str:
        return f"<anon_vma #{self.id}>"


class Ref:
    """An out-parameter (``void **``): hooks read and set ``.value``."""

    __slots__ = ("value",)

    def __init__(self, value: Any = None) -> None:
        self.value = value

    def __repr__(self) -> str:
        return f"Ref({self.value!r})"


@dataclass(frozen=True)
class VmOperationsStruct:
    """``struct vm_operations_struct`` — hooks return 0 or a negative errno.

    * ``open(vma)``: a VMA was duplicated — split, remapped or forked; *not*
      called on first mapping.
    * ``close(vma)``: the VMA is being removed.
    * ``mapped(start, end, pgoff, file, private_data: Ref) -> int``: the VMA was
      newly established by ``mmap_prepare`` and not merged (v4 series); an error
      unmaps it and fails the mmap.
    * ``may_split(vma, addr) -> int``: veto a split.
    * ``fault(vmf) -> int``: resolve a page fault (return 0 or ``VM_FAULT_*``).
    * ``mremap(new_vma) -> int``: the VMA's pages were moved to ``new_vma`` by mremap();
      an error moves them back and fails the call (``copy_vma_and_data()``, mm/mremap.c).
    * ``page_mkwrite(vmf)``, ``pfn_mkwrite(vmf)``: a read-only PTE is about to become
      writable (``pfn_mkwrite`` for VM_PFNMAP/VM_MIXEDMAP; it also lets
      ``vm_mixed_zeropage_allowed()`` insert the zero page in a VM_IO mapping).
    * ``vma_name(vma) -> str | None``: the kernel's ``name`` callback, the text
      /proc/<pid>/maps shows for a VMA without a file (special mappings).
    * Kept for completeness, not called by the model (no huge pages, fault-around,
      ``access_process_vm`` or ``vm_normal_page`` special pages): ``huge_fault``,
      ``map_pages``, ``access``, ``pagesize``, ``find_special_page``.

    ``name`` is not a kernel member: it is the model's label for the ops table in
    traces and reports (the kernel's ``name`` callback is ``vma_name`` here, so that the
    label can stay a plain string).
    """

    name: str = "vm_ops"
    open: Callable[[VmAreaStruct], None] | None = None
    close: Callable[[VmAreaStruct], None] | None = None
    mapped: Callable[..., int | None] | None = None
    may_split: Callable[[VmAreaStruct, int], int | None] | None = None
    fault: Callable[[VmFault], int] | None = None
    page_mkwrite: Callable[[VmFault], int] | None = None
    mprotect: Callable[..., int | None] | None = None
    mremap: Callable[[VmAreaStruct], int | None] | None = None
    pfn_mkwrite: Callable[[VmFault], int] | None = None
    vma_name: Callable[[VmAreaStruct], str | None] | None = None
    huge_fault: Callable[..., int] | None = None
    map_pages: Callable[..., int] | None = None
    access: Callable[..., int] | None = None
    pagesize: Callable[[VmAreaStruct], int] | None = None
    find_special_page: Callable[..., Any] | None = None


#: ``vma_dummy_vm_ops``: what a closed VMA's ops are swapped for so close never runs twice.
vma_dummy_vm_ops = VmOperationsStruct(name="vma_dummy_vm_ops")


class VmAreaStruct:
    """``struct vm_area_struct``: one contiguous mapping ``[vm_start, vm_end)``."""

    __slots__ = ("vm_mm", "vm_start", "vm_end", "vm_pgoff", "vm_flags", "vm_page_prot",
                 "vm_file", "vm_ops", "null_vm_ops", "vm_private_data", "anon_vma",
                 "anon_vma_chain", "serial", "nr", "detached", "freed_at", "__weakref__")

    def __init__(self, mm: MmStruct | None, start: int, end: int, pgoff: int, flags: VMFlag,
                 page_prot: Pgprot = Pgprot.NONE, file: File | None = None) -> None:
        self.vm_mm = mm
        self.vm_start = start
        self.vm_end = end
        self.vm_pgoff = pgoff
        self.vm_flags = flags
        self.vm_page_prot = page_prot
        self.vm_file = file
        self.vm_ops: VmOperationsStruct | None = None
        #: ``vm_ops`` is None in the model both for "no ops" and for a file VMA's
        #: ``vma_dummy_vm_ops`` (what ``vma_init()`` installs); this marks a file VMA whose
        #: ops the kernel really set to NULL (v4's compat copy-back, D10), which
        #: ``vma_is_anonymous()`` then calls anonymous.
        self.null_vm_ops = False
        self.vm_private_data: Any = None
        self.anon_vma: AnonVma | None = None
        #: ``anon_vma_chain`` as a tuple of anon_vmas (own last); length > 1 after fork.
        self.anon_vma_chain: tuple[AnonVma, ...] = ()
        #: Identity across all mms (keys ``i_mmap``, which fork shares between mms).
        self.serial = next(_serial)
        #: Display number within ``vm_mm``: what ``VMA #n`` in traces and reports means.
        self.nr = mm.next_vma_nr() if mm is not None else 0
        self.detached = True
        self.freed_at = ""

    # Convenience accessors for notebooks; the kernel spells these vma_pages() etc.
    @property
    def pages(self) -> int:
        return (self.vm_end - self.vm_start) >> PAGE_SHIFT

    def __repr__(self) -> str:
        f = f" {self.vm_file.name}" if self.vm_file is not None else ""
        return (f"<vma #{self.nr} {self.vm_start:#x}-{self.vm_end:#x} pgoff={self.vm_pgoff:#x}"
                f" {self.vm_flags.names()}{f}>")


class FreedVmArea(VmAreaStruct):
    """A VMA after ``vm_area_free()``: any field access is a use-after-free (KASAN)."""

    __slots__ = ()

    def __getattribute__(self, attr: str) -> Any:
        if attr in ("__class__", "serial", "nr", "freed_at", "__repr__"):
            return object.__getattribute__(self, attr)
        nr = object.__getattribute__(self, "nr")
        where = object.__getattribute__(self, "freed_at")
        raise UseAfterFreeError(
            f"use-after-free: VMA #{nr} was freed (in {where}) and then its field "
            f"'{attr}' was accessed", obj="vma"
        )

    def __setattr__(self, attr: str, value: Any) -> None:
        self.__getattribute__(attr)

    def __repr__(self) -> str:
        return f"<freed vma #{object.__getattribute__(self, 'nr')}>"


#: The hooks running now, innermost last: whose write a :class:`HookViolation` names.
hooks_running: list[str] = []


def _hook_name() -> str:
    return hooks_running[-1] if hooks_running else "a hook"


def _refuse_write(kind: str, fields: dict[str, tuple[str, Callable[[Any], bool]]],
                  attr: str, value: Any) -> None:
    """Raise HookViolation unless ``value`` fits field ``attr`` of a ``kind``."""
    check = fields.get(attr)
    if check is None:
        raise HookViolation(_hook_name(), f"{kind} has no field '{attr}'")
    expected, ok = check
    if not ok(value):
        raise HookViolation(_hook_name(), f"{kind.split()[-1]}.{attr} must be {expected}, "
                            f"not {_describe(value)}")


class HookVmArea(VmAreaStruct):
    """A VMA while a hook holds it: every write is type-checked, at the write.

    ``mmaplab.kernel.hooks`` swaps the class of each VMA it passes to a hook to this
    one for the duration of the call and back afterwards, so a wrong-typed write
    (``vma.vm_ops = 42``, ``vma.vm_flags = "rw"``) raises a HookViolation naming the
    field and the C type, while the model's own writes outside hooks cost nothing.
    """

    __slots__ = ()

    def __setattr__(self, attr: str, value: Any) -> None:
        _refuse_write("struct vm_area_struct vma", _VMA_FIELDS, attr, value)
        object.__setattr__(self, attr, value)


def vm_area_free(vma: VmAreaStruct, where: str) -> None:
    """``vm_area_free()``: the object becomes poisoned."""
    vma.freed_at = where
    vma.__class__ = FreedVmArea


def vma_pages(vma: VmAreaStruct) -> int:
    """``vma_pages()``: the VMA's size in pages (for a descriptor: ``vma_desc_pages()``)."""
    if isinstance(vma, VmAreaDesc):
        raise TypeError("vma_pages() takes a struct vm_area_struct *; for a vm_area_desc the "
                        "kernel has vma_desc_pages(desc)")
    return (vma.vm_end - vma.vm_start) >> PAGE_SHIFT


class MmapActionType(enum.Enum):
    """``enum mmap_action_type``."""

    MMAP_NOTHING = "nothing"
    MMAP_REMAP_PFN = "remap_pfn"
    MMAP_IO_REMAP_PFN = "io_remap_pfn"
    MMAP_SIMPLE_IO_REMAP = "simple_io_remap"
    MMAP_MAP_KERNEL_PAGES = "map_kernel_pages"


@dataclass
class MmapAction:
    """``struct mmap_action``: work to do once the VMA exists, plus optional hooks.

    In C the per-type parameters are a union; here each member of it is a flat field
    named after the union member it stands for: ``remap_start``/``remap_start_pfn``/
    ``remap_size``/``remap_pgprot`` are ``action->remap.*`` (pfn and I/O remaps),
    ``simple_ioremap_start_phys_addr``/``simple_ioremap_size`` are
    ``action->simple_ioremap.*``, ``map_kernel_start``/``map_kernel_pages``/
    ``map_kernel_nr_pages``/``map_kernel_pgoff`` are ``action->map_kernel.*``.  Only the
    fields of ``type`` mean anything (the others keep their zero values, as the union's
    other view would).  ``success_hook(vma) -> int`` runs after the action and
    ``mapped``; ``error_hook(err) -> int`` may rewrite the error and must not clear it
    (one that returns 0 makes mmap report success for a mapping it removed, as in the
    kernel: see ``mmap_action_finish()``).
    ``remap_pgprot`` is used exactly as captured (C5): the helpers capture
    ``desc->page_prot``; a hook that fills the action by hand leaves it zero.
    """

    type: MmapActionType = MmapActionType.MMAP_NOTHING
    # remap / io remap
    remap_start: int = 0
    remap_start_pfn: int = 0
    remap_size: int = 0
    remap_pgprot: Pgprot = Pgprot.NONE
    # simple ioremap
    simple_ioremap_start_phys_addr: int = 0
    simple_ioremap_size: int = 0
    # map kernel pages
    map_kernel_start: int = 0
    map_kernel_pages: list[Page] = field(default_factory=list)
    map_kernel_nr_pages: int = 0
    map_kernel_pgoff: int = 0
    success_hook: Callable[[VmAreaStruct], int | None] | None = None
    error_hook: Callable[[int], int] | None = None
    hide_from_rmap_until_complete: bool = False


class HookMmapAction(MmapAction):
    """A descriptor's ``mmap_action`` while its ``mmap_prepare`` hook runs: writes are
    type-checked (a pfn, a size, a hook), as :class:`HookVmArea` does for VMAs."""

    def __setattr__(self, attr: str, value: Any) -> None:
        _refuse_write("struct mmap_action action", _ACTION_FIELDS, attr, value)
        object.__setattr__(self, attr, value)


def check_mmap_action(action: MmapAction) -> str:
    """The first field of ``action`` holding a value of the wrong type, as a message ("")."""
    for attr, (expected, ok) in _ACTION_FIELDS.items():
        value = getattr(action, attr)
        if not ok(value):
            return f"action.{attr} must be {expected}, not {_describe(value)}"
    return ""


class VmAreaDesc:
    """``struct vm_area_desc``: a mapping that does not exist yet, for ``mmap_prepare``.

    Immutable (a model rule, see below): ``mm``, ``file``, ``start``, ``end``.
    Mutable (pre-filled): ``pgoff``, ``vm_file``, ``vma_flags`` (a ``vma_flags_t``,
    :class:`~mmaplab.kernel.vma_flags.VmaFlags`), ``page_prot``.  Outputs: ``vm_ops``,
    ``private_data``.  ``action``: what to do after the VMA is created.

    Every write is checked at the write: a value of the wrong type raises
    :class:`HookViolation` naming the field and the type C would have required, so a
    bad hook fails where it went wrong rather than deep inside the mapping path.
    The kernel does not guard ``mm``/``file``/``start``/``end`` (after v4 17/21 they
    are plain fields documented as "immutable state"); refusing the write is a
    teaching guard of the model, labelled as such in the message.
    There is no ``vm_flags`` member: Linux 7.0 renamed the descriptor's field to
    ``vma_flags`` and changed its type; the old name raises a HookViolation saying so.
    """

    __slots__ = ("_mm", "_file", "_start", "_end", "pgoff", "vm_file", "vma_flags",
                 "page_prot", "vm_ops", "private_data", "action", "hook")
    #: The hook the descriptor is given to (for messages); set through object.__setattr__.
    hook: str
    # Set once through object.__setattr__ (the immutable fields); declared for the checker.
    _mm: MmStruct | None
    _file: File | None
    _start: int
    _end: int
    action: MmapAction

    def __init__(self, mm: MmStruct | None, file: File | None, start: int, end: int, pgoff: int,
                 vm_file: File | None, vma_flags: VmaFlags | VMFlag, page_prot: Pgprot) -> None:
        object.__setattr__(self, "_mm", mm)
        object.__setattr__(self, "_file", file)
        object.__setattr__(self, "_start", start)
        object.__setattr__(self, "_end", end)
        object.__setattr__(self, "hook", "f_op->mmap_prepare")
        if isinstance(vma_flags, VMFlag):
            vma_flags = legacy_to_vma_flags(vma_flags)
        self.pgoff = pgoff
        self.vm_file = vm_file
        self.vma_flags = vma_flags
        self.page_prot = page_prot
        self.vm_ops: VmOperationsStruct | None = None
        self.private_data: Any = None
        object.__setattr__(self, "action", MmapAction())  # a fresh one needs no check

    def __setattr__(self, attr: str, value: Any) -> None:
        if attr in ("mm", "file", "start", "end"):
            raise HookViolation(
                self.hook,
                f"assigned desc.{attr}, which is immutable: the address range, the mm and the "
                "file being mapped are decided by the caller of mmap_prepare (a model rule: "
                "the kernel documents these as immutable but does not enforce it)",
            )
        if attr == "vm_flags":
            raise HookViolation(self.hook, _NO_VM_FLAGS)
        check = _DESC_FIELDS.get(attr)
        if check is None:
            raise HookViolation(
                self.hook,
                f"vm_area_desc has no field '{attr}'; a hook may set pgoff, vm_file, vma_flags, "
                "page_prot, vm_ops, private_data and action",
            )
        expected, ok = check
        if not ok(value):
            raise HookViolation(
                self.hook, f"desc.{attr} must be {expected}, not {_describe(value)}")
        object.__setattr__(self, attr, value)

    @property
    def mm(self) -> MmStruct | None:
        return self._mm

    @property
    def file(self) -> File:
        """``desc->file``: the file being mapped.  Never NULL in the kernel: only a file
        mapping reaches ``f_op->mmap_prepare``.  (Unit tests of the flag helpers build a
        descriptor without one; reading it then is refused by name.)"""
        if self._file is None:
            raise HookViolation(self.hook, "this vm_area_desc was built without a file")
        return self._file

    @property
    def start(self) -> int:
        return self._start

    @property
    def end(self) -> int:
        return self._end

    @property
    def vm_flags(self) -> Any:
        """Gone since Linux 7.0: the field is ``vma_flags`` (reading it explains that)."""
        raise HookViolation(self.hook, _NO_VM_FLAGS)

    def __repr__(self) -> str:
        return (f"<vm_area_desc {self.start:#x}-{self.end:#x} pgoff={self.pgoff:#x} "
                f"{self.vma_flags.names()}>")


_NO_VM_FLAGS = (
    "vm_area_desc has no field 'vm_flags': since Linux 7.0 the descriptor's flags are "
    "desc.vma_flags, a vma_flags_t bitmap addressed by VMA_*_BIT numbers. Use "
    "vma_desc_test(desc, VMA_SHARED_BIT), vma_desc_set_flags(desc, VMA_IO_BIT, ...) and "
    "vma_desc_clear_flags(desc, ...)"
)

_ULONG_MAX = (1 << 64) - 1


def _describe(value: Any) -> str:
    text = repr(value)
    if len(text) > 40:
        text = text[:37] + "..."
    return f"{type(value).__name__} {text}"


def _is_file_or_none(value: Any) -> bool:
    from .fs import File
    return value is None or isinstance(value, File)


def _is_ulong(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= _ULONG_MAX


#: What each writable descriptor field holds in C, and the check for it.
_DESC_FIELDS: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "pgoff": ("a pgoff_t (an int in 0..2**64-1)", _is_ulong),
    "vm_file": ("a struct file * (File or None)", _is_file_or_none),
    "vma_flags": ("a vma_flags_t (mk_vma_flags(...), or change it with vma_desc_set_flags())",
                  lambda v: isinstance(v, VmaFlags)),
    "page_prot": ("a pgprot_t (Pgprot)", lambda v: isinstance(v, Pgprot)),
    "vm_ops": ("a const struct vm_operations_struct * (VmOperationsStruct or None)",
               lambda v: v is None or isinstance(v, VmOperationsStruct)),
    "private_data": ("a void *", lambda v: True),
    "action": ("a struct mmap_action (MmapAction) whose fields have their C types",
               lambda v: isinstance(v, MmapAction) and not check_mmap_action(v)),
    # not a kernel field: the model's name for the hook holding the descriptor
    "hook": ("a str", lambda v: isinstance(v, str)),
}


def _is_page_aligned(value: Any) -> bool:
    return _is_ulong(value) and not value & ((1 << PAGE_SHIFT) - 1)


def _is_ops(value: Any) -> bool:
    return value is None or isinstance(value, VmOperationsStruct)


def _is_mm(value: Any) -> bool:
    return value is None or isinstance(value, MmStruct)


def _is_hook(value: Any) -> bool:
    return value is None or callable(value)


def _is_pages(value: Any) -> bool:
    # An array: a list of Page, or the C front end's view of a struct page * array
    # (what each element is, insert_pages() checks as it maps it).
    return (hasattr(value, "__getitem__") and hasattr(value, "__len__")
            and not isinstance(value, (str, bytes, dict)))


_ULONG = "an unsigned long (an int in 0..2**64-1)"

#: What each field of a VMA holds in C (include/linux/mm_types.h), checked while a hook
#: holds the VMA; the last four are the model's own bookkeeping.
_VMA_FIELDS: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "vm_start": ("a page-aligned unsigned long", _is_page_aligned),
    "vm_end": ("a page-aligned unsigned long", _is_page_aligned),
    "vm_pgoff": ("a pgoff_t (an int in 0..2**64-1)", _is_ulong),
    "vm_flags": ("a vm_flags_t (VMFlag, e.g. VMFlag.IO | VMFlag.PFNMAP)",
                 lambda v: isinstance(v, VMFlag)),
    "vm_page_prot": ("a pgprot_t (Pgprot)", lambda v: isinstance(v, Pgprot)),
    "vm_file": ("a struct file * (File or None)", _is_file_or_none),
    "vm_ops": ("a const struct vm_operations_struct * (VmOperationsStruct or None)", _is_ops),
    "vm_private_data": ("a void *", lambda v: True),
    "vm_mm": ("a struct mm_struct *", _is_mm),
    "anon_vma": ("a struct anon_vma * (AnonVma or None)",
                 lambda v: v is None or isinstance(v, AnonVma)),
    "anon_vma_chain": ("a tuple of AnonVma", lambda v: isinstance(v, tuple)),
    "serial": ("an int", lambda v: isinstance(v, int)),
    "nr": ("an int", lambda v: isinstance(v, int)),
    "detached": ("a bool", lambda v: isinstance(v, bool)),
    "freed_at": ("a str", lambda v: isinstance(v, str)),
    "null_vm_ops": ("a bool", lambda v: isinstance(v, bool)),
}
# A field added to the VMA later and not listed above is let through unchecked.
for _slot in VmAreaStruct.__slots__:
    _VMA_FIELDS.setdefault(_slot, ("any value", lambda v: True))

#: What each field of ``struct mmap_action`` holds (v4 series), checked at a hook's write.
_ACTION_FIELDS: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "type": ("an enum mmap_action_type (MmapActionType)",
             lambda v: isinstance(v, MmapActionType)),
    "remap_start": (_ULONG, _is_ulong),
    "remap_start_pfn": ("an unsigned long pfn (an int in 0..2**64-1)", _is_ulong),
    "remap_size": (_ULONG, _is_ulong),
    "remap_pgprot": ("a pgprot_t (Pgprot or None)", lambda v: v is None or isinstance(v, Pgprot)),
    "simple_ioremap_start_phys_addr": ("a phys_addr_t (an int in 0..2**64-1)", _is_ulong),
    "simple_ioremap_size": (_ULONG, _is_ulong),
    "map_kernel_start": (_ULONG, _is_ulong),
    "map_kernel_pages": ("a struct page *[] (a list of Page)", _is_pages),
    "map_kernel_nr_pages": (_ULONG, _is_ulong),
    "map_kernel_pgoff": ("a pgoff_t (an int in 0..2**64-1)", _is_ulong),
    "success_hook": ("a function or None", _is_hook),
    "error_hook": ("a function or None", _is_hook),
    "hide_from_rmap_until_complete": ("a bool", lambda v: isinstance(v, bool)),
}


# -- flag accessors the kernel provides for descriptors (include/linux/mm.h, 7.0) --

def vma_desc_test(desc: VmAreaDesc, bit: VmaFlagBit, *more: Any) -> bool:
    """``vma_desc_test(desc, bit)``: is this one ``VMA_*_BIT`` set?

    The kernel's takes exactly one bit; for several use :func:`vma_desc_test_any` or
    :func:`vma_desc_test_all`.
    """
    if more:
        raise TypeError("vma_desc_test() takes one VMA_*_BIT; for several bits use "
                        "vma_desc_test_any(desc, ...) or vma_desc_test_all(desc, ...)")
    (b,) = check_vma_bits("vma_desc_test", (bit,))
    return vma_flags_test(desc.vma_flags, b)


def vma_desc_test_any_mask(desc: VmAreaDesc, flags: VmaFlags) -> bool:
    """``vma_desc_test_any_mask()``: is any bit of the mask set?"""
    return vma_flags_test_any_mask(desc.vma_flags, flags)


def vma_desc_test_any(desc: VmAreaDesc, *bits: VmaFlagBit) -> bool:
    """``vma_desc_test_any(desc, ...)``: is any of these ``VMA_*_BIT`` set?"""
    return vma_desc_test_any_mask(desc, mk_vma_flags(*check_vma_bits("vma_desc_test_any", bits)))


def vma_desc_test_all_mask(desc: VmAreaDesc, flags: VmaFlags) -> bool:
    """``vma_desc_test_all_mask()``: are all bits of the mask set?"""
    return vma_flags_test_all_mask(desc.vma_flags, flags)


def vma_desc_test_all(desc: VmAreaDesc, *bits: VmaFlagBit) -> bool:
    """``vma_desc_test_all(desc, ...)``: are all of these ``VMA_*_BIT`` set?"""
    return vma_desc_test_all_mask(desc, mk_vma_flags(*check_vma_bits("vma_desc_test_all", bits)))


def vma_desc_set_flags_mask(desc: VmAreaDesc, flags: VmaFlags) -> None:
    """``vma_desc_set_flags_mask()``: set every bit of the mask on the proposed VMA."""
    desc.vma_flags = vma_flags_or(desc.vma_flags, flags)


def vma_desc_set_flags(desc: VmAreaDesc, *bits: VmaFlagBit) -> None:
    """``vma_desc_set_flags(desc, ...)``: set these ``VMA_*_BIT`` on the proposed VMA."""
    vma_desc_set_flags_mask(desc, mk_vma_flags(*check_vma_bits("vma_desc_set_flags", bits)))


def vma_desc_clear_flags_mask(desc: VmAreaDesc, flags: VmaFlags) -> None:
    """``vma_desc_clear_flags_mask()``: clear every bit of the mask."""
    desc.vma_flags = vma_flags_andnot(desc.vma_flags, flags)


def vma_desc_clear_flags(desc: VmAreaDesc, *bits: VmaFlagBit) -> None:
    """``vma_desc_clear_flags(desc, ...)``: clear these ``VMA_*_BIT``."""
    vma_desc_clear_flags_mask(desc, mk_vma_flags(*check_vma_bits("vma_desc_clear_flags", bits)))


def vma_desc_is_cow_mapping(desc: VmAreaDesc) -> bool:
    """``vma_desc_is_cow_mapping()``: private (no VMA_SHARED_BIT) and VMA_MAYWRITE_BIT."""
    return (vma_desc_test(desc, VmaFlagBit.MAYWRITE)
            and not vma_desc_test(desc, VmaFlagBit.SHARED))


def vma_desc_size(desc: VmAreaDesc) -> int:
    """``vma_desc_size()``: ``end - start`` in bytes."""
    return desc.end - desc.start


def vma_desc_pages(desc: VmAreaDesc) -> int:
    """``vma_desc_pages()``: the proposed VMA's size in pages."""
    return vma_desc_size(desc) >> PAGE_SHIFT


def desc_legacy_flags(desc: VmAreaDesc) -> VMFlag:
    """The descriptor's flags as ``vm_flags_t``, where the model's VMA code needs them
    (the kernel's ``vma_flags_to_legacy()`` when copying into ``vm_area_struct``)."""
    return vma_flags_to_legacy(desc.vma_flags)


@dataclass(slots=True)
class VmFault:
    """``struct vm_fault`` passed to ``vm_ops->fault``: the handler sets ``page``."""

    vma: VmAreaStruct
    address: int
    pgoff: int
    write: bool
    page: Page | None = None


class HookVmFault(VmFault):
    """A ``vm_fault`` while the fault handler runs: ``vmf.page`` must be a page."""

    __slots__ = ()  # the same layout as VmFault, so the class can be swapped

    def __setattr__(self, attr: str, value: Any) -> None:
        _refuse_write("struct vm_fault vmf", _VMF_FIELDS, attr, value)
        object.__setattr__(self, attr, value)


def _is_page(value: Any) -> bool:
    from .page_alloc import Page
    return value is None or isinstance(value, Page)


_VMF_FIELDS: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "vma": ("a struct vm_area_struct *", lambda v: isinstance(v, VmAreaStruct)),
    "address": (_ULONG, _is_ulong),
    "pgoff": ("a pgoff_t (an int in 0..2**64-1)", _is_ulong),
    "write": ("a bool", lambda v: isinstance(v, bool)),
    "page": ("a struct page * (Page or None)", _is_page),
}
