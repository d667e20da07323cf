"""Diagnostics of the C front end, each naming the file and line of the C.

A C answer can be wrong in two ways.  The compiler would refuse or warn about it
(:class:`CCompileError`: an unknown identifier, a helper called with the wrong
arguments, a non-void function that can fall off its end, a legacy VMA helper on a
descriptor), or it goes wrong while it runs (:class:`COops`: a NULL or freed
pointer dereferenced, reported the way the kernel's oops names the faulting line;
:class:`CRuntimeError`: an uninitialised variable read, a loop that does not end).

All are :class:`~mmaplab.kernel.errors.KernelError`\\ s, so the model's hook caller
(``mmaplab.kernel.hooks.call_hook``) passes them through unchanged instead of
wrapping them in a Python traceback.
"""

from __future__ import annotations

import errno

from ..kernel.errors import KernelError

__all__ = ["CError", "CCompileError", "CRuntimeError", "COops", "Where"]


class Where:
    """A position in the C source: file name, line and the function it is in."""

    __slots__ = ("file", "line", "func")

    def __init__(self, file: str, line: int, func: str = "") -> None:
        self.file = file
        self.line = line
        self.func = func

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


class CError(KernelError):
    """A diagnostic at a C line; ``str()`` reads like the compiler's or the kernel's."""

    kind = "error"

    def __init__(self, where: Where, message: str, err: int = errno.EINVAL) -> None:
        self.where = where
        self.message = message
        super().__init__(err, self.render())

    def render(self) -> str:
        func = f"In function '{self.where.func}':\n" if self.where.func else ""
        return f"{func}{self.where}: {self.kind}: {self.message}"

    def __str__(self) -> str:
        return self.render()


class CCompileError(CError):
    """What the kernel build would reject (or warn about, with -Werror as the series builds).

    ``rule``: the rule of the mmap_prepare contract the C breaks, when the compiler can
    tell (an id of ``mmaplab.lab.diagnose.RULES``: a legacy VMA helper called on a
    descriptor is ``helper-in-prepare``), so an exercise can name its misconception.
    """

    rule = ""


class CRuntimeError(CError):
    """The C ran into behaviour C leaves undefined, or exceeded the check's budget."""

    kind = "runtime error"


class COops(CError):
    """A bad pointer dereference: the kernel oopses and names the faulting line."""

    kind = "oops"

    def __init__(self, where: Where, message: str) -> None:
        super().__init__(where, message, errno.EFAULT)

    @property
    def null_deref(self) -> bool:
        """A NULL pointer was dereferenced (not a freed one): the event a Python hook's
        ``AttributeError`` on ``None`` stands for, so the exercises' mutant matcher
        compares the two as one."""
        return self.message.startswith("kernel NULL pointer dereference")

    def render(self) -> str:
        func = self.where.func or "?"
        return (f"BUG: {self.message}\n"
                f"Oops: 0000 [#1] PREEMPT SMP\n"
                f"RIP: {func}() at {self.where}")
