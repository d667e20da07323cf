"""Write the hook in kernel C: a front end that runs C hooks against the model.

::

    from mmaplab.kernel_c import compile_c
    prog = compile_c(source, "answer.c")          # parse + type-check, CCompileError at a line
    hook = prog.bind(driver).function("hpet_mmap_prepare")
    FileOperations(mmap_prepare=hook)              # a C hook is a Python hook

The C is preprocessed (our header ``mmaplab.h`` first, then the answer), parsed by
pycparser (an optional dependency: ``pip install mmaplab[c]``) and compiled to
closures over the model (:mod:`.compiler`).  What it accepts and refuses is listed in
:data:`SUBSET`.
"""

from __future__ import annotations

import functools
import os
import pickle
import weakref
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .bindings import constants, dmesg
from .errors import CCompileError, CError, COops, CRuntimeError, Where
from .preprocess import Macro, preprocess, strip_comments

__all__ = ["compile_c", "CProgram", "CCompileError", "CError", "COops", "CRuntimeError",
           "header_text", "dmesg", "method", "SUBSET", "DEFAULT_CONFIG"]

#: The kernel configuration a hook is compiled for unless told otherwise: the model's
#: x86-64 kernel has an MMU.  Each name is ``#define``\ d to 1 before the answer, as
#: Kbuild's autoconf.h does, so ``#ifdef CONFIG_MMU`` picks the branch the device's
#: kernel would build (:meth:`mmaplab.drivers.base.Driver.kconfig`).
DEFAULT_CONFIG: frozenset[str] = frozenset({"CONFIG_MMU"})

SUBSET = """\
Supported: declarations with initialisers (scalars, pointers, structures with designated
initialisers, arrays), if/else, switch (fall-through, default), while/do/for (bounded by
the check's budget), break/continue, return, goto to labels of an enclosing block
(unwinding labels); all arithmetic, bitwise, shift, logical, comparison, conditional and
comma operators, compound assignment, ++/--, casts between integer types and between
pointer types, sizeof; member access (. and ->), & and * (out-parameters such as
void **vm_private_data, &local, &obj->field), array subscripts; calls of C functions,
of the header's helpers and through function pointers; #define (object- and
function-like, # and __VA_ARGS__), #ifdef/#ifndef/#if 0|1|NAME/#else/#endif, #include of
mmaplab.h (or the <linux/...> headers it stands for); container_of, READ_ONCE/WRITE_ONCE,
pr_*/printk, WARN_ON/WARN_ON_ONCE/WARN/BUG_ON, kmalloc/kzalloc/kfree.
Integers follow x86-64 LP64 C: int is 32-bit, long 64-bit, unsigned arithmetic wraps,
signed arithmetic wraps (the kernel's -fno-strict-overflow), >> of a signed value is
arithmetic, conversions truncate; a shift by the type's width or more is reported
(UBSAN), as is division by zero.
Refused (with a message at the line): pointer arithmetic, casts between pointers and
integers (other than NULL), static locals, goto into a nested block, struct copies
with value semantics (a structure value is shared), floating point, inline assembly,
#include of other files, function-like macros defined recursively.
"""


#: pycparser must know typedef names while parsing; the answer is parsed after these.
_TYPEDEF_FILE = "<header typedefs>"


@functools.cache
def _header() -> tuple[dict[str, Any], Any, str]:
    """The header, preprocessed and compiled once per process: macros, program, typedefs."""
    from .compiler import Program

    macros, ast = _header_ast()
    prog = Program("mmaplab.h", [])
    for ext in ast.ext:
        prog.add(ext)
    prelude = f'# 1 "{_TYPEDEF_FILE}"\n' + "".join(f"typedef int {n};\n" for n in prog.typedefs)
    return macros, prog, prelude


def _cache_path(text: str) -> Path:
    import pycparser

    # crc32 and the length, not a cryptographic hash: a cache key, and hashlib's import
    # alone costs a shell check more than the whole key computation.
    data = f"{pycparser.__version__}\0{text}".encode()
    key = f"{zlib.crc32(data):08x}{len(data):x}"
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "mmaplab" / f"kernel_c-header-{key}.pickle"


def _header_ast() -> tuple[dict[str, Any], Any]:
    """The header's macros and AST, from a per-user cache keyed by the header's text and
    pycparser's version (parsing it is most of the time a check takes from a shell)."""
    text = header_text()
    path = _cache_path(text)
    try:
        cached = pickle.loads(path.read_bytes())
        if isinstance(cached, tuple) and len(cached) == 2:
            return cached
    except (OSError, pickle.PickleError, EOFError, AttributeError, ImportError, TypeError):
        pass
    pre, macros = preprocess(text, "mmaplab.h")
    result = (macros, _parse(pre, "mmaplab.h"))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(pickle.dumps(result))
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only home: parse each time
    return result


@functools.cache
def header_text() -> str:
    """Our kernel header: the generated constants, ``mmaplab.h``, the drivers' ``drivers.h``."""
    here = Path(__file__).parent  # package data next to this module (pathlib: cheaper to
    # import than importlib.resources, which a shell check would load for this alone)
    return constants() + "".join((here / n).read_text() for n in ("mmaplab.h", "drivers.h"))


class CProgram:
    """A compiled C translation unit; :meth:`bind` it to a device to run it."""

    def __init__(self, source: str, filename: str = "answer.c",
                 helpers: dict[str, Callable[..., Any]] | None = None,
                 config: frozenset[str] = DEFAULT_CONFIG) -> None:
        self.source = source
        self.filename = filename
        self.config = frozenset(config)
        macros, base, prelude = _header()
        kconfig = {name: Macro(name, ["1"]) for name in sorted(self.config)}
        text, _ = preprocess(source, filename, {**macros, **kconfig})
        ast = _parse(prelude + text, filename)
        self.prog = base.derive(filename, strip_comments(source).split("\n"))
        self.prog.macro_names = {n for n, m in macros.items() if m.params is None}
        self.prog.extra_helpers = dict(helpers or {})
        for ext in ast.ext:
            if ext.coord is None or ext.coord.file != _TYPEDEF_FILE:
                self.prog.add(ext)
        self._bound: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()
        self._unbound: Any = None

    @property
    def functions(self) -> list[str]:
        """The functions the C defines, in no particular order."""
        return sorted(n for n, f in self.prog.funcs.items()
                      if f.body is not None and f.where.file == self.filename)

    def bind(self, env: Any = None) -> Any:
        """An :class:`~mmaplab.kernel_c.instance.Instance` of the program on ``env``.

        One instance per device object (cached), so ``static`` objects such as a
        driver's ``vm_operations_struct`` are the same object on every call.
        """
        from .instance import Instance

        if env is None:
            if self._unbound is None:
                self._unbound = Instance(self.prog, None)
            return self._unbound
        try:
            inst = self._bound.get(env)
        except TypeError:  # not weak-referenceable: no caching
            return Instance(self.prog, env)
        if inst is None:
            inst = self._bound[env] = Instance(self.prog, env)
        return inst

    def function(self, name: str, env: Any = None) -> Callable[..., Any]:
        """The C function ``name`` bound to ``env``, as a Python hook."""
        return self.bind(env).function(name)


def _parse(text: str, filename: str) -> Any:
    from pycparser import c_parser

    parser = c_parser.CParser()
    try:
        return parser.parse(text, filename)
    except c_parser.ParseError as exc:
        msg = str(exc)
        parts = msg.split(":", 3)
        if len(parts) >= 3 and parts[1].isdigit():
            rest = parts[-1].strip()
            raise CCompileError(Where(parts[0], int(parts[1])),
                                f"syntax error: {rest}") from None
        raise CCompileError(Where(filename, 0), f"syntax error: {msg}") from None


def compile_c(source: str, filename: str = "answer.c",
              helpers: dict[str, Callable[..., Any]] | None = None,
              config: frozenset[str] = DEFAULT_CONFIG) -> CProgram:
    """Preprocess, parse and type-check ``source``; :class:`CCompileError` at its line.

    ``helpers``: Python implementations of functions the header declares for a device
    that has no driver model of its own (an exercise's made-up device).  ``config``:
    the ``CONFIG_*`` options defined for the answer (:data:`DEFAULT_CONFIG`).
    """
    return CProgram(source, filename, helpers, config)


def method(prog: CProgram, name: str) -> Callable[..., Any]:
    """``name`` as a Python method: ``f(self, *args)`` runs the C bound to ``self``.

    The exercises give a learner's Python hooks the driver as ``self``; a C hook
    reads the same state through the globals and helpers the header declares.
    """
    fn_sym = prog.prog.funcs.get(name)
    if fn_sym is None or fn_sym.body is None:
        raise CCompileError(Where(prog.filename, 0), f"the C defines no function '{name}' "
                            f"(it defines: {', '.join(prog.functions) or 'none'})")

    def call(self: Any, *args: Any) -> Any:
        return prog.bind(self).function(name)(*args)

    call.__name__ = name
    call.__qualname__ = name
    return call
