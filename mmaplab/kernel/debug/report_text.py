"""Report text for readers: every line at most :data:`WIDTH` columns.

The model's reports (the sanitizer's findings, the harness's differences and
explanations, the widgets' text twins) carry their explanation in long sentences. Printed
in a notebook or a book page, a line wider than the output box hides its end, and that is
where the "why" is. :func:`wrap` breaks each line at word boundaries and indents the
continuation under the line's own text, so the structure of an indented report survives.
Not a kernel structure: the kernel's own reports (lockdep, KASAN) go to a log of any width.
"""

from __future__ import annotations

import textwrap

__all__ = ["WIDTH", "print_wrapped", "wrap"]

#: The widest line a report may print (the book's output boxes show about 100 columns).
WIDTH = 100
#: Extra indentation of a continuation line, relative to the line it continues.
HANG = 4


def _wrap_line(line: str, width: int) -> list[str]:
    if len(line) <= width:
        return [line]
    body = line.lstrip(" ")
    lead = " " * (len(line) - len(body))
    return textwrap.wrap(body, width=width, initial_indent=lead,
                         subsequent_indent=lead + " " * HANG, break_on_hyphens=False) or [line]


def wrap(text: str, width: int = WIDTH) -> str:
    """``text`` with every line longer than ``width`` wrapped (hanging indent)."""
    return "\n".join(out for line in text.split("\n") for out in _wrap_line(line, width))


def print_wrapped(*values: object, sep: str = " ") -> None:
    """``print()``, with :func:`wrap` applied: for a notebook cell that prints an error
    message or a warning list, whose length it does not control."""
    print(wrap(sep.join(str(v) for v in values)))
