"""The public surface (``from mmaplab import MM, ...``) is imported lazily, and whole.

``mmaplab/__init__.py`` resolves its names on first use (PEP 562): importing the package
loads no model module, and every name of ARCHITECTURE.md's public surface, of ``__all__``
and of ``from mmaplab import *`` is still the object of the module that defines it.
"""

from __future__ import annotations

import ast
import importlib
import json
import re
import subprocess
import sys
from pathlib import Path

import mmaplab

ROOT = Path(__file__).resolve().parents[2]


def _architecture_names() -> set[str]:
    """The names ARCHITECTURE.md's "Public surface" block takes from ``mmaplab``."""
    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    block = text.split("## Public surface", 1)[1].split("```python", 1)[1].split("```", 1)[0]
    imported = re.search(r"from mmaplab import (.*)", block)
    assert imported is not None
    names = {n.strip() for n in imported.group(1).split(",") if n.strip() not in ("", "...")}
    # the constants the examples pass (MADV_DONTNEED, MCL_CURRENT, MREMAP_MAYMOVE, ...)
    names |= set(re.findall(r"\b(?:MADV|MLOCK|MCL|MREMAP|PROT|MAP)_[A-Z_]+\b", block))
    return names


def test_every_name_of_the_documented_surface_is_importable() -> None:
    names = _architecture_names()
    assert {"MM", "RegularFile", "PAGE_SIZE", "MADV_DONTNEED", "MREMAP_MAYMOVE"} <= names
    assert names <= set(mmaplab.__all__), names - set(mmaplab.__all__)
    namespace: dict[str, object] = {}
    exec(f"from mmaplab import {', '.join(sorted(names))}", namespace)  # noqa: S102
    from mmaplab.kernel.mm import MM

    assert namespace["MM"] is MM


def test_star_import_gives_each_name_from_its_module() -> None:
    namespace: dict[str, object] = {}
    exec("from mmaplab import *", namespace)  # noqa: S102
    assert set(mmaplab.__all__) <= set(namespace)
    for module, names in mmaplab._EXPORTS.items():
        mod = importlib.import_module(module, "mmaplab")
        for name in names:
            assert namespace[name] is getattr(mod, name), name
    assert set(mmaplab.__all__) <= set(dir(mmaplab))


def test_an_unknown_name_is_an_attribute_error() -> None:
    try:
        mmaplab.NO_SUCH_NAME  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError as exc:
        assert "NO_SUCH_NAME" in str(exc)
    else:
        raise AssertionError("mmaplab.NO_SUCH_NAME did not raise")


def test_the_type_checking_imports_are_the_exports() -> None:
    """The one list is ``_EXPORTS``; the ``TYPE_CHECKING`` block repeats it for mypy."""
    tree = ast.parse((ROOT / "mmaplab" / "__init__.py").read_text(encoding="utf-8"))
    block = next(n for n in tree.body if isinstance(n, ast.If)
                 and isinstance(n.test, ast.Name) and n.test.id == "TYPE_CHECKING")
    seen = {"." * n.level + (n.module or ""): tuple(sorted(a.name for a in n.names))
            for n in block.body if isinstance(n, ast.ImportFrom)}
    assert seen == {m: tuple(sorted(ns)) for m, ns in mmaplab._EXPORTS.items()}


_PROBE = """
import json, sys
import mmaplab
before = sorted(m for m in sys.modules if m.startswith("mmaplab.kernel"))
from mmaplab import MM
print(json.dumps({"before": before, "mm": MM.__module__,
                  "after": "mmaplab.kernel.mm" in sys.modules}))
"""


def test_importing_the_package_loads_no_model_module() -> None:
    out = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    probe = json.loads(out)
    assert probe == {"before": [], "mm": "mmaplab.kernel.mm", "after": True}, probe
