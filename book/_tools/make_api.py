"""Write the API reference: one page per layer, one section per module of ``mmaplab``.

Regenerate with

    .venv/bin/python book/_tools/make_api.py

and commit ``book/reference/*.md``; ``tests/book/test_book_pages.py`` fails when the
committed pages differ from what this script writes, or when a public module has no
section in the built book.

The pages hold no docstring text: each section is an ``automodule`` directive, so
``sphinx.ext.autodoc`` renders the module's own docstring and the members it exports
(its ``__all__``) at build time. A package's ``__init__`` gets its docstring only:
its members are documented where they are defined, once.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import sys
from pathlib import Path
from typing import Any, NamedTuple

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "book" / "reference"


class Layer(NamedTuple):
    page: str  # file name under book/reference/, without .md
    title: str
    intro: str
    prefixes: tuple[str, ...]  # modules whose dotted name starts with one of these


#: The layers of ARCHITECTURE.md, lowest first; each module goes to the first that matches.
LAYERS = (
    Layer("api_kernel", "The model: `mmaplab.kernel`",
          "The kernel's memory-mapping path, one module per kernel concept (stdlib only). "
          "Each function names the kernel function and file it models.",
          ("mmaplab.kernel",)),
    Layer("api_debug", "Tracing, fault injection and the sanitizer: `mmaplab.kernel.debug`",
          "What the model calls at its event points: the trace, fault injection and the "
          "hook sanitizer.", ("mmaplab.kernel.debug",)),
    Layer("api_kernel_c", "The C front end: `mmaplab.kernel_c`",
          "Hooks written in kernel-style C, run against the model (the `[c]` extra).",
          ("mmaplab.kernel_c",)),
    Layer("api_drivers", "The driver models: `mmaplab.drivers`",
          "The ten drivers of the series, each a kit: the legacy and converted models, the "
          "harness spec (scenarios, intended differences, defects of the upstream "
          "conversion) and the realistic wrong conversions (mutants).",
          ("mmaplab.drivers",)),
    Layer("api_lab", "The harness: `mmaplab.lab`",
          "The lab engine the case studies, the mutant checks and the exercises share: one "
          "run, one observation record, one diff, the comparison reports and the diagnosis.",
          ("mmaplab.lab",)),
    Layer("api_exercises", "The exercises: `mmaplab.exercises`",
          "The exercise engine, the checks of each exercise and the learner's tools.",
          ("mmaplab.exercises",)),
    Layer("api_front", "Front ends: widgets, CLI, progress",
          "What sits on top of everything: the book's widgets and text views, the `mmaplab` "
          "command and its progress bar; the package itself.",
          ("mmaplab.widgets", "mmaplab.cli", "mmaplab.progress")),
)


def public_modules() -> list[str]:
    """Every importable public module of mmaplab, sorted (no ``_private`` part)."""
    import mmaplab

    names = ["mmaplab"]
    for info in pkgutil.walk_packages(mmaplab.__path__, "mmaplab."):
        parts = info.name.split(".")
        if any(p.startswith("_") for p in parts[1:]) or "sources" in parts[1:]:
            continue  # private, or an exercise's one source file (not a module)
        names.append(info.name)
    return sorted(names)


def _layer_of(module: str) -> Layer:
    if module == "mmaplab":
        return LAYERS[-1]
    if module.startswith("mmaplab.kernel.debug"):
        return LAYERS[1]
    if module == "mmaplab.kernel" or module.startswith("mmaplab.kernel."):
        return LAYERS[0]
    for layer in LAYERS[2:]:
        if any(module == p or module.startswith(p + ".") for p in layer.prefixes):
            return layer
    raise LookupError(f"{module}: no layer of the API reference takes it")


def _owned(package: str, obj: Any) -> bool:
    """Defined in ``package`` itself or in one of its private modules (``_core``...)."""
    home = getattr(obj, "__module__", "") or ""
    return home == package or home.startswith(package + "._")


def _section(module: str) -> str:
    """One module's section: its docstring and members, each documented once.

    A module gets every public member it defines (``:ignore-module-all:``: also what it
    leaves out of ``__all__``, because other docstrings link to it). A package gets only
    what it defines itself or in its private modules; what it re-exports from a public
    module is documented there. Module-level data is documented where it has a ``#:``
    comment; a link to other data lands on its module (book/_ext/reexports.py).
    """
    mod = importlib.import_module(module)
    exported = list(getattr(mod, "__all__", ()))
    lines = [f".. automodule:: {module}"]
    if hasattr(mod, "__path__"):
        own = [n for n in exported if (inspect.isclass(getattr(mod, n, None))
                                       or inspect.isfunction(getattr(mod, n, None)))
               and _owned(module, getattr(mod, n))]
        if own:
            lines.append(f"   :members: {', '.join(own)}")
    else:
        lines += ["   :members:", "   :undoc-members:", "   :ignore-module-all:"]
        # what it re-exports from a private module has no other public home
        for name in exported:
            obj = getattr(mod, name, None)
            if (inspect.isclass(obj) or inspect.isfunction(obj)) and any(
                    part.startswith("_") for part in obj.__module__.split(".")[1:]):
                kind = "autoclass" if inspect.isclass(obj) else "autofunction"
                lines += ["", f".. {kind}:: {module}.{name}"]
    body = "\n".join(lines)
    return f"## `{module}`\n\n```{{eval-rst}}\n{body}\n```\n"


def pages() -> dict[str, str]:
    """File name -> text of every reference page (the index ``api.md`` included)."""
    by_layer: dict[str, list[str]] = {layer.page: [] for layer in LAYERS}
    for module in public_modules():
        by_layer[_layer_of(module).page].append(module)
    out = {}
    for layer in LAYERS:
        body = "\n".join(_section(m) for m in by_layer[layer.page])
        out[f"{layer.page}.md"] = (f"# {layer.title}\n\n{layer.intro}\n\n"
                                   "<!-- Written by book/_tools/make_api.py: do not edit. -->\n\n"
                                   f"{body}")
    listing = "\n".join(
        f"* {{doc}}`{layer.title.split(':')[0]} <{layer.page}>`: "
        + ", ".join(f"`{m}`" for m in by_layer[layer.page]) for layer in LAYERS)
    out["api.md"] = ("# mmaplab API reference\n\n"
                     "Generated by `sphinx.ext.autodoc` from the package's docstrings, one "
                     "section per module, one page per layer (lowest first, as in "
                     "`ARCHITECTURE.md`). Each entry names the kernel function or structure "
                     "it models.\n\n"
                     "<!-- Written by book/_tools/make_api.py: do not edit. -->\n\n"
                     f"{listing}\n")
    return out


def main(argv: list[str]) -> int:
    REFERENCE.mkdir(parents=True, exist_ok=True)
    for name, text in pages().items():
        (REFERENCE / name).write_text(text, encoding="utf-8")
        print(f"book/reference/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
