"""Where the learner's code raised: the exception, its line and that line's source."""

from __future__ import annotations

import linecache
import traceback
from collections.abc import Iterator
from dataclasses import dataclass

from ..kernel.errors import HookError

__all__ = ["Crash", "find_crash", "null_dereference"]


@dataclass(frozen=True)
class Crash:
    """An exception raised in the learner's code: type, message, line and its source."""

    exc_type: str
    message: str
    lineno: int
    line: str
    #: ``True`` when the learner's own line raised it; ``False`` when it came from model
    #: code the learner called (the learner's line is then the call).
    own: bool

    @property
    def null_deref(self) -> bool:
        """An attribute of ``None`` was read: the C would dereference NULL (an oops)."""
        return self.exc_type == "AttributeError" and self.message.startswith("'NoneType'")

    def render(self, what: str = "your hook") -> str:
        detail = f": {self.message}" if self.message else ""
        return (f"{what} raised {self.exc_type}{detail}\n  at line {self.lineno} of the "
                f"answer cell: {self.line.strip()}")


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        yield cur
        cur = cur.__cause__ or cur.__context__


def find_crash(exc: BaseException, filename: str) -> Crash | None:
    """The deepest frame of ``filename`` (the answer cell) in ``exc`` or what caused it."""
    for e in reversed(list(_chain(exc))):
        frames = traceback.extract_tb(e.__traceback__)
        mine = [i for i, f in enumerate(frames) if f.filename == filename]
        if mine:
            f = frames[mine[-1]]
            line = f.line or linecache.getline(filename, f.lineno or 0)
            return Crash(type(e).__name__, str(e), f.lineno or 0, line,
                         mine[-1] == len(frames) - 1)
    return None




def null_dereference(exc: BaseException | None) -> bool:
    """``exc`` (or what caused it) is a NULL pointer dereference, in either language: a
    Python hook read an attribute of ``None``, or a C hook oopsed on a NULL pointer
    (``COops.null_deref``), or a driver model's code did
    (``HookError.kind == "null-deref"``).  The kernel event is the same."""
    if exc is None:
        return False
    for e in _chain(exc):
        if isinstance(e, AttributeError) and str(e).startswith("'NoneType'"):
            return True
        if getattr(e, "null_deref", False) is True:  # the C front end's oops
            return True
        if isinstance(e, HookError) and e.kind == "null-deref":  # a driver model's
            return True
    return False
