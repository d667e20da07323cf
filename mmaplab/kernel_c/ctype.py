"""C types of the front end and the integer semantics they imply (x86-64, LP64).

Integer values are Python ints kept in their type's range: every operation converts
its operands as C does (integer promotions, then the usual arithmetic conversions of
C11 6.3.1.8) and wraps the result to the type, so ``unsigned long`` wraps at 2**64,
``int`` is 32-bit, ``>>`` of a signed value is arithmetic and assigning to a narrower
type truncates.  Signed overflow wraps too: the kernel builds with
``-fno-strict-overflow``, which makes it defined (top-level Makefile, Linux 7.0).
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["CType", "IntType", "VoidType", "PtrType", "StructType", "FuncType", "ArrayType",
           "INT_TYPES", "INT", "UINT", "LONG", "ULONG", "BOOL", "CHAR", "VOID", "LLONG",
           "wrap", "promote", "common", "is_int", "is_ptr", "is_scalar"]


class CType:
    """A C type; subclasses say what kind."""

    def spell(self) -> str:
        raise NotImplementedError

    def __str__(self) -> str:
        return self.spell()


@dataclass(frozen=True, eq=True)
class IntType(CType):
    """An integer type: width in bits, signedness, conversion rank."""

    name: str
    bits: int
    signed: bool
    rank: int

    def spell(self) -> str:
        return self.name

    def wrap(self, v: int) -> int:
        return wrap(self, v)


@dataclass(frozen=True, eq=True)
class VoidType(CType):
    def spell(self) -> str:
        return "void"


@dataclass(frozen=True, eq=True)
class PtrType(CType):
    target: CType

    def spell(self) -> str:
        if isinstance(self.target, FuncType):
            return f"{self.target.ret.spell()} (*)({self.target.spell_params()})"
        return f"{self.target.spell()} *"


@dataclass(eq=False)
class StructType(CType):
    """``struct tag``: member name -> type, in declaration order (filled when defined)."""

    tag: str
    members: dict[str, CType] = field(default_factory=dict)
    defined: bool = False
    union: bool = False
    #: ``typedef struct {...} name;`` structs are spelled by the typedef name.
    alias: str = ""
    #: Members declared ``const`` (``desc->start``): assigning one is a compile error.
    const_members: set[str] = field(default_factory=set)

    def spell(self) -> str:
        return self.alias or f"{'union' if self.union else 'struct'} {self.tag}"


@dataclass(frozen=True, eq=True)
class ArrayType(CType):
    elem: CType
    size: int | None

    def spell(self) -> str:
        return f"{self.elem.spell()}[{'' if self.size is None else self.size}]"


@dataclass(frozen=True, eq=True)
class FuncType(CType):
    ret: CType
    params: tuple[CType, ...]
    variadic: bool = False

    def spell_params(self) -> str:
        ps = [p.spell() for p in self.params] + (["..."] if self.variadic else [])
        return ", ".join(ps) or "void"

    def spell(self) -> str:
        return f"{self.ret.spell()} ({self.spell_params()})"


def _int(name: str, bits: int, signed: bool, rank: int) -> IntType:
    return IntType(name, bits, signed, rank)


BOOL = _int("_Bool", 1, False, 0)
CHAR = _int("char", 8, True, 1)
SCHAR = _int("signed char", 8, True, 1)
UCHAR = _int("unsigned char", 8, False, 1)
SHORT = _int("short", 16, True, 2)
USHORT = _int("unsigned short", 16, False, 2)
INT = _int("int", 32, True, 3)
UINT = _int("unsigned int", 32, False, 3)
LONG = _int("long", 64, True, 4)
ULONG = _int("unsigned long", 64, False, 4)
LLONG = _int("long long", 64, True, 5)
ULLONG = _int("unsigned long long", 64, False, 5)
VOID = VoidType()

#: Spellings of the base integer types (after pycparser joins the specifiers).
INT_TYPES: dict[str, IntType] = {
    "_Bool": BOOL, "bool": BOOL, "char": CHAR, "signed char": SCHAR, "unsigned char": UCHAR,
    "short": SHORT, "short int": SHORT, "signed short": SHORT, "unsigned short": USHORT,
    "unsigned short int": USHORT, "int": INT, "signed": INT, "signed int": INT,
    "unsigned": UINT, "unsigned int": UINT, "long": LONG, "long int": LONG,
    "signed long": LONG, "unsigned long": ULONG, "unsigned long int": ULONG,
    "long long": LLONG, "long long int": LLONG, "signed long long": LLONG,
    "unsigned long long": ULLONG, "unsigned long long int": ULLONG,
}


def wrap(t: IntType, v: int) -> int:
    """``v`` converted to ``t`` (C11 6.3.1.3, with the kernel's wrapping for signed)."""
    if t is BOOL or t.bits == 1:
        return 1 if v else 0
    mask = (1 << t.bits) - 1
    v &= mask
    if t.signed and v >> (t.bits - 1):
        v -= 1 << t.bits
    return v


def promote(t: IntType) -> IntType:
    """Integer promotion: anything of lower rank than int becomes int."""
    return INT if t.rank < INT.rank else t


def common(a: IntType, b: IntType) -> IntType:
    """The usual arithmetic conversions (C11 6.3.1.8) of two integer types, LP64."""
    a, b = promote(a), promote(b)
    if a == b:
        return a
    if a.signed == b.signed:
        return a if a.rank >= b.rank else b
    u, s = (a, b) if not a.signed else (b, a)
    if u.rank >= s.rank:
        return u
    if s.bits > u.bits:
        return s
    return next(t for t in (UINT, ULONG, ULLONG) if t.rank == s.rank)


def is_int(t: CType) -> bool:
    return isinstance(t, IntType)


def is_ptr(t: CType) -> bool:
    return isinstance(t, PtrType | ArrayType)


def is_scalar(t: CType) -> bool:
    return isinstance(t, IntType | PtrType | ArrayType)
