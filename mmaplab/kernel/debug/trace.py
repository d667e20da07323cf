"""A record of the kernel-named steps an operation went through.

Not a kernel structure: it is how the book shows *when* each hook and helper
runs (the order is the lesson).  Recording is off by default so the model stays
fast; turn it on with ``mm.trace.enabled = True`` or ``with mm.trace.recording():``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from .report_text import wrap

__all__ = ["Step", "Trace"]


@dataclass(frozen=True, slots=True)
class Step:
    """One step: a kernel function or hook name, its nesting depth, and a detail."""

    depth: int
    name: str
    detail: str = ""

    def __str__(self) -> str:
        tail = f" {self.detail}" if self.detail else ""
        return f"{'  ' * self.depth}{self.name}{tail}"


class Trace:
    """Ordered steps; ``enter()`` nests, ``step()`` records a leaf."""

    def __init__(self, enabled: bool = False) -> None:
        self.enabled = enabled
        self.steps: list[Step] = []
        self.depth = 0
        #: Name of the innermost step, kept even when disabled (lockdep/KASAN use it).
        self.where = "user space"
        #: The ``where`` of each step entered and not yet left (innermost last).
        self._outer: list[str] = []

    def step(self, name: str, detail: str = "") -> None:
        """Record a leaf step (cheap no-op when disabled)."""
        if self.enabled:
            self.steps.append(Step(self.depth, name, detail))

    def enter(self, name: str, detail: str = "") -> Trace:
        """Record ``name`` and nest the steps taken inside the ``with`` block.

        ``with trace.enter(name):`` — the trace is its own context manager (a stack of
        the outer names), not a generator one: every operation enters a dozen steps,
        and this keeps a step cheap when nothing is recorded.
        """
        self._outer.append(self.where)
        self.where = name
        if self.enabled:
            self.steps.append(Step(self.depth, name, detail))
        self.depth += 1
        return self

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        self.depth -= 1
        self.where = self._outer.pop()

    @contextmanager
    def recording(self) -> Iterator[Trace]:
        """Enable recording for a block, starting from an empty trace."""
        was = self.enabled
        self.enabled = True
        self.clear()
        try:
            yield self
        finally:
            self.enabled = was

    def clear(self) -> None:
        self.steps.clear()
        self.depth = 0

    def names(self) -> list[str]:
        """Step names in order (what tests pin)."""
        return [s.name for s in self.steps]

    def render(self) -> str:
        """Indented text, one step per line (deterministic: safe for nbval)."""
        return wrap("\n".join(str(s) for s in self.steps))

    def __str__(self) -> str:
        return self.render()
