"""Sphinx extension: resolve a docstring's short or re-exported Python name to its home.

mmaplab's docstrings name things the way a reader of the module sees them:
``:class:`HookError``` in a module that imports it, ``:class:`mmaplab.MM``` (the
package's re-export), ``:data:`MUTANTS``` of the kit beside it. Sphinx only resolves a
name where it is *documented*, and the API reference documents each object once, in
the module that defines it (book/_tools/make_api.py). So, for a Python reference Sphinx
could not resolve, this looks the name up the way Python would — in the referring
module, then in each enclosing package, then as written — and, if it finds the object,
links to the documented object that *is* it (same identity); module data that has no
doc comment of its own links to its module's section. A standard-library name
(``linecache``, ``collections.abc.Callable``) is left as plain text: its documentation
would need intersphinx, which needs the network, and the build is offline.

Nothing is guessed: a name that Python cannot find, or whose object the reference does
not document, stays a warning (and ``-W -n`` fails the build).
"""

from __future__ import annotations

import importlib
import sys
from typing import Any


_MISSING = object()


def _lookup(dotted: str) -> Any:
    """The object ``dotted`` names (a module, or attributes of one), or ``_MISSING``."""
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        except Exception:  # noqa: BLE001 - a module failing at import is not ours to report
            return _MISSING
        for attr in parts[i:]:
            obj = getattr(obj, attr, _MISSING)
            if obj is _MISSING:
                break
        else:
            return obj
    return _MISSING


def _candidates(target: str, module: str | None, cls: str | None) -> list[str]:
    out = []
    if module:
        parts = module.split(".")
        if cls:
            out.append(f"{module}.{cls}.{target}")
        out += [".".join(parts[:i]) + f".{target}" for i in range(len(parts), 0, -1)]
    out.append(target)
    return out


def _documented_as(env: Any, obj: Any) -> str | None:
    """The documented Python object that is ``obj``, by identity."""
    domain = env.get_domain("py")
    name = getattr(obj, "__qualname__", None)
    home = getattr(obj, "__module__", None)
    if name and home and f"{home}.{name}" in domain.objects:
        return f"{home}.{name}"
    if getattr(obj, "__name__", None) in domain.modules:  # a module
        return str(obj.__name__)
    if isinstance(obj, (int, float, str, bytes, bool)) or obj is None:
        return None  # interned values: identity would not say which object is meant
    for fullname in domain.objects:
        if _lookup(fullname) is obj:
            return str(fullname)
    return None


def _resolve(app: Any, env: Any, node: Any, contnode: Any) -> Any:
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "").lstrip("~.")
    if target.split(".", 1)[0] in sys.stdlib_module_names:
        return contnode  # plain text, no link: the standard library is not documented here
    domain = env.get_domain("py")
    for candidate in _candidates(target, node.get("py:module"), node.get("py:class")):
        obj = _lookup(candidate)
        if obj is _MISSING:
            continue
        home = _documented_as(env, obj)
        if home is not None:
            return domain.resolve_xref(env, node["refdoc"], app.builder, "obj", home, node,
                                       contnode)
        # Module data without a doc comment (a MUTANTS tuple, a SPEC): its module's section.
        module = candidate.rsplit(".", 1)[0]
        if not callable(obj) and module in domain.modules:
            return domain.resolve_xref(env, node["refdoc"], app.builder, "mod", module, node,
                                       contnode)
        return None
    return None


def setup(app: Any) -> dict[str, Any]:
    app.connect("missing-reference", _resolve)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}

