"""Progress on long work: a bar on a terminal, plain lines otherwise.

``track(items, "checking", total=14, label=...)`` yields the items and reports each one as
it starts, on standard error (so what a command prints on standard output stays clean
for pipes):

* standard error is a terminal and tqdm is installed (``pip install 'mmaplab[cli]'``): a
  tqdm bar, with the current item as its postfix;
* a terminal without tqdm: one line redrawn in place, ``checking [####----] 5/14 05 hpet``;
* anything else (a pipe, a CI log, ``NO_PROGRESS=1``): one plain line per item,
  ``checking 5/14: 05 hpet``, which a log keeps readable.

``note(text)`` prints a line without tearing the bar. Stdlib only; tqdm is imported only
when a bar is drawn.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TextIO, TypeVar

T = TypeVar("T")

#: Width of the fallback bar, in cells.
BAR_CELLS = 24
#: Carriage return, then erase the line (ANSI EL2): redraws the fallback bar in place.
CLEAR_LINE = "\r\x1b[2K"
_active: list[Any] = []       # tqdm bars being drawn
_bars: list[TextIO] = []      # streams a fallback bar is being drawn on


def mode(stream: TextIO | None = None) -> str:
    """``"tqdm"``, ``"bar"`` or ``"lines"``: how progress is shown on ``stream``."""
    stream = sys.stderr if stream is None else stream
    if os.environ.get("NO_PROGRESS") or not _isatty(stream) or _columns(stream) == 0:
        return "lines"
    try:
        import tqdm  # noqa: F401
    except ModuleNotFoundError:
        return "bar"
    return "tqdm"


def _columns(stream: TextIO) -> int | None:
    """The terminal's width; 0 for a pseudo-terminal nobody sized (a bar would be empty)."""
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError):  # not a real file: let isatty decide
        return None


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # closed or not a real file
        return False


def track(items: Iterable[T], what: str, *, total: int | None = None,
          label: Callable[[T], str] = str, stream: TextIO | None = None,
          force: str | None = None) -> Iterator[T]:
    """Yield ``items``, reporting ``what i/total: label(item)`` as each one starts.

    ``force`` picks the mode (tests); by default :func:`mode` decides.
    """
    stream = sys.stderr if stream is None else stream
    seq: Iterable[T]
    if total is None:
        seq = list(items)
        n = len(seq)
    else:
        seq, n = items, total
    how = force or mode(stream)
    if how == "tqdm":
        yield from _tqdm(seq, what, n, label, stream)
        return
    if how == "bar":
        _bars.append(stream)
    try:
        for i, item in enumerate(seq, 1):
            name = label(item)
            if how == "bar":
                done = BAR_CELLS * (i - 1) // max(n, 1)
                bar = "#" * done + "-" * (BAR_CELLS - done)
                _write(stream, f"{CLEAR_LINE}{what} [{bar}] {i}/{n} {name}")
            else:
                _write(stream, f"{what} {i}/{n}: {name}\n")
            yield item
    finally:
        if how == "bar":
            _bars.remove(stream)
            _write(stream, f"{CLEAR_LINE}{what}: {n}/{n} done\n")


def _tqdm(seq: Iterable[T], what: str, n: int, label: Callable[[T], str],
          stream: TextIO) -> Iterator[T]:
    from tqdm import tqdm

    with tqdm(total=n, desc=what, file=stream, unit="", leave=True,
              bar_format="{desc} {bar} {n_fmt}/{total_fmt} {postfix} [{elapsed}]") as bar:
        _active.append(bar)
        try:
            for item in seq:
                bar.set_postfix_str(label(item), refresh=True)
                yield item
                bar.update(1)
        finally:
            _active.remove(bar)


def note(text: str, stream: TextIO | None = None) -> None:
    """Print ``text`` (a line of results) on stdout, above a bar if one is drawn."""
    if _active:
        _active[-1].write(text, file=stream or sys.stdout)
        return
    if _bars:  # erase the bar's line; the next item redraws it below the text
        _write(_bars[-1], CLEAR_LINE)
    print(text, file=stream or sys.stdout, flush=True)


def _write(stream: TextIO, text: str) -> None:
    try:
        stream.write(text)
        stream.flush()
    except (BrokenPipeError, ValueError):  # a closed stderr must not fail the work
        pass
