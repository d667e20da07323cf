"""Answers in kernel C: the same checks, on hooks written as the kernel writes them.

A C answer is a translation unit (:func:`mmaplab.kernel_c.compile_c`) that defines the
names the exercise asks for — functions (``hpet_mmap_prepare``) or objects (a
``static const struct vm_operations_struct``).  :func:`answer_from_c` turns them into
the Python values the exercise's check takes, so a C answer goes through exactly the
check a Python answer does (:func:`mmaplab.exercises.verify`), with the same
misconceptions.  Where the Python answer takes the device as ``self`` first, the C
function takes one argument less and reads the device through the globals and helpers
the header declares: it is bound to that device (``mmaplab.kernel_c.method``).

The reference solutions and the catalogued wrong answers in C live next to this module:
``c/NN_slug/reference.c``, and each wrong answer as the change it makes to the reference,
``c/NN_slug/wrong/<misconception>.patch`` (a unified diff, applied by :mod:`._patch`), so
every line of C is written once.  ``c/NN_slug/legacy.c`` is the driver's hook as it was
before the series (``f_op->mmap`` on a ``struct vm_area_struct``), which
:func:`check_legacy_c` runs in place of the legacy driver model's own hook: the book
shows that C, and the result of that run.
"""

from __future__ import annotations

import functools
import re
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..kernel_c import DEFAULT_CONFIG, CError, CProgram, compile_c
from ._catalogue import get
from ._patch import apply_patch

__all__ = ["CAnswer", "answer_from_c", "verify_c", "check_c", "c_sources", "c_exercises",
           "render_c_result", "exercise_configs", "c_stub", "legacy_c_source", "check_legacy_c",
           "compile_misconception"]


def exercise_helpers(nn: str) -> dict[str, Any]:
    """What the header declares for exercise ``nn``'s made-up device, in Python."""
    if nn == "02":
        from ..drivers import mapped_refcount as ex02

        return {"trk_add_open_mmap": lambda dev: dev.add_open_mmap(),
                "trk_drop_open_mmap": lambda dev: dev.drop_open_mmap(),
                "trk_fault": ex02.trk_fault}
    if nn == "03":
        from ..drivers import private_data as ex03

        return {"ring_ctx_alloc": lambda dev: dev.ctx_alloc(),
                "ring_ctx_free": lambda dev, ctx: dev.ctx_free(ctx),
                "ring_fault": ex03.ring_fault}
    return {}


class CAnswer:
    """A C answer compiled once for each kernel configuration its exercise's devices run
    (:meth:`~mmaplab.drivers.base.Driver.kconfig`: mtdchar's ``!CONFIG_MMU`` case
    builds the other branch of ``#ifdef CONFIG_MMU``), as Kbuild would build it for each.

    A compile error in any configuration is a compile error of the answer.
    """

    def __init__(self, nn: str, source: str, filename: str = "answer.c") -> None:
        helpers = exercise_helpers(nn)
        self.programs = {cfg: compile_c(source, filename, helpers, cfg)
                         for cfg in exercise_configs(nn)}
        #: The program for the model's default kernel: what names and objects come from.
        self.prog = self.programs.get(DEFAULT_CONFIG) or next(iter(self.programs.values()))

    @classmethod
    def of(cls, prog: CProgram) -> CAnswer:
        """One program, for every device (a cell compiled for no exercise)."""
        self = cls.__new__(cls)
        self.programs = {prog.config: prog}
        self.prog = prog
        return self

    def for_device(self, dev: Any) -> CProgram:
        """The program built for ``dev``'s kernel configuration."""
        kconfig = getattr(dev, "kconfig", None)
        cfg = frozenset(kconfig()) if callable(kconfig) else DEFAULT_CONFIG
        prog = self.programs.get(cfg)
        if prog is None and len(self.programs) == 1:
            return self.prog
        if prog is None:
            raise CError(self.prog.prog.where(None), "no build of the C for the device's "
                         f"configuration {sorted(cfg)}")
        return prog


@functools.cache
def exercise_configs(nn: str) -> tuple[frozenset[str], ...]:
    """The kernel configurations exercise ``nn``'s devices run (the default first)."""
    ex = get(nn)
    ref = ex.extra.get("reference_args")
    found = [DEFAULT_CONFIG]
    if ref is not None:
        for case in ex.cases(*ref()):
            kconfig = getattr(case.reference(), "kconfig", None)
            cfg = frozenset(kconfig()) if callable(kconfig) else DEFAULT_CONFIG
            if cfg not in found:
                found.append(cfg)
    return tuple(found)


def c_callable(answer: CAnswer, name: str) -> Any:
    """``name`` as the check expects it: one callable that binds the C to ``self`` when
    the check passes the device first, and runs it unbound otherwise."""
    sym = answer.prog.prog.funcs[name]
    nparams = len(sym.type.params)

    def call(*args: Any) -> Any:
        if len(args) == nparams + 1:
            return answer.for_device(args[0]).bind(args[0]).function(name)(*args[1:])
        return answer.prog.bind().function(name)(*args)

    call.__name__ = call.__qualname__ = name
    return call


def answer_from_c(nn: str, answer: CAnswer) -> tuple[Any, ...]:
    """The answer values exercise ``nn`` checks, taken from the compiled C."""
    ex = get(nn)
    prog = answer.prog
    out = []
    for name in ex.answer_names:
        fn = prog.prog.funcs.get(name)
        if fn is not None and fn.body is not None:
            out.append(c_callable(answer, name))
        elif name in prog.prog.vars and not prog.prog.vars[name].extern:
            out.append(getattr(prog.bind().store, name))
        else:
            raise CError(prog.prog.where(None), f"exercise {nn} needs '{name}', which this C "
                         f"does not define (it defines: {', '.join(prog.functions) or 'none'})")
    return tuple(out)


def verify_c(nn: str, source: str, filename: str = "answer.c") -> tuple[int, Any, str | None]:
    """Compile and check a C answer: ``(requests run, ExerciseFailed or None, C error)``."""
    from . import verify

    try:
        answer = answer_from_c(nn, CAnswer(nn, source, filename))
    except CError as exc:
        named = compile_misconception(nn, exc)
        if named is not None:
            return 0, named, None
        return 0, None, str(exc)
    n, failure = verify(nn, *answer)
    return n, failure, None


def compile_misconception(nn: str, exc: CError) -> Any:
    """A compile error that breaks a rule of the contract (``CCompileError.rule``) which
    exactly one catalogued wrong answer of exercise ``nn`` breaks: that misconception,
    with the compiler's message as what shows it (a legacy VMA helper on a descriptor
    is exercise 01's ``legacy-helper-in-prepare``, whose Python twin fails as it runs)."""
    import importlib

    from ._verdict import _failure

    rule = getattr(exc, "rule", "")
    if not rule:
        return None
    ex = get(nn)
    spec = importlib.import_module(f"mmaplab.drivers.{ex.slug}").SPEC
    catalogued = _catalogued(nn)
    names = [m.name for m in spec.mutants if m.breaks == rule and m.name in catalogued]
    if len(names) != 1:
        return None
    return _failure(ex, names[0], f"The C does not compile.\n{exc}")


#: The diagnostic of a C run-time failure inside a rendered divergence.
_C_FAILURE = re.compile(r"\n  got: +(COops|CRuntimeError) \((?P<diag>.*?)\)\nMisconception", re.S)


def _crash(nn: str, text: str, misconception: str | None = None) -> str | None:
    """A C answer that oopsed or hit undefined behaviour: the C's own diagnostic first,
    with the request that triggered it (no misconception: the C is wrong as C)."""
    m = _C_FAILURE.search(text)
    if m is None:
        return None
    # The case and the request that failed (the lines before the first "Request N
    # differs"; requests before it, and the scenario's note, are left out).
    head = text.split("\nRequest ", 1)[0].splitlines()[1:]
    where = [line for line in head if line.startswith(("In case", "  ->"))]
    request = [w.split("  =>")[0] for w in where]
    out = [f"Exercise {nn} ({get(nn).slug}) is not solved yet: the C failed while it ran.",
           *request, m.group("diag")]
    # A crash that is the symptom of a catalogued wrong answer (a NULL private_data that
    # mapped() dereferences) also names that misconception, as for the Python answer.
    if misconception in _catalogued(nn):
        out.append(text[text.index("\nMisconception [") + 1:])
    return "\n".join(out)


def _catalogued(nn: str) -> set[str]:
    """The misconceptions of exercise ``nn``'s catalogued wrong answers."""
    catalogue = get(nn).extra.get("catalogue")
    return {name for name, _ in catalogue()} if catalogue is not None else set()


def _wrap(text: str, width: int = 100) -> str:
    out = []
    for line in text.split("\n"):
        if len(line) <= width:
            out.append(line)
            continue
        indent = " " * (len(line) - len(line.lstrip()))
        for part in textwrap.wrap(line.strip(), width, initial_indent=indent,
                                  subsequent_indent=indent + "    ", break_long_words=False):
            out.extend(_split_flags(part, width))
    return "\n".join(out)


def _split_flags(line: str, width: int) -> list[str]:
    """A line that is one long word, such as a VMA's ``READ|WRITE|...`` flags, broken
    after a ``|`` (never inside a name) so that it fits ``width``."""
    out = []
    indent = " " * (len(line) - len(line.lstrip()))
    while len(line) > width and "|" in line[len(indent):width]:
        cut = line.rindex("|", len(indent), width) + 1
        out.append(line[:cut])
        line = indent + line[cut:]
    return [*out, line]


def render_c_result(nn: str, n: int, failure: Any, error: str | None) -> str:
    """What the learner sees: the compiler's message, the check's diagnosis or the verdict
    (no line wider than 100 columns)."""
    if error is not None:
        return _wrap(f"Exercise {nn}: the C does not compile.\n{error}")
    if failure is not None:
        return _wrap(_crash(nn, str(failure), failure.misconception) or str(failure))
    return str(get(nn).verdict(n))


def check_c(nn: str, source: str, filename: str = "answer.c") -> bool:
    """Print the verdict on a C answer (the notebook's ``%%kernel_c NN``); True on a pass."""
    n, failure, error = verify_c(nn, source, filename)
    print(render_c_result(nn, n, failure, error))
    return failure is None and error is None


#: A function definition's first line, in kernel style (type and name at column 0).
_FUNC_START = re.compile(r"^(?:static\s+)?(?:inline\s+)?(?P<ret>[A-Za-z_][\w\s*]*?)\b\w+\(")


def c_stub(nn: str) -> str | None:
    """The C a learner starts from: the reference with every function body replaced by
    a TODO (declarations outside functions, such as a vm_operations_struct, are kept:
    they name the functions to write).  ``None`` for an exercise with no C reference."""
    if nn not in c_exercises():
        return None
    out: list[str] = []
    lines = c_sources(nn)["reference"].split("\n")
    head = f"/* Exercise {nn} in kernel C: write the hook as the kernel writes it. */"
    i = 0
    while i < len(lines):
        line = lines[i]
        m = _FUNC_START.match(line) if i == 0 or lines[i - 1].strip() != "{" else None
        if i == 0 and line.startswith("/*") and line.endswith("*/"):
            out.append(head)
        elif m is not None and "{" in lines[i + 1:i + 4] and not line.rstrip().endswith(";"):
            open_at = lines.index("{", i)
            close_at = lines.index("}", open_at)
            out.extend(lines[i:open_at + 1])
            out.append("\t/* TODO */")
            if m.group("ret").split()[-1] != "void":
                out.append("\treturn 0;")
            out.append("}")
            i = close_at
        else:
            out.append(line)
        i += 1
    return "\n".join(out)


def c_exercises() -> list[str]:
    """The exercises that have a C reference solution."""
    root = Path(__file__).with_name("c")
    return sorted(p.name[:2] for p in root.iterdir() if p.is_dir() and p.name[:2].isdigit())


def c_sources(nn: str) -> dict[str, str]:
    """``{"reference": C, <misconception id>: C, ...}`` for exercise ``nn``: the reference,
    and each wrong answer as its patch applied to the reference."""
    folder = _folder(nn)
    ref = folder.joinpath("reference.c").read_text()
    out = {"reference": ref}
    wrong = folder.joinpath("wrong")
    if wrong.is_dir():
        for p in sorted(wrong.iterdir(), key=lambda p: p.name):
            if p.name.endswith(".patch"):
                name = p.name[:-len(".patch")]
                out[name] = apply_patch(ref, p.read_text(), f"{folder.name}/wrong/{p.name}")
    return out


def _folder(nn: str) -> Any:
    root = Path(__file__).with_name("c")
    (folder,) = [p for p in root.iterdir() if p.is_dir() and p.name.startswith(nn + "_")]
    return folder


def legacy_c_source(nn: str) -> str | None:
    """Exercise ``nn``'s legacy hook in C (``c/NN_slug/legacy.c``), or ``None``."""
    path = _folder(nn).joinpath("legacy.c")
    return path.read_text() if path.is_file() else None


def _closed(knobs: dict[str, Any], close: Callable[[], Any]) -> None:
    """Apply the one knob the vmbus kits' cases set after construction."""
    state = knobs.pop("channel.state", None)
    if knobs:
        raise ValueError(f"no legacy install point for the knobs {sorted(knobs)}")
    if state == "closed":
        close()


def _vmbus_ring_legacy(ov: dict[str, Any], case: Any) -> Any:
    """Exercise 11: the wrapper is a method of the vmbus driver, not of the ring device
    (the model keeps its pre-series version as ``hv_mmap_ring_buffer_wrapper_legacy``)."""
    from ..drivers import hv_vmbus
    from ._driver_exercise import subclass_with

    methods = {f"{name}_legacy": fn for name, fn in ov.items()}
    ring = hv_vmbus.VmbusRing("legacy", vmbus=subclass_with(hv_vmbus.VmbusDrv, methods)(False))
    _closed(dict(case.knobs), lambda: ring.dev.close_channel(primary=True))
    return ring


def _hv_uio_legacy(ov: dict[str, Any], case: Any) -> Any:
    """Exercise 13: the hook is the ring callback the device gives its channel."""
    from ..drivers import uio_hv_generic

    dev = uio_hv_generic.HvUioDevice("legacy", ring_callback=ov.get("hv_uio_ring_mmap"))
    _closed(dict(case.knobs), dev.close_channel)
    return dev


def _uio_legacy(ov: dict[str, Any], case: Any) -> Any:
    """Exercise 12: ``uio_mmap`` is the uio core's (``UioCore.uio_mmap_legacy`` before the
    series), and each case's device registers with a core: uio_pdrv_genirq's, or tcmu's,
    whose legacy ``uio_info->mmap`` the C then calls through its function pointer."""
    from ..drivers import uio
    from ..drivers.target_core_user.mutants import tcmu_on
    from ._driver_exercise import subclass_with
    from .ex12_uio import TCMU_CASE

    cls = subclass_with(uio.UioCore, {"uio_mmap_legacy": ov["uio_mmap"]}) if ov else uio.UioCore
    if case.name == TCMU_CASE:
        return tcmu_on(cls(False), "legacy")
    return uio.UioPdrv("legacy", core=cls(False), **dict(case.knobs))


#: Exercises whose legacy hook is not a method of the exercise's device class (a method of
#: another object, a callback): the hooks' names and how to build the legacy device, on a
#: case's knobs, with those of them the C defines installed (none: the model's own).
_LEGACY_INSTALL: dict[str, tuple[tuple[str, ...], Callable[[dict[str, Any], Any], Any]]] = {
    "11": (("hv_mmap_ring_buffer_wrapper",), _vmbus_ring_legacy),
    "12": (("uio_mmap",), _uio_legacy),
    "13": (("hv_uio_ring_mmap",), _hv_uio_legacy),
}


def check_legacy_c(nn: str, source: str | None = None, filename: str = "legacy.c"
                   ) -> tuple[int, list[Any]]:
    """Run a legacy hook written in C against the driver model's legacy variant:
    ``(requests, reports)``, one :func:`mmaplab.lab.compare.compare` report per device
    configuration of the exercise (its cases' knobs), between the model's legacy driver
    and the same driver whose hooks are the C (each function the C defines that the
    driver class has replaces that method; for the kits of ``_LEGACY_INSTALL``, the
    hooks are installed where that kit's legacy driver takes them)."""
    import importlib

    from ..lab.compare import compare
    from ._driver_exercise import subclass_with

    ex = get(nn)
    src = source if source is not None else legacy_c_source(nn)
    if src is None:
        raise LookupError(f"exercise {nn} has no legacy hook in C")
    answer = CAnswer(nn, src, filename)
    (cls, *_) = ex.extra["devices"]()
    if nn in _LEGACY_INSTALL:
        hooks, build = _LEGACY_INSTALL[nn]
    else:
        hooks = tuple(n for n in answer.prog.functions if callable(getattr(cls, n, None)))

        def build(ov: dict[str, Any], case: Any) -> Any:
            knobs = dict(case.knobs)
            return subclass_with(cls, ov)("legacy", **knobs) if ov else cls("legacy", **knobs)
    names = [n for n in answer.prog.functions if n in hooks]
    if not names:
        raise CError(answer.prog.prog.where(None), "the C defines none of the legacy hooks "
                     f"({', '.join(hooks) or cls.__name__ + ' has none'})")
    in_c = {n: c_callable(answer, n) for n in names}
    spec = importlib.import_module(f"mmaplab.drivers.{ex.slug}").SPEC

    def legacy(ov: dict[str, Any], case: Any) -> Callable[[], Any]:
        return lambda: build(ov, case)

    n, reports = 0, []
    for dc in ex.extra["driver_cases"]():
        scenarios = tuple(dc.scenarios if dc.scenarios is not None else spec.scenarios)
        reports.append(compare((legacy({}, dc), legacy(in_c, dc)), scenarios,
                               labels=("the legacy model", "the legacy C"), name=dc.name))
        n += sum(len(s.ops) for s in scenarios)
    return n, reports
