"""VMA flags, protection and mapping constants, with their Linux values.

Models ``include/linux/mm.h`` (``VM_*`` bits, ``VM_SPECIAL`` and friends,
``calc_vm_prot_bits``/``calc_vm_flag_bits`` from ``include/linux/mman.h``) and
``include/uapi/asm-generic/mman-common.h`` plus the x86-64 ``mman.h`` values.
Bit numbers follow Linux 6.18 on x86-64 (``VM_MAYBE_GUARD`` from 6.19).
"""

from __future__ import annotations

import enum
import errno
from typing import Any, TypeVar, cast

from .errors import kerr

PAGE_SHIFT = 12
PAGE_SIZE = 1 << PAGE_SHIFT
PAGE_MASK = ~(PAGE_SIZE - 1)
PMD_SIZE = 1 << 21

#: x86-64 with 4-level page tables: user space ends one page below 2**47.
TASK_SIZE = (1 << 47) - PAGE_SIZE
DEFAULT_MAP_WINDOW = TASK_SIZE
#: Top-down mmap base without randomisation: TASK_SIZE minus the 128 MiB minimum gap.
MMAP_BASE = TASK_SIZE - (128 << 20)
#: Bottom-up search start (``TASK_UNMAPPED_BASE``): a third of the address space.
TASK_UNMAPPED_BASE = (TASK_SIZE // 3) & PAGE_MASK
DEFAULT_MMAP_MIN_ADDR = 65536
DEFAULT_MAX_MAP_COUNT = 65530
#: RLIMIT_MEMLOCK of an unprivileged process (8 MiB since Linux 5.16).
DEFAULT_RLIMIT_MEMLOCK = 8 << 20
#: ``stack_guard_gap``: 256 pages kept free below a VM_GROWSDOWN VMA.
STACK_GUARD_GAP = 256 << PAGE_SHIFT
#: ``mm->start_brk`` (= ``mm->brk`` at exec) of a small PIE program with ASLR off: the
#: heap starts after its image at 0x555555554000 (``ELF_ET_DYN_BASE``) and its bss.
DEFAULT_START_BRK = 0x555555559000
#: ``RLIM_INFINITY``: no resource limit (the default RLIMIT_DATA and RLIMIT_AS).
RLIM_INFINITY = (1 << 64) - 1

# -- mmap(2)/mprotect(2) protection bits (asm-generic/mman-common.h) ---------
PROT_NONE = 0x0
PROT_READ = 0x1
PROT_WRITE = 0x2
PROT_EXEC = 0x4
PROT_SEM = 0x8
PROT_GROWSDOWN = 0x01000000
PROT_GROWSUP = 0x02000000

# -- mmap(2) flags (asm-generic/mman-common.h, x86 mman.h) -------------------
MAP_SHARED = 0x01
MAP_PRIVATE = 0x02
MAP_SHARED_VALIDATE = 0x03
MAP_DROPPABLE = 0x08
MAP_TYPE = 0x0F
MAP_FIXED = 0x10
MAP_ANONYMOUS = 0x20
MAP_32BIT = 0x40
MAP_ABOVE4G = 0x80
MAP_GROWSDOWN = 0x0100
MAP_DENYWRITE = 0x0800
MAP_EXECUTABLE = 0x1000
MAP_LOCKED = 0x2000
MAP_NORESERVE = 0x4000
MAP_POPULATE = 0x8000
MAP_NONBLOCK = 0x10000
MAP_STACK = 0x20000
MAP_HUGETLB = 0x40000
MAP_SYNC = 0x80000
MAP_FIXED_NOREPLACE = 0x100000
MAP_UNINITIALIZED = 0x4000000
MAP_HUGE_SHIFT = 26
MAP_HUGE_2MB = 21 << MAP_HUGE_SHIFT
MAP_HUGE_1GB = 30 << MAP_HUGE_SHIFT

_PROT_BITS = ("PROT_READ", "PROT_WRITE", "PROT_EXEC", "PROT_SEM", "PROT_GROWSDOWN",
              "PROT_GROWSUP")
_MAP_TYPES = {0x01: "MAP_SHARED", 0x02: "MAP_PRIVATE", 0x03: "MAP_SHARED_VALIDATE",
              0x08: "MAP_DROPPABLE"}
_MAP_BITS = ("MAP_FIXED", "MAP_ANONYMOUS", "MAP_32BIT", "MAP_ABOVE4G", "MAP_GROWSDOWN",
             "MAP_DENYWRITE", "MAP_EXECUTABLE", "MAP_LOCKED", "MAP_NORESERVE", "MAP_POPULATE",
             "MAP_NONBLOCK", "MAP_STACK", "MAP_HUGETLB", "MAP_SYNC", "MAP_FIXED_NOREPLACE",
             "MAP_UNINITIALIZED")


def _names(value: int, names: tuple[str, ...], first: list[str]) -> str:
    parts = list(first)
    for name in names:
        bit = globals()[name]
        if value & bit:
            parts.append(name)
            value &= ~bit
    if value:
        parts.append(f"{value:#x}")  # bits without a name: shown, never dropped
    return "|".join(parts)


def prot_names(prot: int) -> str:
    """``PROT_READ|PROT_WRITE`` for a ``prot`` argument (``PROT_NONE`` for 0): what a
    reader of mmap(2) expects to see, where the kernel's own tracepoints print hex."""
    return _names(prot, _PROT_BITS, []) or "PROT_NONE"


def map_flags_names(flags: int) -> str:
    """``MAP_SHARED|MAP_FIXED`` for an mmap ``flags`` argument: the ``MAP_TYPE`` field
    first (one of the types), then each other flag bit by name."""
    kind = flags & MAP_TYPE
    first = [_MAP_TYPES.get(kind, f"MAP_TYPE={kind:#x}")] if kind else []
    return _names(flags & ~MAP_TYPE, _MAP_BITS, first) or "0"

# -- mremap(2) flags (include/uapi/linux/mman.h) ------------------------------
MREMAP_MAYMOVE = 1
MREMAP_FIXED = 2
MREMAP_DONTUNMAP = 4

# -- madvise(2) advice (asm-generic/mman-common.h) ---------------------------
MADV_NORMAL = 0
MADV_RANDOM = 1
MADV_SEQUENTIAL = 2
MADV_WILLNEED = 3
MADV_DONTNEED = 4
MADV_DONTFORK = 10
MADV_DOFORK = 11
MADV_DONTDUMP = 16
MADV_DODUMP = 17
MADV_WIPEONFORK = 18
MADV_KEEPONFORK = 19

# -- mlock2(2) and mlockall(2) flags (asm-generic/mman-common.h, mman.h) ------
MLOCK_ONFAULT = 0x01
MCL_CURRENT = 1
MCL_FUTURE = 2
MCL_ONFAULT = 4

#: Flags plain MAP_SHARED silently accepts (include/linux/mman.h LEGACY_MAP_MASK).
LEGACY_MAP_MASK = (
    MAP_SHARED | MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS | MAP_DENYWRITE | MAP_EXECUTABLE
    | MAP_UNINITIALIZED | MAP_GROWSDOWN | MAP_LOCKED | MAP_NORESERVE | MAP_POPULATE
    | MAP_NONBLOCK | MAP_STACK | MAP_HUGETLB | MAP_32BIT | MAP_ABOVE4G | MAP_HUGE_2MB
    | MAP_HUGE_1GB
)


FlagT = TypeVar("FlagT", bound=type[enum.Flag])


def fast_flag_ops(cls: FlagT) -> FlagT:
    """Give an ``enum.Flag`` class operators that skip enum's machinery when they can.

    The model does flag arithmetic on every VMA of every operation. ``enum.Flag``'s own
    operators build each result through ``EnumType.__call__`` (three Python calls); a
    combination already seen is one lookup in the members-by-value map that enum.Flag
    itself fills, so these try that first and fall back to enum.Flag otherwise (a new
    combination, a wrong type: the same result, the same errors).  The public type is
    unchanged: results are still members or combinations of ``cls``.
    """
    members: dict[int, Any] = cls._value2member_map_
    inverted: dict[int, Any] = {}
    flag_or, flag_and, flag_xor = enum.Flag.__or__, enum.Flag.__and__, enum.Flag.__xor__
    flag_invert, flag_contains = enum.Flag.__invert__, enum.Flag.__contains__

    def __or__(self: Any, other: Any) -> Any:
        if type(other) is cls:
            hit = members.get(self._value_ | other._value_)
            if hit is not None:
                return hit
        return flag_or(self, other)

    def __and__(self: Any, other: Any) -> Any:
        if type(other) is cls:
            hit = members.get(self._value_ & other._value_)
            if hit is not None:
                return hit
        return flag_and(self, other)

    def __xor__(self: Any, other: Any) -> Any:
        if type(other) is cls:
            hit = members.get(self._value_ ^ other._value_)
            if hit is not None:
                return hit
        return flag_xor(self, other)

    def __invert__(self: Any) -> Any:
        hit = inverted.get(self._value_)
        if hit is None:
            hit = inverted[self._value_] = flag_invert(self)
        return hit

    def __contains__(self: Any, other: Any) -> bool:
        if type(other) is cls:
            return bool(other._value_ & self._value_ == other._value_)
        return flag_contains(self, other)

    for name, fn in (("__or__", __or__), ("__ror__", __or__), ("__and__", __and__),
                     ("__rand__", __and__), ("__xor__", __xor__), ("__rxor__", __xor__),
                     ("__invert__", __invert__), ("__contains__", __contains__)):
        setattr(cls, name, fn)
    return cls


@fast_flag_ops
class VMFlag(enum.Flag):
    """``vm_flags_t`` bits of ``struct vm_area_struct`` (include/linux/mm.h)."""

    NONE = 0
    READ = 1 << 0
    WRITE = 1 << 1
    EXEC = 1 << 2
    SHARED = 1 << 3
    MAYREAD = 1 << 4
    MAYWRITE = 1 << 5
    MAYEXEC = 1 << 6
    MAYSHARE = 1 << 7
    GROWSDOWN = 1 << 8
    UFFD_MISSING = 1 << 9
    PFNMAP = 1 << 10
    MAYBE_GUARD = 1 << 11
    UFFD_WP = 1 << 12
    LOCKED = 1 << 13
    IO = 1 << 14
    SEQ_READ = 1 << 15
    RAND_READ = 1 << 16
    DONTCOPY = 1 << 17
    DONTEXPAND = 1 << 18
    LOCKONFAULT = 1 << 19
    ACCOUNT = 1 << 20
    NORESERVE = 1 << 21
    HUGETLB = 1 << 22
    SYNC = 1 << 23
    ARCH_1 = 1 << 24
    WIPEONFORK = 1 << 25
    DONTDUMP = 1 << 26
    SOFTDIRTY = 1 << 27
    MIXEDMAP = 1 << 28
    HUGEPAGE = 1 << 29
    NOHUGEPAGE = 1 << 30
    MERGEABLE = 1 << 31
    DROPPABLE = 1 << 40
    SEALED = 1 << 42

    def names(self) -> str:
        """``READ|WRITE|MAYREAD`` style, in bit order (deterministic for notebooks)."""
        parts = [m.name for m in VMFlag if m.value and m in self and m.name]
        return "|".join(parts) if parts else "NONE"


#: enum.Flag's own map of members and seen combinations by value.
_MEMBERS = cast(dict[int, VMFlag], VMFlag._value2member_map_)


def vmflag(value: int) -> VMFlag:
    """The ``VMFlag`` with the bits of ``value``: for hot paths that test and combine
    flags as plain ints (``flags._value_``), enum arithmetic being several Python calls
    per operator; a value seen before is one lookup."""
    hit = _MEMBERS.get(value)
    return hit if hit is not None else VMFlag(value)


VM_NONE = VMFlag.NONE
VM_ACCESS_FLAGS = VMFlag.READ | VMFlag.WRITE | VMFlag.EXEC
#: Mappings that are never merged and never expanded (mm.h VM_SPECIAL).
VM_SPECIAL = VMFlag.IO | VMFlag.DONTEXPAND | VMFlag.PFNMAP | VMFlag.MIXEDMAP
#: Flags whose difference does not prevent a merge; the merged VMA gets their union.
VM_STICKY = VMFlag.SOFTDIRTY | VMFlag.MAYBE_GUARD
VM_IGNORE_MERGE = VM_STICKY
#: Flags that force page tables to be copied at fork.
VM_COPY_ON_FORK = VMFlag.PFNMAP | VMFlag.MIXEDMAP | VMFlag.UFFD_WP | VMFlag.MAYBE_GUARD
#: What remap_pfn_range() marks a VMA with.
VM_REMAP_FLAGS = VMFlag.IO | VMFlag.PFNMAP | VMFlag.DONTEXPAND | VMFlag.DONTDUMP
VM_LOCKED_MASK = VMFlag.LOCKED | VMFlag.LOCKONFAULT
VM_MAY_FLAGS = VMFlag.MAYREAD | VMFlag.MAYWRITE | VMFlag.MAYEXEC | VMFlag.MAYSHARE


def calc_vm_prot_bits(prot: int) -> VMFlag:
    """PROT_* to VM_READ/WRITE/EXEC — ``calc_vm_prot_bits()``, include/linux/mman.h.

    The kernel's ``_calc_vm_trans()`` is a constant-folded bit move; here a table of the
    eight READ/WRITE/EXEC combinations (built once, at import, by ``_calc_vm_prot_bits``).
    """
    return _PROT_TO_VM[prot & (PROT_READ | PROT_WRITE | PROT_EXEC)]


def _calc_vm_prot_bits(prot: int) -> VMFlag:
    flags = VMFlag.NONE
    if prot & PROT_READ:
        flags |= VMFlag.READ
    if prot & PROT_WRITE:
        flags |= VMFlag.WRITE
    if prot & PROT_EXEC:
        flags |= VMFlag.EXEC
    return flags


_PROT_TO_VM = tuple(_calc_vm_prot_bits(p) for p in range(8))


def calc_vm_flag_bits(flags: int) -> VMFlag:
    """MAP_* to VM_* — ``calc_vm_flag_bits()``, include/linux/mman.h (6.7+: STACK)."""
    out = VMFlag.NONE
    if flags & MAP_GROWSDOWN:
        out |= VMFlag.GROWSDOWN
    if flags & MAP_LOCKED:
        out |= VMFlag.LOCKED
    if flags & MAP_SYNC:
        out |= VMFlag.SYNC
    if flags & MAP_STACK:
        out |= VMFlag.NOHUGEPAGE
    return out


def is_cow_mapping(flags: VMFlag) -> bool:
    """Private and possibly writable — ``is_cow_mapping()``, include/linux/mm.h."""
    return (flags & (VMFlag.SHARED | VMFlag.MAYWRITE)) == VMFlag.MAYWRITE


def page_align(n: int) -> int:
    """``PAGE_ALIGN()``: round up to a page boundary (may exceed 64 bits: caller checks)."""
    return (n + PAGE_SIZE - 1) & PAGE_MASK


def offset_in_page(n: int) -> int:
    """``offset_in_page()``."""
    return n & (PAGE_SIZE - 1)


_U64_MASK = (1 << 64) - 1


def user_range_end(start: int, len_in: int) -> int:
    """The end of the user range ``[start, start + PAGE_ALIGN(len_in))``, or EINVAL.

    mm/ has no helper for this: ``is_valid_madvise()`` (mm/madvise.c), ``do_mseal()``
    (mm/mseal.c) and ``apply_vma_lock_flags()`` (mm/mlock.c, on a range ``do_mlock()``
    already rounded out) each repeat the same checks, in this order (Linux 7.0): the
    start must be ``PAGE_ALIGNED()``; ``PAGE_ALIGN(len)`` must not round a small negative
    length (a huge ``size_t``) up to zero; and ``start + len`` must not wrap.  Each then
    returns early for an empty range (``end == start``).  ``untagged_addr()``, which comes
    first in the kernel, is the identity here: x86-64 without LAM, as the model is.
    """
    if start & ~PAGE_MASK:
        raise kerr(errno.EINVAL, f"start {start:#x} is not page aligned")
    length = page_align(len_in)
    end = start + length
    if (len_in and not length & _U64_MASK) or end > _U64_MASK:
        raise kerr(errno.EINVAL, "start + length wraps around")
    return end


def prot_string(flags: VMFlag) -> str:
    """The ``rwxp``/``rwxs`` column of /proc/<pid>/maps."""
    return (
        ("r" if VMFlag.READ in flags else "-")
        + ("w" if VMFlag.WRITE in flags else "-")
        + ("x" if VMFlag.EXEC in flags else "-")
        + ("s" if VMFlag.MAYSHARE in flags else "p")
    )


def map_deny_write_exec(mdwe: bool, old: VMFlag, new: VMFlag) -> bool:
    """``map_deny_write_exec()`` (include/linux/mman.h, Linux 7.0): under MDWE
    (``prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN)``, ``MMF_HAS_MDWE``) refuse a mapping
    that becomes writable and executable, or executable when it was not."""
    if not mdwe or VMFlag.EXEC not in new:
        return False
    return VMFlag.WRITE in new or VMFlag.EXEC not in old
