"""A compiled program bound to a device: its globals, and C functions as Python callables.

The same C runs against many devices (an exercise builds a fresh driver for every
scenario), so a :class:`~mmaplab.kernel_c.compiler.Program` is compiled once and
*bound* to a device object (``env``, usually a driver model): ``extern`` globals the
header declares for a driver (``hpet_mmap_enabled``) are that object's attributes,
and functions the header declares but neither the C nor the model's helper table
defines (a driver's own helpers, ``to_master()``) are its methods.  Each binding has
its own ``static`` variables, initialised when it is made, as a module's are at load.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ..kernel.errors import KernelError
from ..kernel.mm_types import VmOperationsStruct
from .bindings import HELPERS
from .compiler import Frame, FuncSym, Program, _from_python, _Return, _zero
from .ctype import CType, FuncType, IntType, StructType, VoidType, wrap
from .errors import CError, CRuntimeError, Where
from .runtime import CObject, FieldRef, store_int, to_python_int

__all__ = ["Instance", "CFunction"]

#: C structure types that are model dataclasses: built with the C's designated fields.
_MODEL_STRUCTS: dict[str, type] = {"vm_operations_struct": VmOperationsStruct}


class _Globals:
    """The C-defined file-scope variables of one binding."""


class CFunction:
    """A C function as a Python callable: arguments converted by the C prototype.

    This is what goes into ``FileOperations(mmap_prepare=...)``, a
    ``VmOperationsStruct`` or an action's ``success_hook``: the model calls it like any
    Python hook and gets 0 or a negative errno back.
    """

    __slots__ = ("inst", "sym", "__name__", "__qualname__")

    def __init__(self, inst: Instance, sym: FuncSym) -> None:
        self.inst = inst
        self.sym = sym
        self.__name__ = sym.name
        self.__qualname__ = sym.name

    def __call__(self, *args: Any) -> Any:
        sym = self.sym
        if len(args) != len(sym.type.params):
            raise CRuntimeError(sym.where, f"{sym.name}() called with {len(args)} arguments "
                                f"but it takes {len(sym.type.params)} ({sym.type})")
        vals = [_to_c(t, a, sym, i) for i, (t, a) in enumerate(zip(sym.type.params, args,
                                                                     strict=True))]
        return self.inst.run(sym, vals)

    def __repr__(self) -> str:
        return f"<C function {self.sym.type.ret} {self.sym.name}() at {self.sym.where}>"


def _to_c(t: CType, v: Any, sym: FuncSym, i: int) -> Any:
    if isinstance(t, IntType):
        try:
            return wrap(t, to_python_int(v))
        except TypeError:
            raise CRuntimeError(sym.where, f"{sym.name}(): argument {i + 1} should be '{t}', "
                                f"the caller passed {v!r}") from None
    return v


class Instance:
    """One binding of a program to a device object (``env``, may be ``None``)."""

    def __init__(self, prog: Program, env: Any = None) -> None:
        self.prog = prog
        self.env = env
        self.store = _Globals()
        self._handles: dict[str, CFunction] = {}
        for name in prog.order:
            var = prog.vars[name]
            value = var.init(self) if var.init is not None else _default(var.type, name)
            setattr(self.store, name, value)

    # -- functions -----------------------------------------------------------------------
    def function(self, name: str) -> CFunction:
        """The C-defined function ``name`` as a Python callable."""
        sym = self.prog.funcs.get(name)
        if sym is None or sym.body is None:
            defined = sorted(n for n, f in self.prog.funcs.items() if f.body is not None)
            raise KeyError(f"the C defines no function '{name}' (it defines: "
                           f"{', '.join(defined) or 'none'})")
        return self.function_value(name)

    def function_value(self, name: str) -> Any:
        h = self._handles.get(name)
        if h is not None:
            return h
        sym = self.prog.funcs[name]
        if sym.body is None:
            impl = self._helper(name)
            if impl is None:
                raise CRuntimeError(sym.where, f"undefined reference to '{name}'")
            return impl
        h = self._handles[name] = CFunction(self, sym)
        return h

    def _helper(self, name: str) -> Any:
        """The Python behind a declared-only function: the program's own helpers, the
        model's, or a method of the bound device."""
        if name == "__container_of":
            return self._container_of
        if name in ("kmalloc", "kzalloc") and callable(getattr(self.env, name, None)):
            # a device model that tracks its driver's allocations (vme_user's vma_priv)
            return getattr(self.env, name)
        impl = self.prog.extra_helpers.get(name) or HELPERS.get(name)
        if impl is None:
            impl = getattr(self.env, name, None)
        return impl if callable(impl) else None

    def _container_of(self, ptr: Any, type_name: str, member: str) -> Any:
        """``container_of()``: the bound device when the model embeds ``ptr`` in it as
        ``member`` (``container_of(info, struct tcmu_dev, uio_info)`` on a TcmuDev),
        else what the object itself knows of its container."""
        if self.env is not None and ptr is not None and getattr(self.env, member, None) is ptr:
            return self.env
        return HELPERS["__container_of"](ptr, type_name, member)

    def run(self, sym: FuncSym, vals: list[Any]) -> Any:
        assert sym.body is not None
        fr = Frame(sym.nvars, self)
        fr.vars[:len(vals)] = vals
        try:
            sym.body(fr)
        except _Return as r:
            return r.value
        return None

    def call(self, name: str, vals: list[Any], where: Where) -> Any:
        sym = self.prog.funcs[name]
        if sym.body is not None:
            return self.run(sym, vals)
        impl = self._helper(name)
        if impl is None:
            raise CRuntimeError(where, f"undefined reference to '{name}': the header "
                                "declares it, but neither the model nor the bound device "
                                "defines it")
        try:
            ret = impl(*vals)
        except (CError, KernelError):
            raise
        except (TypeError, ValueError, LookupError, AttributeError) as exc:
            raise CRuntimeError(where, f"{name}(): {exc}") from None
        return _from_python(sym.type.ret, ret, where, name)

    # -- globals ------------------------------------------------------------------------
    def _owner(self, name: str, where: Where) -> Any:
        if not self.prog.vars[name].extern:
            return self.store
        if self.env is None or not hasattr(self.env, name):
            raise CRuntimeError(where, f"'{name}' is declared extern, but no device with a "
                                f"'{name}' is bound to this program")
        return self.env

    def global_get(self, name: str, t: CType, where: Where) -> Any:
        v = getattr(self._owner(name, where), name)
        if isinstance(t, IntType):
            return wrap(t, to_python_int(v))
        return v

    def global_set(self, name: str, t: CType, v: Any, where: Where) -> None:
        owner = self._owner(name, where)
        if isinstance(t, IntType):
            v = store_int(getattr(owner, name, None), v)
        setattr(owner, name, v)

    def global_ref(self, name: str, t: CType, where: Where) -> Any:
        owner = self._owner(name, where)
        if isinstance(t, StructType) and t.spell() not in ("refcount_t", "atomic_t",
                                                           "struct kref"):
            return getattr(owner, name)
        return FieldRef(owner, name)

    def make_struct(self, tag: str, name: str, vals: dict[str, Any]) -> Any:
        cls = _MODEL_STRUCTS.get(tag)
        if cls is not None:
            known = {f.name for f in dataclasses.fields(cls)}
            kwargs = {k: v for k, v in vals.items() if k in known}
            if "name" in known:
                kwargs.setdefault("name", name)
            return cls(**kwargs)
        obj = CObject(f"struct {tag}", zeroed=True)
        for k, v in vals.items():
            object.__setattr__(obj, k, v)
        return obj


def _default(t: CType, name: str) -> Any:
    """A file-scope object without initialiser is zero (C11 6.7.9p10)."""
    if isinstance(t, IntType):
        return 0
    if isinstance(t, StructType):
        cls = _MODEL_STRUCTS.get(t.tag)
        if cls is not None:
            return cls(name=name)
    if isinstance(t, FuncType | VoidType):
        return None
    return _zero(t, None)
