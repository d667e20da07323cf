"""A small C preprocessor for hooks: comments, ``#include`` of our header, ``#define``.

pycparser parses preprocessed C only.  This step removes comments, joins continued
lines, keeps ``#define``/``#undef`` (object-like and function-like, with ``#`` and
variadic ``__VA_ARGS__``), ``#ifdef``/``#ifndef``/``#if 0|1|NAME``/``#else``/``#endif``,
and resolves ``#include``: our header (``mmaplab.h``, or any ``<linux/...>`` or
``<asm/...>`` include, which it stands for) is read once; any other file is an error.
Every output line carries its origin, so diagnostics name the line the learner wrote.
It models the parts of the C preprocessor (C11 6.10) hooks use, nothing more.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import CCompileError, Where

__all__ = ["Macro", "preprocess", "strip_comments"]

_TOKEN = re.compile(r"""
    (?P<id>[A-Za-z_]\w*)
  | (?P<num>\.?\d(?:[eEpP][+-]|[\w.])*)
  | (?P<str>"(?:\\.|[^"\\\n])*")
  | (?P<chr>'(?:\\.|[^'\\\n])*')
  | (?P<ws>[ \t\r\f\v]+)
  | (?P<nl>\n)
  | (?P<op>\#\#|.)
""", re.VERBOSE)

_DIRECTIVE = re.compile(r"^\s*#\s*(\w+)?\s*(.*)$")


@dataclass
class Macro:
    name: str
    body: list[str]
    params: list[str] | None = None  # None: object-like
    variadic: bool = False


def strip_comments(text: str) -> str:
    """Comments become a space (newlines inside them kept, so lines do not move)."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            out.append(text[i:j + 1])
            i = j + 1
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(" " + "\n" * text.count("\n", i, j))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _tokens(text: str) -> list[str]:
    return [m.group() for m in _TOKEN.finditer(text)]


class _Expander:
    def __init__(self, macros: dict[str, Macro], where: Where) -> None:
        self.macros = macros
        self.where = where

    def expand(self, toks: list[str], hide: frozenset[str] = frozenset()) -> list[str]:
        out: list[str] = []
        i = 0
        while i < len(toks):
            t = toks[i]
            m = self.macros.get(t)
            if m is None or t in hide:
                out.append(t)
                i += 1
                continue
            if m.params is None:
                out.extend(self.expand(m.body, hide | {t}))
                i += 1
                continue
            j = i + 1
            while j < len(toks) and toks[j].isspace() and toks[j] != "\n" or (
                    j < len(toks) and toks[j] == "\n"):
                j += 1
            if j >= len(toks) or toks[j] != "(":
                out.append(t)
                i += 1
                continue
            args, end, newlines = self._args(toks, j)
            out.extend(self.expand(self._substitute(m, args), hide | {t}))
            out.extend(["\n"] * newlines)
            i = end
        return out

    def _args(self, toks: list[str], j: int) -> tuple[list[list[str]], int, int]:
        depth, newlines = 0, 0
        args: list[list[str]] = []
        cur: list[str] = []
        k = j
        while k < len(toks):
            t = toks[k]
            if t == "\n":
                newlines += 1
                t = " "
            if t == "(":
                depth += 1
                if depth == 1:
                    k += 1
                    continue
            elif t == ")":
                depth -= 1
                if depth == 0:
                    args.append(cur)
                    return args, k + 1, newlines
            elif t == "," and depth == 1:
                args.append(cur)
                cur = []
                k += 1
                continue
            cur.append(t)
            k += 1
        raise CCompileError(self.where, "unterminated argument list invoking a macro")

    def _substitute(self, m: Macro, args: list[list[str]]) -> list[str]:
        params = m.params or []
        if args == [[]] and not params:
            args = []
        if m.variadic:
            fixed = args[:len(params)]
            rest = args[len(params):]
            va: list[str] = []
            for n, a in enumerate(rest):
                va += ([","] if n else []) + a
            args = fixed + [va]
            params = params + ["__VA_ARGS__"]
        if len(args) != len(params):
            raise CCompileError(self.where, f"macro \"{m.name}\" requires {len(params)} "
                                f"arguments, but {len(args)} given")
        bind = {p: [t for t in a if True] for p, a in zip(params, args, strict=True)}
        out: list[str] = []
        body = m.body
        i = 0
        while i < len(body):
            t = body[i]
            if t == "#" and i + 1 < len(body) and body[i + 1] in bind:
                text = "".join(bind[body[i + 1]]).strip()
                out.append('"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"')
                i += 2
                continue
            if t == "," and body[i + 1:i + 3] == ["##", "__VA_ARGS__"]:
                if bind.get("__VA_ARGS__"):
                    out += [","] + self.expand(bind["__VA_ARGS__"])
                i += 3
                continue
            if t in bind:
                out.extend(self.expand(bind[t]))
            elif t != "##":
                out.append(t)
            i += 1
        return out


def _define(rest: str, where: Where) -> Macro:
    m = re.match(r"([A-Za-z_]\w*)(\(([^)]*)\))?\s*(.*)$", rest)
    if m is None:
        raise CCompileError(where, "macro names must be identifiers")
    name, params, body = m.group(1), m.group(3), m.group(4)
    if m.group(2) is None:
        return Macro(name, _tokens(body))
    ps = [p.strip() for p in params.split(",") if p.strip()]
    variadic = bool(ps) and ps[-1] == "..."
    if variadic:
        ps = ps[:-1]
    return Macro(name, _tokens(body), ps, variadic)


#: Includes that stand for our header: the kernel's own headers a hook includes.
_HEADER_INCLUDE = re.compile(r'^[<"](mmaplab\.h|linux/[\w/.-]+|asm/[\w/.-]+|uapi/[\w/.-]+)[>"]$')


def preprocess(source: str, filename: str, macros: dict[str, Macro] | None = None
               ) -> tuple[str, dict[str, Macro]]:
    """``source`` preprocessed with ``macros`` defined: the text for pycparser and the macros.

    The output starts with a ``# 1 "file"`` line marker, which pycparser turns into
    the coordinates of the original file.  (The header is preprocessed once, the same
    way, and its macros passed in.)
    """
    macros = dict(macros or {})
    out = [f'# 1 "{filename}"']
    _file(source, filename, macros, out)
    return "\n".join(out) + "\n", macros


def _file(text: str, name: str, macros: dict[str, Macro], out: list[str]) -> None:
    lines = strip_comments(text.replace("\\\n", " \x00")).split("\n")
    stack: list[bool] = []  # one entry per open #if: is this branch live?
    pending: list[str] = []
    pending_start = 0
    for no, raw in enumerate(lines, 1):
        joined = raw.count("\x00")
        line = raw.replace("\x00", "")
        where = Where(name, no)
        live = all(stack)
        d = _DIRECTIVE.match(line)
        if d is not None:
            _directive(d.group(1) or "", d.group(2).strip(), where, macros, stack, live)
            out.extend([""] * (1 + joined))
            continue
        if not live:
            out.extend([""] * (1 + joined))
            continue
        if not pending:
            pending_start = len(out)
        pending.append(line + "\n" * joined)
        out.extend([""] * (1 + joined))  # placeholders until expanded
        if _balanced("".join(pending)):
            _flush(pending, pending_start, out, macros, where)
            pending = []
    if pending:
        _flush(pending, pending_start, out, macros, Where(name, len(lines)))
    if stack:
        raise CCompileError(Where(name, len(lines)), "unterminated #if")


def _balanced(text: str) -> bool:
    """Macro calls may span lines: expand once the parentheses are balanced."""
    depth = 0
    for t in _tokens(text):
        depth += (t == "(") - (t == ")")
    return depth <= 0


def _flush(pending: list[str], start: int, out: list[str], macros: dict[str, Macro],
           where: Where) -> None:
    toks = _Expander(macros, where).expand(_tokens("\n".join(pending)))
    text = "".join(toks).split("\n")
    slots = sum(1 + p.count("\n") for p in pending)
    # Keep the number of lines: the expansion may only have moved line breaks.
    text = text + [""] * (slots - len(text)) if len(text) < slots else (
        text[:slots - 1] + [" ".join(text[slots - 1:])])
    del out[start:]
    out.extend(text)


def _directive(kind: str, rest: str, where: Where, macros: dict[str, Macro],
               stack: list[bool], live: bool) -> None:
    if kind in ("ifdef", "ifndef"):
        stack.append((rest.split()[0] in macros) == (kind == "ifdef") if rest else False)
    elif kind == "if":
        stack.append(_if_value(rest, macros, where))
    elif kind == "else":
        if not stack:
            raise CCompileError(where, "#else without #if")
        stack[-1] = not stack[-1]
    elif kind == "endif":
        if not stack:
            raise CCompileError(where, "#endif without #if")
        stack.pop()
    elif not live:
        return
    elif kind == "define":
        m = _define(rest, where)
        macros[m.name] = m
    elif kind == "undef":
        macros.pop(rest.split()[0] if rest else "", None)
    elif kind == "include":
        if not _HEADER_INCLUDE.match(rest):
            raise CCompileError(where, f"{rest}: only mmaplab.h (and the kernel headers "
                                "it stands for, <linux/...>) can be included here")
    elif kind in ("pragma", ""):
        return
    elif kind in ("error", "warning"):
        raise CCompileError(where, f"#{kind} {rest}")
    else:
        raise CCompileError(where, f"invalid preprocessing directive #{kind}")


def _if_value(rest: str, macros: dict[str, Macro], where: Where) -> bool:
    expr = rest.strip()
    m = re.fullmatch(r"!?\s*defined\s*\(?\s*(\w+)\s*\)?", expr)
    if m is not None:
        return (m.group(1) in macros) != expr.startswith("!")
    toks = [t for t in _Expander(macros, where).expand(_tokens(expr)) if not t.isspace()]
    text = "".join(toks).strip("()").rstrip("ULul")
    if re.fullmatch(r"\d+", text):
        return int(text) != 0
    if re.fullmatch(r"[A-Za-z_]\w*", text):
        return False  # an undefined name is 0 in #if
    raise CCompileError(where, f"#if {rest}: only #if 0, #if 1, #if NAME and #if defined(NAME) "
                        "are supported")
