"""Kernel-doc habits of the model: each module says what it models, from which kernel
file, and which version it follows; merge and munmap helpers state their locking."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

KERNEL = Path(__file__).resolve().parents[2] / "mmaplab" / "kernel"
MODULES = sorted(p for p in KERNEL.rglob("*.py") if p.name != "__init__.py")
KERNEL_FILE = re.compile(r"\b(?:mm|include|fs|lib|kernel|arch|Documentation)/[\w/.-]+")
VERSION = re.compile(r"Linux \d+\.\d+|v4 series|\bv4\b")
NOT_KERNEL = "Not a kernel structure"


def _doc(path: Path) -> str:
    return ast.get_docstring(ast.parse(path.read_text())) or ""


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(KERNEL)))
def test_each_module_names_its_kernel_file_and_version(path: Path) -> None:
    doc = _doc(path)
    assert doc, f"{path.name} has no module docstring"
    if NOT_KERNEL in doc:
        return  # a tool of ours (trace, sanitizer, event points): says so instead
    assert KERNEL_FILE.search(doc), f"{path.name}: the docstring names no kernel file"
    assert VERSION.search(doc), f"{path.name}: the docstring names no kernel version"


LOCKED = {
    "vma.py": ["vma_merge_new_range", "vma_merge_existing_range", "commit_merge",
               "_drop_merged", "split_vma", "vms_gather_munmap_vmas", "do_vmi_munmap"],
}


@pytest.mark.parametrize(("module", "function"),
                         [(m, f) for m, fs in LOCKED.items() for f in fs])
def test_merge_and_unmap_helpers_state_their_locking(module: str, function: str) -> None:
    tree = ast.parse((KERNEL / module).read_text())
    fn = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == function)
    doc = ast.get_docstring(fn) or ""
    assert "lock" in doc and ("held" in doc or "holds" in doc), (
        f"{module}:{function} does not state the locks it assumes")


def test_vma_draws_the_merge_cases() -> None:
    doc = _doc(KERNEL / "vma.py")
    assert doc.count("|-------|") >= 4 and "commit_merge" in doc
