"""Compile a pycparser AST into Python closures that run against the model.

Each expression compiles to its static C type plus a closure ``frame -> value``; each
statement to a closure ``frame -> None``.  Types are checked while compiling, as the
kernel build does (an unknown identifier, a call with the wrong number or kind of
arguments, a legacy VMA helper given a descriptor, a non-void function that can fall
off its end); what only shows while running (a NULL or freed pointer, an
uninitialised variable, a loop that does not end) is reported then, at its line.
``return``/``break``/``continue``/``goto`` unwind with exceptions.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pycparser import c_ast

from ..kernel.errors import UseAfterFreeError
from .bindings import HELPERS, LEGACY_VMA_HELPERS, MODEL_TYPES
from .ctype import (
    BOOL,
    CHAR,
    INT,
    INT_TYPES,
    LLONG,
    LONG,
    UINT,
    ULLONG,
    ULONG,
    VOID,
    ArrayType,
    CType,
    FuncType,
    IntType,
    PtrType,
    StructType,
    VoidType,
    common,
    promote,
    wrap,
)
from .errors import CCompileError, COops, CRuntimeError, Where
from .runtime import UNINIT, ArrayView, CObject, FieldRef, LocalRef, store_int, to_python_int

__all__ = ["Program", "Frame", "FuncSym", "MAX_STEPS"]

#: Loop iterations and backward gotos one call may take: the check's time budget.
MAX_STEPS = 100_000

Getter = Callable[["Frame"], Any]
Stmt = Callable[["Frame"], None]

#: Structures that are plain counters in the model (an int field), like ``refcount_t``.
_COUNTERS = ("refcount_t", "atomic_t", "struct kref")


class _Return(Exception):
    def __init__(self, value: Any) -> None:
        self.value = value


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


class _Goto(Exception):
    def __init__(self, label: str) -> None:
        self.label = label


class Frame:
    """One call of a C function: its locals, the program instance, the step budget."""

    __slots__ = ("vars", "inst", "steps")

    def __init__(self, nvars: int, inst: Any) -> None:
        self.vars: list[Any] = [UNINIT] * nvars
        self.inst = inst
        self.steps = 0


@dataclass
class FuncSym:
    """A function: defined in the C (``body`` set) or declared by the header."""

    name: str
    type: FuncType
    where: Where
    params: tuple[str, ...] = ()
    body: Stmt | None = None
    nvars: int = 0
    static: bool = False


@dataclass
class VarSym:
    """A file-scope variable: ``extern`` ones live on the bound device (``env``)."""

    name: str
    type: CType
    where: Where
    extern: bool = False
    init: Callable[[Any], Any] | None = None
    const: bool = False


@dataclass
class _Local:
    index: int
    type: CType
    const: bool = False


@dataclass
class _FnCtx:
    func: FuncSym
    scopes: list[dict[str, _Local]] = field(default_factory=list)
    nvars: int = 0
    labels: list[set[str]] = field(default_factory=list)
    all_labels: set[str] = field(default_factory=set)
    loop_depth: int = 0
    switch_depth: int = 0


def _struct_name(t: CType) -> str:
    return t.spell() if isinstance(t, StructType) else ""


def _size_of(t: CType) -> int:
    if isinstance(t, IntType):
        return max(1, t.bits // 8)
    if isinstance(t, PtrType):
        return 8
    if isinstance(t, ArrayType):
        return _size_of(t.elem) * (t.size or 0)
    if isinstance(t, StructType):
        return max(8, sum(max(8, _size_of(m)) for m in t.members.values()))
    return 1


def _offset_of(t: StructType, member: str) -> int:
    off = 0
    for name, mt in t.members.items():
        if name == member:
            return off
        off += max(8, _size_of(mt))
    return off


class Program:
    """A translation unit compiled against the header: its types, globals and functions.

    ``source_lines`` (comments stripped) let diagnostics point at closing braces.
    """

    def __init__(self, filename: str, source_lines: list[str]) -> None:
        self.filename = filename
        self.source_lines = source_lines
        self.typedefs: dict[str, CType] = {}
        self.structs: dict[str, StructType] = {}
        self.consts: dict[str, tuple[int, IntType]] = {}
        self.vars: dict[str, VarSym] = {}
        self.funcs: dict[str, FuncSym] = {}
        self.order: list[str] = []  # file-scope variables in definition order
        #: Struct tags declared by the header: the answer may not complete or redefine them.
        self.inherited: set[str] = set()
        #: Macro names in force (for "did you mean" suggestions: PAGE_SIZE is a macro).
        self.macro_names: set[str] = set()
        #: Implementations of header functions for this program only (an exercise's
        #: device helpers), consulted before the model's (bindings.HELPERS).
        self.extra_helpers: dict[str, Callable[..., Any]] = {}

    def derive(self, filename: str, source_lines: list[str]) -> Program:
        """A program for another file that starts from this one's declarations (the header)."""
        p = Program(filename, source_lines)
        p.typedefs = dict(self.typedefs)
        p.structs = dict(self.structs)
        p.consts = dict(self.consts)
        p.vars = dict(self.vars)
        p.funcs = dict(self.funcs)
        p.order = list(self.order)
        p.inherited = set(self.structs)
        return p

    # -- types -----------------------------------------------------------------------------
    def where(self, node: c_ast.Node | None, func: str = "") -> Where:
        coord = getattr(node, "coord", None)
        if coord is None:
            return Where(self.filename, 0, func)
        return Where(str(coord.file), int(coord.line), func)

    def err(self, node: c_ast.Node | None, msg: str, func: str = "") -> CCompileError:
        return CCompileError(self.where(node, func), msg)

    def resolve(self, node: c_ast.Node, func: str = "") -> CType:
        if isinstance(node, c_ast.TypeDecl):
            return self.resolve(node.type, func)
        if isinstance(node, c_ast.Typename | c_ast.Decl):
            return self.resolve(node.type, func)
        if isinstance(node, c_ast.PtrDecl):
            return PtrType(self.resolve(node.type, func))
        if isinstance(node, c_ast.ArrayDecl):
            size = None
            if node.dim is not None:
                size = self.const_int(node.dim, func)
            return ArrayType(self.resolve(node.type, func), size)
        if isinstance(node, c_ast.FuncDecl):
            ret = self.resolve(node.type, func)
            params: list[CType] = []
            variadic = False
            for p in (node.args.params if node.args else []):
                if isinstance(p, c_ast.EllipsisParam):
                    variadic = True
                    continue
                pt = self.resolve(p.type if isinstance(p, c_ast.Decl) else p, func)
                if isinstance(pt, VoidType):
                    continue
                if isinstance(pt, ArrayType):
                    pt = PtrType(pt.elem)
                params.append(pt)
            return FuncType(ret, tuple(params), variadic)
        if isinstance(node, c_ast.IdentifierType):
            names = " ".join(n for n in node.names if n not in ("signed",) or len(node.names) == 1)
            if names in INT_TYPES:
                return INT_TYPES[names]
            if names == "void":
                return VOID
            if names in self.typedefs:
                return self.typedefs[names]
            raise self.err(node, f"unknown type name '{names}'", func)
        if isinstance(node, c_ast.Struct | c_ast.Union):
            return self.struct(node, func)
        if isinstance(node, c_ast.Enum):
            self.enum(node, func)
            return INT
        raise self.err(node, f"unsupported type {type(node).__name__}", func)

    def struct(self, node: c_ast.Struct | c_ast.Union, func: str = "") -> StructType:
        union = isinstance(node, c_ast.Union)
        tag = node.name or f"<anonymous@{self.where(node)}>"
        st = self.structs.get(tag)
        if st is None:
            st = self.structs[tag] = StructType(tag, union=union)
        if node.decls is not None:
            if tag in self.inherited:
                raise self.err(node, f"'{st.spell()}' is declared by mmaplab.h; it cannot be "
                               "redefined here", func)
            if st.defined:
                raise self.err(node, f"redefinition of '{st.spell()}'", func)
            st.defined = True
            for d in node.decls:
                mt = self.resolve(d.type, func)
                st.members[d.name] = mt
                if _readonly_member(d):
                    st.const_members.add(d.name)
        return st

    def enum(self, node: c_ast.Enum, func: str = "") -> None:
        if node.values is None:
            return
        v = 0
        for e in node.values.enumerators:
            if e.value is not None:
                v = self.const_int(e.value, func)
            self.consts[e.name] = (v, INT)
            v += 1

    def const_int(self, node: c_ast.Node, func: str = "") -> int:
        ctx = _FnCtx(FuncSym(func, FuncType(VOID, ()), self.where(node)))
        t, get = Compiler(self, ctx).expr(node)
        if not isinstance(t, IntType):
            raise self.err(node, "expression is not an integer constant", func)
        try:
            return int(get(Frame(0, None)))
        except (CCompileError, CRuntimeError, AttributeError, TypeError):
            raise self.err(node, "expression is not an integer constant", func) from None

    # -- file scope ----------------------------------------------------------------------
    def add(self, ext: c_ast.Node) -> None:
        if isinstance(ext, c_ast.Typedef):
            t = self.resolve(ext.type)
            if isinstance(t, StructType) and not t.alias and t.tag.startswith("<anonymous"):
                t.alias = ext.name
            self.typedefs[ext.name] = t
        elif isinstance(ext, c_ast.FuncDef):
            self.define(ext)
        elif isinstance(ext, c_ast.Decl):
            self.declare(ext)
        elif isinstance(ext, c_ast.Pragma):
            return
        else:
            raise self.err(ext, f"unsupported declaration {type(ext).__name__}")

    def declare(self, d: c_ast.Decl) -> None:
        if d.name is None:  # struct/union/enum definition only
            self.resolve(d.type)
            return
        t = self.resolve(d.type)
        where = self.where(d)
        if isinstance(t, FuncType):
            old = self.funcs.get(d.name)
            if old is not None and old.type != t:
                raise self.err(d, f"conflicting types for '{d.name}'; have '{t}', previous "
                               f"declaration at {old.where} has '{old.type}'")
            if old is None:
                self.funcs[d.name] = FuncSym(d.name, t, where, static="static" in d.storage)
            return
        extern = "extern" in d.storage
        const = "const" in (d.quals or [])
        var = VarSym(d.name, t, where, extern=extern, const=const)
        if d.init is not None:
            var.init = self.initializer(t, d.init, d.name)
        if d.name in self.vars and not self.vars[d.name].extern:
            raise self.err(d, f"redefinition of '{d.name}'")
        self.vars[d.name] = var
        if not extern:
            self.order.append(d.name)

    def initializer(self, t: CType, init: c_ast.Node, name: str) -> Callable[[Any], Any]:
        """A file-scope initialiser, run once per bound instance."""
        ctx = _FnCtx(FuncSym("", FuncType(VOID, ()), self.where(init)))
        get = Compiler(self, ctx).init_value(t, init, name)
        return lambda inst: get(Frame(0, inst))

    def define(self, fd: c_ast.FuncDef) -> None:
        d = fd.decl
        t = self.resolve(d.type)
        assert isinstance(t, FuncType)
        old = self.funcs.get(d.name)
        if old is not None and old.body is not None:
            raise self.err(d, f"redefinition of '{d.name}' (first defined at {old.where})")
        if old is not None and old.type != t:
            raise self.err(d, f"conflicting types for '{d.name}'; have '{t}', the header "
                           f"declares '{old.type}'")
        params = []
        for p in (d.type.args.params if d.type.args else []):
            if isinstance(p, c_ast.Decl) and p.name:
                params.append(p.name)
        sym = FuncSym(d.name, t, self.where(d), tuple(params), static="static" in d.storage)
        self.funcs[d.name] = sym
        Compiler(self, _FnCtx(sym)).function(fd)

    def closing_brace(self, node: c_ast.Compound) -> int:
        """The line of the ``}`` that closes the block opened at ``node``."""
        line, col = node.coord.line, node.coord.column
        depth = 0
        for no in range(line - 1, len(self.source_lines)):
            text = self.source_lines[no]
            start = col - 1 if no == line - 1 else 0
            text = re.sub(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'', '""', text[start:])
            for ch in text:
                if ch == "{":
                    depth += 1
                elif ch == "}":
                    depth -= 1
                    if depth == 0:
                        return no + 1
        return line


class Compiler:
    """Compiles the statements and expressions of one function (or one initialiser)."""

    def __init__(self, prog: Program, ctx: _FnCtx) -> None:
        self.prog = prog
        self.ctx = ctx

    @property
    def fname(self) -> str:
        return self.ctx.func.name

    def err(self, node: c_ast.Node | None, msg: str) -> CCompileError:
        return self.prog.err(node, msg, self.fname)

    def where(self, node: c_ast.Node | None) -> Where:
        return self.prog.where(node, self.fname)

    # -- functions ---------------------------------------------------------------------
    def function(self, fd: c_ast.FuncDef) -> None:
        sym = self.ctx.func
        self.ctx.scopes.append({})
        for name, pt in zip(sym.params, sym.type.params, strict=False):
            self.ctx.scopes[0][name] = _Local(self.ctx.nvars, pt)
            self.ctx.nvars += 1
        self.ctx.all_labels = _labels(fd.body)
        body = self.compound(fd.body, new_scope=False)
        if not isinstance(sym.type.ret, VoidType) and _falls_through(fd.body):
            line = self.prog.closing_brace(fd.body)
            raise CCompileError(Where(self.prog.filename, line, sym.name),
                                "control reaches end of non-void function [-Werror=return-type]")
        nparams = len(sym.params)
        where = self.where(fd.decl)

        def run(fr: Frame) -> None:
            try:
                body(fr)
            except _Goto as g:  # cannot happen: labels are checked while compiling
                raise CRuntimeError(where, f"goto {g.label}: label not reachable") from None
            except (_Break, _Continue):
                raise CRuntimeError(where, "break or continue outside a loop") from None

        sym.body = run
        sym.nvars = max(self.ctx.nvars, nparams)

    def lookup(self, name: str) -> _Local | None:
        for scope in reversed(self.ctx.scopes):
            if name in scope:
                return scope[name]
        return None

    # -- statements ----------------------------------------------------------------------
    def compound(self, node: c_ast.Compound, new_scope: bool = True) -> Stmt:
        if new_scope:
            self.ctx.scopes.append({})
        items = node.block_items or []
        labels: dict[str, int] = {}
        for i, it in enumerate(items):
            while isinstance(it, c_ast.Label):
                labels[it.name] = i
                it = it.stmt
        self.ctx.labels.append(set(labels))
        stmts = [self.stmt(it) for it in items]
        self.ctx.labels.pop()
        if new_scope:
            self.ctx.scopes.pop()
        n = len(stmts)
        if not labels:
            if n == 1:
                return stmts[0]

            def seq(fr: Frame) -> None:
                for s in stmts:
                    s(fr)
            return seq
        where = self.where(node)

        def block(fr: Frame) -> None:
            i = 0
            while True:
                try:
                    for j in range(i, n):
                        stmts[j](fr)
                    return
                except _Goto as g:
                    if g.label not in labels:
                        raise
                    i = labels[g.label]
                    _tick(fr, where)
        return block

    def stmt(self, node: c_ast.Node) -> Stmt:
        m = getattr(self, "s_" + type(node).__name__, None)
        if m is None:
            raise self.err(node, f"unsupported statement: {type(node).__name__}")
        return m(node)

    def s_Compound(self, node: c_ast.Compound) -> Stmt:
        return self.compound(node)

    def s_Label(self, node: c_ast.Label) -> Stmt:
        return self.stmt(node.stmt)

    def s_EmptyStatement(self, node: c_ast.Node) -> Stmt:
        return lambda fr: None

    def s_Decl(self, node: c_ast.Decl) -> Stmt:
        t = self.prog.resolve(node.type, self.fname)
        if isinstance(t, FuncType):
            self.prog.declare(node)
            return lambda fr: None
        if node.name is None:
            return lambda fr: None
        if "static" in node.storage:
            raise self.err(node, f"'static' local variable '{node.name}' is not supported; "
                           "declare it at file scope")
        scope = self.ctx.scopes[-1]
        if node.name in scope:
            raise self.err(node, f"redefinition of '{node.name}'")
        idx = self.ctx.nvars
        self.ctx.nvars += 1
        const = "const" in (node.quals or [])
        if node.init is None:
            scope[node.name] = _Local(idx, t, const)
            if isinstance(t, StructType) and t.tag in MODEL_TYPES:
                # A model structure on the stack (a stacked caller's struct vm_area_desc):
                # the model's own object, its fields unset until a helper fills them.
                cls: Any = MODEL_TYPES[t.tag]
                return lambda fr: fr.vars.__setitem__(idx, object.__new__(cls))
            if isinstance(t, StructType) and t.spell() not in _COUNTERS:
                name = t.spell()
                return lambda fr: fr.vars.__setitem__(idx, CObject(name, zeroed=False))
            return lambda fr: fr.vars.__setitem__(idx, UNINIT)
        scope[node.name] = _Local(idx, t, const)  # in scope in its own initialiser
        get = self.init_value(t, node.init, node.name)
        return lambda fr: fr.vars.__setitem__(idx, get(fr))

    def s_DeclList(self, node: c_ast.DeclList) -> Stmt:
        parts = [self.s_Decl(d) for d in node.decls]

        def run(fr: Frame) -> None:
            for p in parts:
                p(fr)
        return run

    def s_Return(self, node: c_ast.Return) -> Stmt:
        ret = self.ctx.func.type.ret
        if node.expr is None:
            if not isinstance(ret, VoidType):
                raise self.err(node, "'return' with no value, in function returning non-void")

            def ret_void(fr: Frame) -> None:
                raise _Return(None)
            return ret_void
        if isinstance(ret, VoidType):
            raise self.err(node, "'return' with a value, in function returning void")
        get = self.convert(node.expr, ret, "return")

        def ret_value(fr: Frame) -> None:
            raise _Return(get(fr))
        return ret_value

    def s_If(self, node: c_ast.If) -> Stmt:
        cond = self.cond(node.cond)
        then = self.stmt(node.iftrue)
        other = self.stmt(node.iffalse) if node.iffalse is not None else None
        if other is None:
            def if_(fr: Frame) -> None:
                if cond(fr):
                    then(fr)
            return if_

        def if_else(fr: Frame) -> None:
            if cond(fr):
                then(fr)
            else:
                other(fr)
        return if_else

    def _loop_body(self, node: c_ast.Node) -> Stmt:
        self.ctx.loop_depth += 1
        try:
            return self.stmt(node)
        finally:
            self.ctx.loop_depth -= 1

    def s_While(self, node: c_ast.While) -> Stmt:
        cond = self.cond(node.cond)
        body = self._loop_body(node.stmt)
        where = self.where(node)

        def while_(fr: Frame) -> None:
            while cond(fr):
                _tick(fr, where)
                try:
                    body(fr)
                except _Break:
                    return
                except _Continue:
                    pass
        return while_

    def s_DoWhile(self, node: c_ast.DoWhile) -> Stmt:
        cond = self.cond(node.cond)
        body = self._loop_body(node.stmt)
        where = self.where(node)

        def do_(fr: Frame) -> None:
            while True:
                _tick(fr, where)
                try:
                    body(fr)
                except _Break:
                    return
                except _Continue:
                    pass
                if not cond(fr):
                    return
        return do_

    def s_For(self, node: c_ast.For) -> Stmt:
        self.ctx.scopes.append({})
        init = self.stmt(node.init) if isinstance(node.init, c_ast.DeclList | c_ast.Decl) else (
            self.expr_stmt(node.init) if node.init is not None else (lambda fr: None))
        cond = self.cond(node.cond) if node.cond is not None else (lambda fr: True)
        nxt = self.expr_stmt(node.next) if node.next is not None else (lambda fr: None)
        body = self._loop_body(node.stmt)
        self.ctx.scopes.pop()
        where = self.where(node)

        def for_(fr: Frame) -> None:
            init(fr)
            while cond(fr):
                _tick(fr, where)
                try:
                    body(fr)
                except _Break:
                    return
                except _Continue:
                    pass
                nxt(fr)
        return for_

    def s_Break(self, node: c_ast.Break) -> Stmt:
        if not self.ctx.loop_depth and not self.ctx.switch_depth:
            raise self.err(node, "break statement not within loop or switch")

        def brk(fr: Frame) -> None:
            raise _Break()
        return brk

    def s_Continue(self, node: c_ast.Continue) -> Stmt:
        if not self.ctx.loop_depth:
            raise self.err(node, "continue statement not within a loop")

        def cont(fr: Frame) -> None:
            raise _Continue()
        return cont

    def s_Goto(self, node: c_ast.Goto) -> Stmt:
        label = node.name
        if label not in self.ctx.all_labels:
            raise self.err(node, f"label '{label}' used but not defined")
        if not any(label in s for s in self.ctx.labels):
            raise self.err(node, f"goto {label}: jumping into a nested block is not supported "
                           "(put unwinding labels at the function's top level)")

        def goto(fr: Frame) -> None:
            raise _Goto(label)
        return goto

    def s_Switch(self, node: c_ast.Switch) -> Stmt:
        t, get = self.rvalue(node.cond)
        if not isinstance(t, IntType):
            raise self.err(node.cond, "switch quantity not an integer")
        body = node.stmt
        items = body.block_items if isinstance(body, c_ast.Compound) else [body]
        entries: dict[int, int] = {}
        default: int | None = None
        stmts: list[Stmt] = []
        self.ctx.switch_depth += 1
        self.ctx.scopes.append({})
        for it in items or []:
            if isinstance(it, c_ast.Case):
                v = wrap(promote(t), self.prog.const_int(it.expr, self.fname))
                if v in entries:
                    raise self.err(it, f"duplicate case value {v}")
                entries[v] = len(stmts)
                stmts += [self.stmt(s) for s in it.stmts or []]
            elif isinstance(it, c_ast.Default):
                default = len(stmts)
                stmts += [self.stmt(s) for s in it.stmts or []]
            else:
                stmts.append(self.stmt(it))
        self.ctx.scopes.pop()
        self.ctx.switch_depth -= 1
        pt = promote(t)

        def switch(fr: Frame) -> None:
            start = entries.get(wrap(pt, get(fr)), default)
            if start is None:
                return
            try:
                for s in stmts[start:]:
                    s(fr)
            except _Break:
                return
        return switch

    def expr_stmt(self, node: c_ast.Node) -> Stmt:
        if isinstance(node, c_ast.ExprList):
            parts = [self.expr_stmt(e) for e in node.exprs]

            def run(fr: Frame) -> None:
                for p in parts:
                    p(fr)
            return run
        _, get = self.expr(node, discard=True)
        return lambda fr: (get(fr), None)[1]

    def generic_stmt(self, node: c_ast.Node) -> Stmt:
        return self.expr_stmt(node)

    s_Assignment = s_FuncCall = s_UnaryOp = s_BinaryOp = s_ID = s_Cast = s_TernaryOp = \
        s_ExprList = s_StructRef = s_Constant = s_ArrayRef = generic_stmt

    # -- expressions ----------------------------------------------------------------------
    def expr(self, node: c_ast.Node, discard: bool = False) -> tuple[CType, Getter]:
        m = getattr(self, "e_" + type(node).__name__, None)
        if m is None:
            raise self.err(node, f"unsupported expression: {type(node).__name__}")
        if type(node).__name__ == "FuncCall":
            return m(node, discard)
        return m(node)

    def rvalue(self, node: c_ast.Node) -> tuple[CType, Getter]:
        t, get = self.expr(node)
        if isinstance(t, ArrayType):
            return PtrType(t.elem), get
        if isinstance(t, FuncType):
            return PtrType(t), get
        return t, get

    def cond(self, node: c_ast.Node) -> Callable[[Frame], bool]:
        t, get = self.rvalue(node)
        if isinstance(t, IntType):
            return lambda fr: get(fr) != 0
        if isinstance(t, PtrType):
            return lambda fr: get(fr) is not None
        raise self.err(node, f"used '{t}' where a scalar is required")

    def e_Constant(self, node: c_ast.Constant) -> tuple[CType, Getter]:
        if node.type == "string":
            s = _c_string(node.value)
            return PtrType(CHAR), lambda fr: s
        if node.type == "char":
            v = _c_char(node.value)
            return INT, lambda fr: v
        t, v = _int_constant(node.value)
        if t is None:
            raise self.err(node, f"invalid constant {node.value}")
        return t, lambda fr: v

    def e_ID(self, node: c_ast.ID) -> tuple[CType, Getter]:
        name = node.name
        loc = self.lookup(name)
        where = self.where(node)
        if loc is not None:
            idx = loc.index

            def local(fr: Frame) -> Any:
                v = fr.vars[idx]
                if v is UNINIT:
                    raise CRuntimeError(where, f"'{name}' is used uninitialized "
                                        "[-Werror=uninitialized]")
                return v
            return loc.type, local
        if name in self.prog.consts:
            v, t = self.prog.consts[name]
            return t, lambda fr: v
        var = self.prog.vars.get(name)
        if var is not None:
            return var.type, self._global_get(var, where)
        fn = self.prog.funcs.get(name)
        if fn is not None:
            return fn.type, lambda fr: fr.inst.function_value(name)
        raise self.err(node, self._undeclared(name))

    def _undeclared(self, name: str) -> str:
        known = [n for s in self.ctx.scopes for n in s] + list(self.prog.vars) + list(
            self.prog.funcs) + list(self.prog.consts) + sorted(self.prog.macro_names)
        near = difflib.get_close_matches(name, known, n=1)
        hint = f"; did you mean '{near[0]}'?" if near else ""
        return f"'{name}' undeclared (first use in this function){hint}"

    def _global_get(self, var: VarSym, where: Where) -> Getter:
        name, t = var.name, var.type

        def glob(fr: Frame) -> Any:
            return fr.inst.global_get(name, t, where)
        return glob

    # lvalues: (type, getter, setter, address-of)
    def lvalue(self, node: c_ast.Node, what: str = "assignment"
               ) -> tuple[CType, Getter, Callable[[Frame, Any], None], Getter]:
        where = self.where(node)
        if isinstance(node, c_ast.ID):
            loc = self.lookup(node.name)
            if loc is not None:
                if loc.const and what != "address":
                    raise self.err(node, f"{what} of read-only variable '{node.name}'")
                idx = loc.index
                _, get = self.e_ID(node)

                def set_local(fr: Frame, v: Any) -> None:
                    fr.vars[idx] = v
                if isinstance(loc.type, StructType) and loc.type.spell() not in _COUNTERS:
                    # A pointer to a structure is the object itself (runtime.py).
                    return loc.type, get, set_local, lambda fr: fr.vars[idx]
                return loc.type, get, set_local, lambda fr: LocalRef(fr.vars, idx)
            var = self.prog.vars.get(node.name)
            if var is not None:
                if var.const and what != "address":
                    raise self.err(node, f"{what} of read-only variable '{node.name}'")
                name, t = var.name, var.type
                get = self._global_get(var, where)

                def set_global(fr: Frame, v: Any) -> None:
                    fr.inst.global_set(name, t, v, where)
                return t, get, set_global, lambda fr: fr.inst.global_ref(name, t, where)
            if node.name in self.prog.funcs:
                raise self.err(node, f"lvalue required as left operand of {what}")
            raise self.err(node, self._undeclared(node.name))
        if isinstance(node, c_ast.StructRef):
            return self._member_lvalue(node, what)
        if isinstance(node, c_ast.UnaryOp) and node.op == "*":
            pt, pget = self.rvalue(node.expr)
            if not isinstance(pt, PtrType):
                raise self.err(node, f"invalid type argument of unary '*' (have '{pt}')")
            t = pt.target
            get = self._deref(pt, pget, where)

            def set_deref(fr: Frame, v: Any) -> None:
                ref = pget(fr)
                if ref is None:
                    raise COops(where, "kernel NULL pointer dereference, address: "
                                "0000000000000000")
                ref.value = v
            return t, get, set_deref, pget
        if isinstance(node, c_ast.ArrayRef):
            t, aget, iget = self._array_parts(node)

            def get_elem(fr: Frame) -> Any:
                return _index(aget(fr), iget(fr), where)

            def set_elem(fr: Frame, v: Any) -> None:
                seq = aget(fr)
                i = iget(fr)
                _index(seq, i, where)
                seq[i] = v

            def addr_elem(fr: Frame) -> Any:
                seq, i = aget(fr), iget(fr)
                v = _index(seq, i, where)
                return v if isinstance(t, StructType) else ArrayView(seq, i)
            return t, get_elem, set_elem, addr_elem
        raise self.err(node, f"lvalue required as left operand of {what}")

    def _array_parts(self, node: c_ast.ArrayRef) -> tuple[CType, Getter, Getter]:
        at, aget = self.expr(node.name)
        it, iget = self.rvalue(node.subscript)
        if not isinstance(at, ArrayType | PtrType) or not isinstance(it, IntType):
            raise self.err(node, "subscripted value is neither array nor pointer")
        t = at.elem if isinstance(at, ArrayType) else at.target
        return t, aget, iget

    def e_ArrayRef(self, node: c_ast.ArrayRef) -> tuple[CType, Getter]:
        t, get, _, _ = self.lvalue(node)
        return t, get

    def _member(self, node: c_ast.StructRef) -> tuple[StructType, str, CType, Getter]:
        bt, bget = self.rvalue(node.name) if node.type == "->" else self.expr(node.name)
        field_name = node.field.name
        if node.type == "->":
            if not isinstance(bt, PtrType) or not isinstance(bt.target, StructType):
                raise self.err(node, f"invalid type argument of '->' (have '{bt}')")
            st = bt.target
        else:
            if not isinstance(bt, StructType):
                raise self.err(node, f"request for member '{field_name}' in something not a "
                               f"structure or union (have '{bt}')")
            st = bt
        if not st.defined:
            raise self.err(node, f"invalid use of undefined type '{st.spell()}'")
        if field_name not in st.members:
            near = difflib.get_close_matches(field_name, list(st.members), n=1)
            hint = f"; did you mean '{near[0]}'?" if near else ""
            raise self.err(node.field, f"'{st.spell()}' has no member named '{field_name}'{hint}")
        return st, field_name, st.members[field_name], bget

    def _member_lvalue(self, node: c_ast.StructRef, what: str
                       ) -> tuple[CType, Getter, Callable[[Frame, Any], None], Getter]:
        st, name, mt, bget = self._member(node)
        where = self.where(node)
        off = _offset_of(st, name)
        readonly = name in st.const_members
        counter = isinstance(mt, StructType) and mt.spell() in _COUNTERS
        sname = st.spell()

        def obj_of(fr: Frame) -> Any:
            obj = bget(fr)
            if obj is None:
                raise COops(where, f"kernel NULL pointer dereference, address: {off:016x} "
                            f"(reading {sname}::{name} through a NULL pointer)")
            if isinstance(obj, CObject) and obj.freed_at:
                raise COops(where, f"KASAN: slab-use-after-free: {sname}::{name} read after "
                            f"kfree() at {obj.freed_at}")
            return obj

        def read(fr: Frame) -> Any:
            obj = obj_of(fr)
            try:
                v = getattr(obj, name)
            except UseAfterFreeError as exc:
                raise COops(where, f"KASAN: slab-use-after-free: {exc.reason}") from None
            except AttributeError:
                if isinstance(obj, CObject):
                    v = _zero(mt, self.prog) if obj._zeroed else UNINIT
                    if v is UNINIT:
                        raise CRuntimeError(where, f"{sname}::{name} is read before it is "
                                            "written (kmalloc() does not zero memory; use "
                                            "kzalloc() or set the field)") from None
                    object.__setattr__(obj, name, v)
                    return v
                raise CRuntimeError(where, f"the model's {type(obj).__name__} has no field "
                                    f"'{name}' for {sname}") from None
            if isinstance(mt, IntType) or counter:
                try:
                    return wrap(mt, to_python_int(v)) if isinstance(mt, IntType) else v
                except TypeError:
                    raise CRuntimeError(where, f"{sname}::{name} holds {v!r}, not an "
                                        "integer") from None
            return v

        def write(fr: Frame, v: Any) -> None:
            obj = obj_of(fr)
            try:
                cur = getattr(obj, name, None)
                if isinstance(mt, IntType):
                    v = store_int(cur, v)
                setattr(obj, name, v)
            except UseAfterFreeError as exc:
                raise COops(where, f"KASAN: slab-use-after-free: {exc.reason}") from None

        def addr(fr: Frame) -> Any:
            if isinstance(mt, StructType) and not counter:
                return read(fr)
            return FieldRef(obj_of(fr), name)

        if readonly and what != "address":
            def refuse(fr: Frame, v: Any) -> None:
                raise AssertionError
            if what in ("assignment", "increment", "decrement"):
                raise self.err(node, f"{what} of read-only member '{name}'")
            return mt, read, refuse, addr
        return mt, read, write, addr

    def e_StructRef(self, node: c_ast.StructRef) -> tuple[CType, Getter]:
        t, get, _, _ = self._member_lvalue(node, "read")
        return t, get

    def _deref(self, pt: PtrType, pget: Getter, where: Where) -> Getter:
        target = pt.target
        if isinstance(target, VoidType):
            raise CCompileError(where, "dereferencing 'void *' pointer")

        def deref(fr: Frame) -> Any:
            p = pget(fr)
            if p is None:
                raise COops(where, "kernel NULL pointer dereference, address: 0000000000000000")
            if isinstance(target, StructType) and target.spell() not in _COUNTERS:
                return p
            if isinstance(target, FuncType):
                return p
            try:
                v = p.value
            except AttributeError:
                raise CRuntimeError(where, f"'*' of {p!r}: not a pointer to {target}") from None
            if v is UNINIT:
                raise CRuntimeError(where, "the object pointed to is used uninitialized")
            return v
        return deref

    def e_UnaryOp(self, node: c_ast.UnaryOp) -> tuple[CType, Getter]:
        op = node.op
        where = self.where(node)
        if op == "sizeof":
            if isinstance(node.expr, c_ast.Typename):
                t = self.prog.resolve(node.expr, self.fname)
            else:
                t, _ = self.expr(node.expr)
            n = _size_of(t)
            return ULONG, lambda fr: n
        if op == "&":
            if isinstance(node.expr, c_ast.ID) and node.expr.name in self.prog.funcs and \
                    self.lookup(node.expr.name) is None:
                return self.rvalue(node.expr)
            t, _, _, addr = self.lvalue(node.expr, "address")
            return PtrType(t), addr
        if op == "*":
            pt, pget = self.rvalue(node.expr)
            if not isinstance(pt, PtrType):
                raise self.err(node, f"invalid type argument of unary '*' (have '{pt}')")
            return pt.target, self._deref(pt, pget, where)
        if op in ("++", "--", "p++", "p--"):
            return self._incdec(node)
        t, get = self.rvalue(node.expr)
        if op == "!":
            c = self.cond(node.expr)
            return INT, lambda fr: 0 if c(fr) else 1
        if not isinstance(t, IntType):
            raise self.err(node, f"wrong type argument to unary '{op}' (have '{t}')")
        rt = promote(t)
        if op == "-":
            return rt, lambda fr: wrap(rt, -get(fr))
        if op == "+":
            return rt, get
        if op == "~":
            return rt, lambda fr: wrap(rt, ~get(fr))
        raise self.err(node, f"unsupported operator '{op}'")

    def _incdec(self, node: c_ast.UnaryOp) -> tuple[CType, Getter]:
        what = "increment" if "+" in node.op else "decrement"
        t, get, set_, _ = self.lvalue(node.expr, what)
        if not isinstance(t, IntType):
            raise self.err(node, f"{what} of '{t}' is not supported (pointer arithmetic)")
        delta = 1 if "+" in node.op else -1
        post = node.op.startswith("p")

        def incdec(fr: Frame) -> Any:
            old = get(fr)
            new = wrap(t, old + delta)
            set_(fr, new)
            return old if post else new
        return t, incdec

    def e_Cast(self, node: c_ast.Cast) -> tuple[CType, Getter]:
        to = self.prog.resolve(node.to_type, self.fname)
        t, get = self.rvalue(node.expr)
        if isinstance(to, VoidType):
            return VOID, get
        if isinstance(to, IntType):
            if isinstance(t, IntType):
                return to, lambda fr: wrap(to, get(fr))
            raise self.err(node, f"cast from '{t}' to '{to}' is not supported: this front end "
                           "keeps pointers as objects, not numbers")
        if isinstance(to, PtrType):
            if isinstance(t, PtrType):
                return to, get
            if isinstance(t, IntType) and _is_zero_constant(node.expr):
                return to, lambda fr: None
            raise self.err(node, f"cast from '{t}' to '{to}' is not supported: only NULL "
                           "becomes a pointer")
        raise self.err(node, f"conversion to non-scalar type '{to}' requested")

    _ARITH = {
        "+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
        "&": lambda a, b: a & b, "|": lambda a, b: a | b, "^": lambda a, b: a ^ b,
    }
    _CMP = {
        "<": lambda a, b: a < b, ">": lambda a, b: a > b, "<=": lambda a, b: a <= b,
        ">=": lambda a, b: a >= b, "==": lambda a, b: a == b, "!=": lambda a, b: a != b,
    }

    def e_BinaryOp(self, node: c_ast.BinaryOp) -> tuple[CType, Getter]:
        op = node.op
        where = self.where(node)
        if op in ("&&", "||"):
            a, b = self.cond(node.left), self.cond(node.right)
            if op == "&&":
                return INT, lambda fr: 1 if a(fr) and b(fr) else 0
            return INT, lambda fr: 1 if a(fr) or b(fr) else 0
        lt, lget = self.rvalue(node.left)
        rt, rget = self.rvalue(node.right)
        return self.binary(node, op, lt, lget, rt, rget, where)

    def binary(self, node: c_ast.Node, op: str, lt: CType, lget: Getter, rt: CType,
               rget: Getter, where: Where) -> tuple[CType, Getter]:
        if op in ("==", "!=") and (isinstance(lt, PtrType) or isinstance(rt, PtrType)):
            if not all(isinstance(x, PtrType) or _int_zero_ok(x) for x in (lt, rt)):
                raise self.err(node, f"comparison between pointer and integer ('{lt}' and "
                               f"'{rt}')")
            eq = op == "=="
            return INT, lambda fr: 1 if ((lget(fr) is rget(fr)) or _null_eq(
                lget(fr), rget(fr))) == eq else 0
        if op in ("+", "-") and isinstance(lt, PtrType) and isinstance(rt, IntType) or (
                op == "+" and isinstance(lt, IntType) and isinstance(rt, PtrType)):
            return self._pointer_step(op, lt, lget, rt, rget, where)
        if not isinstance(lt, IntType) or not isinstance(rt, IntType):
            if isinstance(lt, PtrType) or isinstance(rt, PtrType):
                raise self.err(node, f"invalid operands to binary {op} (have '{lt}' and "
                               f"'{rt}'): pointer arithmetic is not supported")
            raise self.err(node, f"invalid operands to binary {op} (have '{lt}' and '{rt}')")
        if op in ("<<", ">>"):
            pt = promote(lt)
            bits = pt.bits

            def shift(fr: Frame) -> int:
                a, n = lget(fr), rget(fr)
                if n < 0 or n >= bits:
                    raise CRuntimeError(where, f"UBSAN: shift-out-of-bounds: shift exponent {n} "
                                        f"is too large for {bits}-bit type '{pt}'")
                return wrap(pt, a << n) if op == "<<" else wrap(pt, wrap(pt, a) >> n)
            return pt, shift
        ct = common(lt, rt)
        if op in self._CMP:
            f = self._CMP[op]
            return INT, lambda fr: 1 if f(wrap(ct, lget(fr)), wrap(ct, rget(fr))) else 0
        if op in self._ARITH:
            f = self._ARITH[op]
            return ct, lambda fr: wrap(ct, f(wrap(ct, lget(fr)), wrap(ct, rget(fr))))
        if op in ("/", "%"):
            def divide(fr: Frame) -> int:
                a, b = wrap(ct, lget(fr)), wrap(ct, rget(fr))
                if b == 0:
                    raise COops(where, "divide error: 0000 (division by zero)")
                q = abs(a) // abs(b)
                q = q if (a < 0) == (b < 0) else -q
                return wrap(ct, q if op == "/" else a - q * b)
            return ct, divide
        raise self.err(node, f"unsupported operator '{op}'")

    def _pointer_step(self, op: str, lt: CType, lget: Getter, rt: CType, rget: Getter,
                      where: Where) -> tuple[CType, Getter]:
        """``p + n`` / ``p - n`` for a pointer into an array (``pages + pgoff``)."""
        pt, pget, nget = (lt, lget, rget) if isinstance(lt, PtrType) else (rt, rget, lget)
        sign = -1 if op == "-" else 1

        def step(fr: Frame) -> Any:
            p, n = pget(fr), nget(fr) * sign
            if isinstance(p, ArrayView) or isinstance(p, list | tuple):
                view = ArrayView(p, n)
                if not 0 <= view.index <= len(view.seq):
                    raise COops(where, f"KASAN: out-of-bounds: pointer {view.index} elements "
                                f"into an array of {len(view.seq)}")
                return view
            if p is None:
                raise COops(where, "kernel NULL pointer dereference, address: "
                            f"{abs(n) * 8:016x} (arithmetic on a NULL pointer)")
            raise CRuntimeError(where, f"pointer arithmetic on '{pt}' that does not point into "
                                "an array is not supported")
        return pt, step

    def e_TernaryOp(self, node: c_ast.TernaryOp) -> tuple[CType, Getter]:
        c = self.cond(node.cond)
        at, aget = self.rvalue(node.iftrue)
        bt, bget = self.rvalue(node.iffalse)
        if isinstance(at, IntType) and isinstance(bt, IntType):
            t = common(at, bt)
            return t, lambda fr: wrap(t, aget(fr)) if c(fr) else wrap(t, bget(fr))
        rt = at if not _int_zero_ok(at) else bt
        return rt, lambda fr: aget(fr) if c(fr) else bget(fr)

    def e_Assignment(self, node: c_ast.Assignment) -> tuple[CType, Getter]:
        t, get, set_, _ = self.lvalue(node.lvalue)
        where = self.where(node)
        if node.op == "=":
            conv = self.convert(node.rvalue, t, "assignment")

            def assign(fr: Frame) -> Any:
                v = conv(fr)
                set_(fr, v)
                return v
            return t, assign
        op = node.op[:-1]
        rt, rget = self.rvalue(node.rvalue)
        bt, bget = self.binary(node, op, t, get, rt, rget, where)
        if not isinstance(t, IntType):
            raise self.err(node, f"invalid operands to '{node.op}' (have '{t}')")

        def compound(fr: Frame) -> Any:
            v = wrap(t, bget(fr))
            set_(fr, v)
            return v
        return t, compound

    def e_ExprList(self, node: c_ast.ExprList) -> tuple[CType, Getter]:
        parts = [self.expr(e) for e in node.exprs]

        def comma(fr: Frame) -> Any:
            v = None
            for _, g in parts:
                v = g(fr)
            return v
        return parts[-1][0], comma

    def e_FuncCall(self, node: c_ast.FuncCall, discard: bool = False) -> tuple[CType, Getter]:
        where = self.where(node)
        args = node.args.exprs if node.args is not None else []
        name = node.name.name if isinstance(node.name, c_ast.ID) else None
        if name is not None and self.lookup(name) is None and name not in self.prog.vars:
            fn = self.prog.funcs.get(name)
            if fn is None:
                raise self.err(node, f"implicit declaration of function '{name}' "
                               "[-Werror=implicit-function-declaration]")
            ftype = fn.type
            getters = self.call_args(node, name, ftype, args)
            return ftype.ret, self._call_named(name, ftype, getters, where, args)
        ft, fget = self.rvalue(node.name)
        if not isinstance(ft, PtrType) or not isinstance(ft.target, FuncType):
            raise self.err(node, f"called object is not a function or function pointer "
                           f"(have '{ft}')")
        ftype = ft.target
        label = _describe_callee(node.name)
        getters = self.call_args(node, label, ftype, args)
        ret = ftype.ret

        def call_ptr(fr: Frame) -> Any:
            f = fget(fr)
            if f is None:
                raise COops(where, f"kernel NULL pointer dereference, address: 0000000000000000"
                            f" (calling {label} through a NULL function pointer)")
            return _from_python(ret, f(*(g(fr) for g in getters)), where, label)
        return ret, call_ptr

    def _call_named(self, name: str, ftype: FuncType, getters: list[Getter], where: Where,
                    args: list[c_ast.Node]) -> Getter:
        if name in ("WARN_ON", "WARN_ON_ONCE", "WARN"):
            impl = HELPERS[name]
            text = f"{where} {name}({_source_of(args[0]) if args else ''})"

            def warn(fr: Frame) -> Any:
                vals = [g(fr) for g in getters]
                return 1 if impl(vals[0], text) else 0
            return warn
        if name == "BUG_ON":
            def bug_on(fr: Frame) -> Any:
                if getters[0](fr):
                    raise COops(where, f"kernel BUG at {where}! (BUG_ON)")
            return bug_on
        if name == "kfree":
            def kfree(fr: Frame) -> Any:
                p = getters[0](fr)
                if isinstance(p, CObject):
                    if p.freed_at:
                        raise COops(where, f"KASAN: double-free: kfree() of an object "
                                    f"already freed at {p.freed_at}")
                    object.__setattr__(p, "freed_at", str(where))
            return kfree

        def call(fr: Frame) -> Any:
            vals = [g(fr) for g in getters]
            return fr.inst.call(name, vals, where)
        return call

    def call_args(self, node: c_ast.Node, name: str, ftype: FuncType,
                  args: list[c_ast.Node]) -> list[Getter]:
        np = len(ftype.params)
        if len(args) < np or (len(args) > np and not ftype.variadic):
            few = "few" if len(args) < np else "many"
            raise self.err(node, f"too {few} arguments to function '{name}': expected {np}, "
                           f"have {len(args)} ({name} is declared '{ftype.ret} {name}"
                           f"({ftype.spell_params()})')")
        out = []
        for i, a in enumerate(args):
            if i < np:
                out.append(self.convert(a, ftype.params[i], f"argument {i + 1} of '{name}'",
                                        callee=name))
            else:
                _, g = self.rvalue(a)
                out.append(g)
        return out

    def convert(self, node: c_ast.Node, to: CType, what: str, callee: str = "") -> Getter:
        """``node``'s value converted to ``to`` as C converts on assignment, or an error."""
        t, get = self.rvalue(node)
        if isinstance(to, IntType):
            if isinstance(t, IntType):
                if to is BOOL:
                    return lambda fr: 1 if get(fr) else 0
                return lambda fr: wrap(to, get(fr))
            if isinstance(t, PtrType) and to is BOOL:
                return lambda fr: 0 if get(fr) is None else 1
            raise self.err(node, f"{what} makes integer from pointer without a cast: expected "
                           f"'{to}' but the value is '{t}' [-Werror=int-conversion]")
        if isinstance(to, PtrType):
            if isinstance(t, IntType):
                if _is_zero_constant(node):
                    return lambda fr: None
                raise self.err(node, f"{what} makes pointer from integer without a cast: "
                               f"expected '{to}' but the value is '{t}' [-Werror=int-conversion]")
            if isinstance(t, PtrType):
                if _ptr_compatible(to, t):
                    return get
                msg = (f"{what}: incompatible pointer type: expected '{to}' but the value is "
                       f"'{t}' [-Werror=incompatible-pointer-types]")
                if callee in LEGACY_VMA_HELPERS and _struct_name(t.target) == \
                        "struct vm_area_desc":
                    msg = (f"{callee}() is a legacy helper: it needs a struct vm_area_struct, "
                           f"which does not exist yet when mmap_prepare runs (passing "
                           f"'{t}'); in mmap_prepare use {LEGACY_VMA_HELPERS[callee]}")
                    exc = self.err(node, msg)
                    exc.rule = "helper-in-prepare"
                    raise exc
                raise self.err(node, msg)
            raise self.err(node, f"{what}: expected '{to}' but the value is '{t}'")
        if isinstance(to, StructType):
            if isinstance(t, StructType) and t is to:
                return get
            raise self.err(node, f"{what}: incompatible type: expected '{to}' but the value "
                           f"is '{t}'")
        raise self.err(node, f"{what}: cannot convert '{t}' to '{to}'")

    def init_value(self, t: CType, init: c_ast.Node, name: str) -> Getter:
        if isinstance(init, c_ast.InitList):
            if isinstance(t, StructType):
                return self._struct_init(t, init, name)
            if isinstance(t, ArrayType):
                parts = [self.init_value(t.elem, e, name) for e in init.exprs]
                n = t.size if t.size is not None else len(parts)
                elem = t.elem
                prog = self.prog

                def array(fr: Frame) -> Any:
                    vals = [p(fr) for p in parts]
                    return vals + [_zero(elem, prog) for _ in range(n - len(vals))]
                return array
            if len(init.exprs) == 1:
                return self.init_value(t, init.exprs[0], name)
            raise self.err(init, f"excess elements in scalar initializer of '{name}'")
        return self.convert(init, t, f"initialization of '{name}'")

    def _struct_init(self, t: StructType, init: c_ast.InitList, name: str) -> Getter:
        fields: list[tuple[str, Getter]] = []
        names = list(t.members)
        pos = 0
        for e in init.exprs:
            if isinstance(e, c_ast.NamedInitializer):
                fname = e.name[0].name
                if fname not in t.members:
                    raise self.err(e, f"'{t.spell()}' has no member named '{fname}'")
                pos = names.index(fname)
                val = e.expr
            else:
                if pos >= len(names):
                    raise self.err(e, f"excess elements in struct initializer of '{name}'")
                fname, val = names[pos], e
            fields.append((fname, self.init_value(t.members[fname], val, f"{name}.{fname}")))
            pos += 1
        tag = t.tag
        prog = self.prog

        def build(fr: Frame) -> Any:
            vals = {f: g(fr) for f, g in fields}
            return fr.inst.make_struct(tag, name, vals) if fr.inst is not None else \
                _plain_struct(t, vals, prog)
        return build


# -- helpers -------------------------------------------------------------------------------

def _tick(fr: Frame, where: Where) -> None:
    fr.steps += 1
    if fr.steps > MAX_STEPS:
        raise CRuntimeError(where, f"this loop ran {MAX_STEPS} times without finishing: "
                            "the check's time budget is spent (an endless loop?)")


def _index(seq: Any, i: int, where: Where) -> Any:
    if seq is None:
        raise COops(where, "kernel NULL pointer dereference, address: 0000000000000000")
    try:
        n = len(seq)
    except TypeError:
        raise CRuntimeError(where, f"{seq!r} is not an array") from None
    if not 0 <= i < n:
        raise COops(where, f"KASAN: slab-out-of-bounds: index {i} of an array of {n}")
    return seq[i]


def _zero(t: CType, prog: Program | None) -> Any:
    if isinstance(t, IntType):
        return 0
    if isinstance(t, StructType):
        if t.spell() in _COUNTERS:
            return 0
        obj = CObject(t.spell(), zeroed=True)
        return obj
    if isinstance(t, ArrayType):
        return [_zero(t.elem, prog) for _ in range(t.size or 0)]
    return None


def _plain_struct(t: StructType, vals: dict[str, Any], prog: Program) -> Any:
    obj = CObject(t.spell(), zeroed=True)
    for k, v in vals.items():
        object.__setattr__(obj, k, v)
    return obj


def _from_python(ret: CType, v: Any, where: Where, name: str) -> Any:
    if isinstance(ret, VoidType):
        return None
    if isinstance(ret, IntType):
        if v is None:
            return 0
        try:
            return wrap(ret, to_python_int(v))
        except TypeError:
            raise CRuntimeError(where, f"{name}() returned {v!r}, not an integer") from None
    return v


def _null_eq(a: Any, b: Any) -> bool:
    return (a is None or a == 0 and not isinstance(a, bool) and type(a) is int) and (
        b is None or b == 0 and type(b) is int)


def _int_zero_ok(t: CType) -> bool:
    return isinstance(t, IntType)


def _is_zero_constant(node: c_ast.Node) -> bool:
    if isinstance(node, c_ast.Cast):
        return _is_zero_constant(node.expr)
    return isinstance(node, c_ast.Constant) and node.type != "string" and \
        _int_constant(node.value)[1] == 0


def _ptr_compatible(to: PtrType, t: PtrType) -> bool:
    a, b = to.target, t.target
    if isinstance(a, VoidType) or isinstance(b, VoidType):
        return True
    if isinstance(a, StructType) and isinstance(b, StructType):
        return a is b
    if isinstance(a, PtrType) and isinstance(b, PtrType):
        return _ptr_compatible(a, b)
    if isinstance(a, IntType) and isinstance(b, IntType):
        return a.bits == b.bits and a.signed == b.signed or (a is CHAR or b is CHAR)
    if isinstance(a, FuncType) and isinstance(b, FuncType):
        return len(a.params) == len(b.params)
    return a == b


def _describe_callee(node: c_ast.Node) -> str:
    return _source_of(node)


def _source_of(node: c_ast.Node) -> str:
    from pycparser.c_generator import CGenerator

    return str(CGenerator().visit(node))


def _int_constant(text: str) -> tuple[IntType | None, int]:
    m = re.fullmatch(r"(0[xX][0-9a-fA-F]+|0[bB][01]+|0[0-7]*|[1-9]\d*)([uUlL]*)", text)
    if m is None:
        return None, 0
    digits, suffix = m.group(1), m.group(2).lower()
    if digits.lower().startswith("0x"):
        v = int(digits, 16)
    elif digits.lower().startswith("0b"):
        v = int(digits[2:], 2)
    elif digits.startswith("0") and len(digits) > 1:
        v = int(digits, 8)
    else:
        v = int(digits)
    decimal = digits[0] != "0" or digits == "0"
    u = "u" in suffix
    longs = suffix.count("l")
    candidates = [INT, UINT, LONG, ULONG, LLONG, ULLONG]
    if longs == 1:
        candidates = [LONG, ULONG, LLONG, ULLONG]
    elif longs == 2:
        candidates = [LLONG, ULLONG]
    if u:
        candidates = [c for c in candidates if not c.signed]
    elif decimal:
        candidates = [c for c in candidates if c.signed] + [ULLONG]
    for c in candidates:
        if v <= (1 << (c.bits - (1 if c.signed else 0))) - 1:
            return c, v
    return ULLONG, v & ((1 << 64) - 1)


_ESC = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "\\": "\\", "'": "'", '"': '"',
        "a": "\a", "b": "\b", "f": "\f", "v": "\v"}


def _unescape(s: str) -> str:
    return re.sub(r"\\(x[0-9a-fA-F]+|[0-7]{1,3}|.)", lambda m: _ESC.get(m.group(1)) or (
        chr(int(m.group(1)[1:], 16)) if m.group(1)[0] == "x" else
        chr(int(m.group(1), 8)) if m.group(1)[0].isdigit() else m.group(1)), s)


def _c_string(text: str) -> str:
    parts = re.findall(r'"((?:\\.|[^"\\])*)"', text)
    return "".join(_unescape(p) for p in parts)


def _c_char(text: str) -> int:
    return ord(_unescape(text[1:-1])[:1] or "\0")


def _readonly_member(d: c_ast.Decl) -> bool:
    """``const T x`` and ``T *const x`` members are read-only; ``const T *x`` is not."""
    if isinstance(d.type, c_ast.PtrDecl):
        return "const" in (d.type.quals or [])
    return "const" in (d.quals or [])


def _labels(node: c_ast.Node) -> set[str]:
    out: set[str] = set()

    class V(c_ast.NodeVisitor):
        def visit_Label(self, n: c_ast.Label) -> None:
            out.add(n.name)
            self.generic_visit(n)
    V().visit(node)
    return out


def _has_break(node: c_ast.Node) -> bool:
    """A ``break`` that leaves this loop/switch (not one of a nested loop or switch)."""
    if isinstance(node, c_ast.Break):
        return True
    if isinstance(node, c_ast.While | c_ast.DoWhile | c_ast.For | c_ast.Switch):
        return False
    return any(_has_break(c) for _, c in node.children())


def _falls_through(node: c_ast.Node | None) -> bool:
    """Whether control can reach the end of ``node`` (what -Wreturn-type works out)."""
    if node is None:
        return True
    if isinstance(node, c_ast.Return | c_ast.Goto):
        return False
    if isinstance(node, c_ast.Compound):
        items = node.block_items or []
        return not items or _falls_through(items[-1])
    if isinstance(node, c_ast.Label):
        return _falls_through(node.stmt)
    if isinstance(node, c_ast.If):
        return node.iffalse is None or _falls_through(node.iftrue) or _falls_through(
            node.iffalse)
    if isinstance(node, c_ast.While | c_ast.For):
        cond = node.cond
        forever = cond is None or (isinstance(cond, c_ast.Constant) and cond.value != "0")
        return not forever or _has_break(node.stmt)
    if isinstance(node, c_ast.DoWhile):
        forever = isinstance(node.cond, c_ast.Constant) and node.cond.value != "0"
        return not forever or _has_break(node.stmt)
    if isinstance(node, c_ast.Switch):
        body = node.stmt
        items = body.block_items if isinstance(body, c_ast.Compound) else [body]
        has_default = any(isinstance(i, c_ast.Default) for i in items or [])
        if not has_default or _has_break(body):
            return True
        last = (items or [None])[-1]
        if isinstance(last, c_ast.Case | c_ast.Default):
            return not last.stmts or _falls_through(last.stmts[-1])
        return _falls_through(last)
    if isinstance(node, c_ast.FuncCall) and isinstance(node.name, c_ast.ID) and \
            node.name.name in ("BUG", "panic"):
        return False
    return True


