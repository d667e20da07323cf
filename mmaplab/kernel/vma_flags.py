"""``vma_flags_t``: the bitmap of VMA flags, addressed by bit number (``VMA_*_BIT``).

Models the bitmap flag type Linux 7.0 introduced beside the legacy ``vm_flags_t``
(``include/linux/mm_types.h``: ``vma_flags_t``, ``vma_flag_t``; ``include/linux/mm.h``:
``mk_vma_flags()``, ``vma_flags_test*()``, ``legacy_to_vma_flags()``,
``vma_flags_to_legacy()``), as used by ``struct vm_area_desc`` in Linux 7.0 with the
"mm: expand mmap_prepare functionality" v4 series.

In C a ``vma_flags_t`` is a struct wrapping ``DECLARE_BITMAP``: it cannot be combined
with ``|`` or tested with ``&``; bits are named by ``VMA_*_BIT`` numbers and handled
through the helpers.  :class:`VmaFlags` keeps that shape: an immutable value (C passes
and assigns the struct by value), no integer operators, and every operation a named
function.  The VMA itself still carries ``vm_flags_t`` (``VMFlag``).
"""

from __future__ import annotations

import enum
from typing import Any

from .flags import VMFlag

__all__ = [
    "VmaFlagBit", "VmaFlags", "EMPTY_VMA_FLAGS", "mk_vma_flags", "legacy_to_vma_flags",
    "vma_flags_to_legacy", "vma_flags_test", "vma_flags_test_any", "vma_flags_test_any_mask",
    "vma_flags_test_all", "vma_flags_test_all_mask", "check_vma_bits",
    "VMA_READ_BIT", "VMA_WRITE_BIT", "VMA_EXEC_BIT", "VMA_SHARED_BIT", "VMA_MAYREAD_BIT",
    "VMA_MAYWRITE_BIT", "VMA_MAYEXEC_BIT", "VMA_MAYSHARE_BIT", "VMA_GROWSDOWN_BIT",
    "VMA_UFFD_MISSING_BIT", "VMA_PFNMAP_BIT", "VMA_MAYBE_GUARD_BIT", "VMA_UFFD_WP_BIT",
    "VMA_LOCKED_BIT", "VMA_IO_BIT", "VMA_SEQ_READ_BIT", "VMA_RAND_READ_BIT", "VMA_DONTCOPY_BIT",
    "VMA_DONTEXPAND_BIT", "VMA_LOCKONFAULT_BIT", "VMA_ACCOUNT_BIT", "VMA_NORESERVE_BIT",
    "VMA_HUGETLB_BIT", "VMA_SYNC_BIT", "VMA_ARCH_1_BIT", "VMA_WIPEONFORK_BIT", "VMA_DONTDUMP_BIT",
    "VMA_SOFTDIRTY_BIT", "VMA_MIXEDMAP_BIT", "VMA_HUGEPAGE_BIT", "VMA_NOHUGEPAGE_BIT",
    "VMA_MERGEABLE_BIT", "VMA_DROPPABLE_BIT", "VMA_SEALED_BIT",
]


class VmaFlagBit(enum.IntEnum):
    """``vma_flag_t``: a bit *number* in ``vma_flags_t`` (x86-64 numbering).

    Each member's number is the position of the ``VMFlag`` of the same name; a test
    (tests/kernel/test_c_api.py) keeps the two lists in step.
    """

    READ = 0
    WRITE = 1
    EXEC = 2
    SHARED = 3
    MAYREAD = 4
    MAYWRITE = 5
    MAYEXEC = 6
    MAYSHARE = 7
    GROWSDOWN = 8
    UFFD_MISSING = 9
    PFNMAP = 10
    MAYBE_GUARD = 11
    UFFD_WP = 12
    LOCKED = 13
    IO = 14
    SEQ_READ = 15
    RAND_READ = 16
    DONTCOPY = 17
    DONTEXPAND = 18
    LOCKONFAULT = 19
    ACCOUNT = 20
    NORESERVE = 21
    HUGETLB = 22
    SYNC = 23
    ARCH_1 = 24
    WIPEONFORK = 25
    DONTDUMP = 26
    SOFTDIRTY = 27
    MIXEDMAP = 28
    HUGEPAGE = 29
    NOHUGEPAGE = 30
    MERGEABLE = 31
    DROPPABLE = 40
    SEALED = 42

    def __repr__(self) -> str:
        return f"VMA_{self.name}_BIT"

    __str__ = __repr__


VMA_READ_BIT = VmaFlagBit.READ
VMA_WRITE_BIT = VmaFlagBit.WRITE
VMA_EXEC_BIT = VmaFlagBit.EXEC
VMA_SHARED_BIT = VmaFlagBit.SHARED
VMA_MAYREAD_BIT = VmaFlagBit.MAYREAD
VMA_MAYWRITE_BIT = VmaFlagBit.MAYWRITE
VMA_MAYEXEC_BIT = VmaFlagBit.MAYEXEC
VMA_MAYSHARE_BIT = VmaFlagBit.MAYSHARE
VMA_GROWSDOWN_BIT = VmaFlagBit.GROWSDOWN
VMA_UFFD_MISSING_BIT = VmaFlagBit.UFFD_MISSING
VMA_PFNMAP_BIT = VmaFlagBit.PFNMAP
VMA_MAYBE_GUARD_BIT = VmaFlagBit.MAYBE_GUARD
VMA_UFFD_WP_BIT = VmaFlagBit.UFFD_WP
VMA_LOCKED_BIT = VmaFlagBit.LOCKED
VMA_IO_BIT = VmaFlagBit.IO
VMA_SEQ_READ_BIT = VmaFlagBit.SEQ_READ
VMA_RAND_READ_BIT = VmaFlagBit.RAND_READ
VMA_DONTCOPY_BIT = VmaFlagBit.DONTCOPY
VMA_DONTEXPAND_BIT = VmaFlagBit.DONTEXPAND
VMA_LOCKONFAULT_BIT = VmaFlagBit.LOCKONFAULT
VMA_ACCOUNT_BIT = VmaFlagBit.ACCOUNT
VMA_NORESERVE_BIT = VmaFlagBit.NORESERVE
VMA_HUGETLB_BIT = VmaFlagBit.HUGETLB
VMA_SYNC_BIT = VmaFlagBit.SYNC
VMA_ARCH_1_BIT = VmaFlagBit.ARCH_1
VMA_WIPEONFORK_BIT = VmaFlagBit.WIPEONFORK
VMA_DONTDUMP_BIT = VmaFlagBit.DONTDUMP
VMA_SOFTDIRTY_BIT = VmaFlagBit.SOFTDIRTY
VMA_MIXEDMAP_BIT = VmaFlagBit.MIXEDMAP
VMA_HUGEPAGE_BIT = VmaFlagBit.HUGEPAGE
VMA_NOHUGEPAGE_BIT = VmaFlagBit.NOHUGEPAGE
VMA_MERGEABLE_BIT = VmaFlagBit.MERGEABLE
VMA_DROPPABLE_BIT = VmaFlagBit.DROPPABLE
VMA_SEALED_BIT = VmaFlagBit.SEALED

#: ``NUM_VMA_FLAG_BITS`` on x86-64: one 64-bit word.
NUM_VMA_FLAG_BITS = 64

_NOT_AN_INT = (
    "vma_flags_t is a bitmap, not an integer: it has no '{op}'. Use the helpers with "
    "VMA_*_BIT numbers: vma_desc_set_flags(desc, VMA_IO_BIT, ...), vma_desc_test(desc, "
    "VMA_SHARED_BIT), vma_desc_test_any(desc, ...), or mk_vma_flags(...) for a mask"
)


def check_vma_bits(func: str, bits: tuple[Any, ...]) -> tuple[VmaFlagBit, ...]:
    """Check that every argument is a ``VMA_*_BIT`` number; name the mistake if not.

    The kernel's ``vma_flag_t`` is ``__bitwise``: sparse rejects a plain mask where a
    bit number is expected.  A ``VMFlag`` mask is the usual confusion, so it is named.
    """
    out = []
    for bit in bits:
        if isinstance(bit, VmaFlagBit):
            out.append(bit)
            continue
        if isinstance(bit, VMFlag):
            hint = "/".join(f"VMA_{m.name}_BIT" for m in VMFlag if m.value and m in bit)
            raise TypeError(f"{func}() takes VMA_*_BIT bit numbers, not the VMFlag mask "
                            f"{bit!r}: write {hint or 'a VMA_*_BIT'}")
        if isinstance(bit, VmaFlags):
            raise TypeError(f"{func}() takes VMA_*_BIT bit numbers, not a vma_flags_t: "
                            f"use {func}_mask() for a mask")
        if isinstance(bit, int) and not isinstance(bit, bool):
            try:
                out.append(VmaFlagBit(bit))
                continue
            except ValueError:
                pass
        raise TypeError(f"{func}() takes VMA_*_BIT bit numbers (vma_flag_t), got {bit!r}")
    return tuple(out)


class VmaFlags:
    """``vma_flags_t``: an immutable bitmap value.  Build one with :func:`mk_vma_flags`."""

    __slots__ = ("_word",)
    _word: int

    def __init__(self, word: int = 0) -> None:
        object.__setattr__(self, "_word", word)

    def __setattr__(self, attr: str, value: Any) -> None:
        raise AttributeError("vma_flags_t values are immutable here; the descriptor helpers "
                             "(vma_desc_set_flags, vma_desc_clear_flags) replace desc.vma_flags")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, VmaFlags) and other._word == self._word

    def __hash__(self) -> int:
        return hash(self._word)

    def _no_op(self, op: str) -> Any:
        raise TypeError(_NOT_AN_INT.format(op=op))

    def __or__(self, other: object) -> Any:
        return self._no_op("|")

    def __and__(self, other: object) -> Any:
        return self._no_op("&")

    def __xor__(self, other: object) -> Any:
        return self._no_op("^")

    def __invert__(self) -> Any:
        return self._no_op("~")

    def __contains__(self, item: object) -> bool:
        self._no_op("in")
        return False  # pragma: no cover - _no_op raises

    __ror__ = __or__
    __rand__ = __and__

    def bits(self) -> tuple[VmaFlagBit, ...]:
        """The set bit numbers, ascending (for display and tests)."""
        return tuple(b for b in VmaFlagBit if self._word >> b & 1)

    def names(self) -> str:
        """``READ|MAYREAD`` style, as ``VMFlag.names()`` prints the legacy flags."""
        return "|".join(b.name for b in self.bits()) or "NONE"

    def __repr__(self) -> str:
        return f"mk_vma_flags({', '.join(map(repr, self.bits()))})"


#: ``EMPTY_VMA_FLAGS``.
EMPTY_VMA_FLAGS = VmaFlags(0)


def mk_vma_flags(*bits: VmaFlagBit) -> VmaFlags:
    """``mk_vma_flags(...)``: a ``vma_flags_t`` with exactly these bits set."""
    word = 0
    for bit in check_vma_bits("mk_vma_flags", bits):
        word |= 1 << bit
    return VmaFlags(word)


def legacy_to_vma_flags(flags: VMFlag) -> VmaFlags:
    """``legacy_to_vma_flags()``: the bitmap whose first word is ``vm_flags_t``."""
    return VmaFlags(flags.value)


def vma_flags_to_legacy(flags: VmaFlags) -> VMFlag:
    """``vma_flags_to_legacy()``: the first word as ``vm_flags_t``."""
    return VMFlag(flags._word)


def _mask(func: str, flags: Any) -> int:
    if not isinstance(flags, VmaFlags):
        hint = " (build one with mk_vma_flags(VMA_..._BIT, ...))"
        raise TypeError(f"{func}() takes a vma_flags_t mask, got {flags!r}{hint}")
    return flags._word


def vma_flags_test(flags: VmaFlags, bit: VmaFlagBit) -> bool:
    """``vma_flags_test()``: is this one bit set?"""
    (b,) = check_vma_bits("vma_flags_test", (bit,))
    return bool(_mask("vma_flags_test", flags) >> b & 1)


def vma_flags_test_any_mask(flags: VmaFlags, to_test: VmaFlags) -> bool:
    """``vma_flags_test_any_mask()``: is any bit of ``to_test`` set?"""
    return bool(_mask("vma_flags_test_any_mask", flags)
                & _mask("vma_flags_test_any_mask", to_test))


def vma_flags_test_all_mask(flags: VmaFlags, to_test: VmaFlags) -> bool:
    """``vma_flags_test_all_mask()``: are all bits of ``to_test`` set?"""
    want = _mask("vma_flags_test_all_mask", to_test)
    return _mask("vma_flags_test_all_mask", flags) & want == want


def vma_flags_test_any(flags: VmaFlags, *bits: VmaFlagBit) -> bool:
    """``vma_flags_test_any(flags, ...)``."""
    return vma_flags_test_any_mask(flags, mk_vma_flags(*check_vma_bits("vma_flags_test_any",
                                                                       bits)))


def vma_flags_test_all(flags: VmaFlags, *bits: VmaFlagBit) -> bool:
    """``vma_flags_test_all(flags, ...)``."""
    return vma_flags_test_all_mask(flags, mk_vma_flags(*check_vma_bits("vma_flags_test_all",
                                                                       bits)))


def vma_flags_or(a: VmaFlags, b: VmaFlags) -> VmaFlags:
    """The union (``vma_flags_set_mask()`` on a copy): for the model's own code."""
    return VmaFlags(_mask("vma_flags_set_mask", a) | _mask("vma_flags_set_mask", b))


def vma_flags_andnot(a: VmaFlags, b: VmaFlags) -> VmaFlags:
    """``a`` without ``b`` (``vma_flags_clear_mask()`` on a copy)."""
    return VmaFlags(_mask("vma_flags_clear_mask", a) & ~_mask("vma_flags_clear_mask", b))
