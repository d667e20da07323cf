"""Run-time values of the C front end: how C pointers and objects map onto the model.

A pointer to a structure is the model's Python object itself (``struct vm_area_desc *``
is a :class:`~mmaplab.kernel.mm_types.VmAreaDesc`); ``NULL`` is ``None``.  A pointer to
a scalar is a *reference*: anything with a ``value`` attribute, such as the model's
:class:`~mmaplab.kernel.mm_types.Ref` (the ``void **vm_private_data`` of
``vm_ops->mapped``), a C local (:class:`LocalRef`), a field (:class:`FieldRef`) or an
array element (an item of an :class:`ArrayView`).  Structures the C allocates itself (``kmalloc``,
a ``static`` object of a driver-private type) are :class:`CObject`\\ s.
"""

from __future__ import annotations

import enum
from typing import Any

__all__ = ["UNINIT", "LocalRef", "FieldRef", "ArrayView", "CObject", "to_python_int",
           "store_int"]


class _Uninit:
    """The value of a variable declared without an initialiser, until assigned."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<uninitialised>"


UNINIT: Any = _Uninit()


class LocalRef:
    """``&local``: reads and writes one slot of a C function's frame."""

    __slots__ = ("vars", "index")

    def __init__(self, vars: list[Any], index: int) -> None:
        self.vars = vars
        self.index = index

    @property
    def value(self) -> Any:
        return self.vars[self.index]

    @value.setter
    def value(self, v: Any) -> None:
        self.vars[self.index] = v


class FieldRef:
    """``&obj->field`` of a scalar field (an int, a counter, a pointer)."""

    __slots__ = ("obj", "attr")

    def __init__(self, obj: Any, attr: str) -> None:
        self.obj = obj
        self.attr = attr

    @property
    def value(self) -> Any:
        return getattr(self.obj, self.attr)

    @value.setter
    def value(self, v: Any) -> None:
        setattr(self.obj, self.attr, v)


class ArrayView:
    """A pointer into an array (``&array[i]``, ``pages + i``): ``*p`` is ``array[i]``, and
    ``p[k]`` is ``array[i + k]``.  The model's helpers that take an array (``struct page
    **pages``) see a sequence starting at element ``i``."""

    __slots__ = ("seq", "index")

    def __init__(self, seq: Any, index: int) -> None:
        if isinstance(seq, ArrayView):
            seq, index = seq.seq, seq.index + index
        self.seq: Any = seq
        self.index: int = index

    @property
    def value(self) -> Any:
        return self.seq[self.index]

    @value.setter
    def value(self, v: Any) -> None:
        self.seq[self.index] = v

    def __len__(self) -> int:
        return max(0, len(self.seq) - self.index)

    def __getitem__(self, k: Any) -> Any:
        if isinstance(k, slice):
            return [self.seq[self.index + i] for i in range(*k.indices(len(self)))]
        if not 0 <= k < len(self):
            raise IndexError(k)
        return self.seq[self.index + k]

    def __setitem__(self, k: int, v: Any) -> None:
        self.seq[self.index + k] = v

    def __iter__(self) -> Any:
        return iter(self[:])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ArrayView) and other.seq is self.seq and (
            other.index == self.index)

    def __hash__(self) -> int:
        return hash((id(self.seq), self.index))


class CObject:
    """A structure the C program owns (``kmalloc``'ed, or a driver-private ``static``).

    Fields never written read as ``UNINIT`` unless the memory was zeroed.
    ``freed_at`` is set by ``kfree()``: any later access is a use-after-free.
    """

    _type_name: str
    _zeroed: bool
    freed_at: str

    def __init__(self, type_name: str = "", zeroed: bool = True) -> None:
        object.__setattr__(self, "_type_name", type_name)
        object.__setattr__(self, "_zeroed", zeroed)
        object.__setattr__(self, "freed_at", "")

    def describe(self) -> str:
        return self._type_name or "kmalloc'ed object"

    def __repr__(self) -> str:
        return f"<{self.describe()}>"


def to_python_int(v: Any) -> int:
    """A model value read as a C integer (enum flags, booleans and ints)."""
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, int):
        return v
    if isinstance(v, enum.Flag | enum.IntEnum):
        return int(v.value)
    if isinstance(v, enum.Enum) and isinstance(v.value, int):
        return v.value
    raise TypeError(f"{type(v).__name__} is not an integer")


def store_int(current: Any, v: int) -> Any:
    """A C integer written back into a model field, keeping the field's Python type."""
    if isinstance(current, bool):
        return bool(v)
    if isinstance(current, enum.Flag):
        return type(current)(v)
    return v
