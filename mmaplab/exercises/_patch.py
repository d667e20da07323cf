"""Apply a unified diff to a text: how the C wrong answers are stored (every line once).

A C wrong answer is the reference solution with a small change, so it is stored as the
change: ``c/NN_slug/wrong/<misconception>.patch``, a unified diff against
``reference.c`` (what ``diff -u`` or ``git diff`` writes, the form a kernel contributor
reads every day).  Anything before the first ``---`` line is the patch's description
and is ignored, as ``patch(1)`` and ``git apply`` ignore it.

The applier is strict, since a patch that no longer fits its reference means a wrong
answer that no longer says what it was written to say: every hunk must apply at the
line it names (no fuzz, no offset), with its context and removed lines exactly as in
the text, and the line counts in its ``@@`` header must match its body.  A misfit is a
:class:`PatchError` naming the patch, the hunk and the line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["PatchError", "Hunk", "parse_patch", "apply_patch"]

_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


class PatchError(ValueError):
    """A patch that is malformed or does not fit the text it is applied to."""


@dataclass(frozen=True)
class Hunk:
    """One ``@@`` block: where it starts in the old text and its ``' '/'-'/'+'`` lines."""

    old_start: int  # 1-based; 0 when the hunk inserts at the top of the file
    lines: tuple[tuple[str, str], ...]  # (kind, text) with kind in " -+"

    @property
    def old(self) -> list[str]:
        return [t for k, t in self.lines if k != "+"]

    @property
    def new(self) -> list[str]:
        return [t for k, t in self.lines if k != "-"]


def _count(n: str | None) -> int:
    return 1 if n is None else int(n)


def parse_patch(patch: str, name: str = "patch") -> list[Hunk]:
    """The hunks of a one-file unified diff (its description and headers skipped)."""
    lines = patch.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    i = 0
    while i < len(lines) and not lines[i].startswith("--- "):
        i += 1
    if i + 1 >= len(lines) or not lines[i + 1].startswith("+++ "):
        raise PatchError(f"{name}: no '--- a/...' and '+++ b/...' header")
    i += 2
    hunks: list[Hunk] = []
    while i < len(lines):
        m = _HUNK.match(lines[i])
        if m is None:
            raise PatchError(f"{name}:{i + 1}: expected a hunk header '@@ -l,n +l,n @@', "
                             f"found {lines[i]!r}")
        old_start, old_n, new_n = int(m.group(1)), _count(m.group(2)), _count(m.group(4))
        i += 1
        body: list[tuple[str, str]] = []
        while i < len(lines) and not lines[i].startswith("@@"):
            line = lines[i]
            if line.startswith("\\"):  # "\ No newline at end of file"
                i += 1
                continue
            kind = line[:1] or " "  # an empty context line may lose its space
            if kind not in " -+":
                raise PatchError(f"{name}:{i + 1}: a hunk line starts with ' ', '-' or '+', "
                                 f"found {line!r}")
            body.append((kind, line[1:]))
            i += 1
        hunk = Hunk(old_start, tuple(body))
        if (len(hunk.old), len(hunk.new)) != (old_n, new_n):
            raise PatchError(f"{name}: hunk {len(hunks) + 1} says -{old_n} +{new_n} lines "
                             f"but has -{len(hunk.old)} +{len(hunk.new)}")
        hunks.append(hunk)
    if not hunks:
        raise PatchError(f"{name}: no hunks")
    return hunks


def apply_patch(text: str, patch: str, name: str = "patch") -> str:
    """``text`` with ``patch`` applied; :class:`PatchError` if a hunk does not fit."""
    old = text.split("\n")
    out: list[str] = []
    pos = 0  # index into old of the next line not yet copied
    for n, hunk in enumerate(parse_patch(patch, name), 1):
        # A hunk that only adds lines names the line *after* which it inserts.
        start = hunk.old_start - 1 if hunk.old else hunk.old_start
        if start < pos:
            raise PatchError(f"{name}: hunk {n} overlaps the hunk before it")
        want = hunk.old
        got = old[start:start + len(want)]
        if got != want:
            bad = next((k for k, (g, w) in enumerate(zip(got, want, strict=False)) if g != w),
                       len(got))
            found = repr(got[bad]) if bad < len(got) else "the end of the text"
            raise PatchError(f"{name}: hunk {n} does not apply at line {start + bad + 1}: "
                             f"expected {want[bad]!r}, found {found}")
        out.extend(old[pos:start])
        out.extend(hunk.new)
        pos = start + len(want)
    out.extend(old[pos:])
    return "\n".join(out)
