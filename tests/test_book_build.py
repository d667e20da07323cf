"""The book builds from clean, with every notebook executed, and its toc is complete.

The build runs on a copy of the book sources in a temporary directory, with
`execute_notebooks: force`, so no jupyter-cache entry or Sphinx environment from an
earlier build can hide a failure (jupyter-cache keys on cell source only, not on the
mmaplab code the cells import).
"""

from __future__ import annotations

import fnmatch
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
BOOK_DIR = ROOT / "book"
# What a build needs besides the installed mmaplab package.
BOOK_SOURCES = ("_config.yml", "_toc.yml", "book", "exercises")
NOTEBOOK_SUFFIXES = (".md", ".ipynb")
BUILD_TIMEOUT_S = 1800
SKIP_DIRS = {"_build", ".venv", ".git", "node_modules", ".ipynb_checkpoints"}


def _docname(path: str) -> str:
    """`book/intro.md` or `book/intro` -> `book/intro` (how _toc.yml names a page)."""
    path = path.strip().lstrip("/")
    for suffix in NOTEBOOK_SUFFIXES:
        if path.endswith(suffix):
            return path[: -len(suffix)]
    return path


def _source_docnames(root: Path) -> list[str]:
    """Every .md/.ipynb under `root` as a docname, skipping build and tool folders."""
    names = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS]
        for filename in filenames:
            if filename.endswith(NOTEBOOK_SUFFIXES):
                rel = (Path(dirpath) / filename).relative_to(root)
                names.append(_docname(rel.as_posix()))
    return names


def toc_docnames(toc_path: Path, root: Path) -> list[str]:
    """Docnames listed in a jb-book/jb-article `_toc.yml`, in order (globs expanded)."""
    toc = yaml.safe_load(toc_path.read_text(encoding="utf-8"))
    names = [_docname(toc["root"])]
    candidates = None

    def walk(node: object) -> None:
        nonlocal candidates
        if isinstance(node, list):
            for child in node:
                walk(child)
            return
        if not isinstance(node, dict):
            return
        if "file" in node:
            names.append(_docname(node["file"]))
        if "glob" in node:
            if candidates is None:
                candidates = sorted(_source_docnames(root))
            names.extend(c for c in candidates if fnmatch.fnmatch(c, _docname(node["glob"])))
        for key in ("parts", "chapters", "sections", "subtrees", "entries"):
            walk(node.get(key) or [])

    walk(toc)
    return names


def book_sources() -> list[str]:
    """Docnames of the pages under book/ (files under `_*`/`.*` folders are fragments)."""
    found = []
    for suffix in NOTEBOOK_SUFFIXES:
        for path in BOOK_DIR.rglob(f"*{suffix}"):
            rel = path.relative_to(BOOK_DIR)
            if any(part.startswith(("_", ".")) for part in rel.parts[:-1]):
                continue
            found.append(_docname(path.relative_to(ROOT).as_posix()))
    return sorted(found)


def _jupyter_book() -> str:
    exe = Path(sys.executable).parent / "jupyter-book"
    if exe.exists():
        return str(exe)
    found = shutil.which("jupyter-book")
    if found is None:
        pytest.fail("jupyter-book is not installed: run the tests through `make test`")
    return found


def test_toc_pages_exist():
    missing = [
        name
        for name in toc_docnames(ROOT / "_toc.yml", ROOT)
        if not any((ROOT / f"{name}{suffix}").is_file() for suffix in NOTEBOOK_SUFFIXES)
    ]
    assert not missing, f"_toc.yml lists pages with no .md/.ipynb source: {missing}"


def test_every_book_page_is_in_toc():
    listed = set(toc_docnames(ROOT / "_toc.yml", ROOT))
    orphans = [name for name in book_sources() if name not in listed]
    assert not orphans, (
        f"pages under book/ missing from _toc.yml (the build skips them): {orphans}; "
        "list them in _toc.yml, or move fragments into a book/_<name>/ folder"
    )


@pytest.mark.slow
@pytest.mark.kernel
def test_book_builds_from_clean_with_forced_execution(tmp_path):
    src = tmp_path / "book-src"
    src.mkdir()
    for name in BOOK_SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(
                path,
                src / name,
                ignore=shutil.ignore_patterns("_build", ".ipynb_checkpoints", "__pycache__"),
            )
        elif path.is_file():
            shutil.copy2(path, src / name)

    config_path = src / "_config.yml"
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    config.setdefault("execute", {})["execute_notebooks"] = "force"
    config_path.write_text(
        yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )

    proc = subprocess.run(
        [_jupyter_book(), "build", str(src), "-W", "-n", "--keep-going"],
        cwd=src,
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_S,
    )
    html = src / "_build" / "html"
    if proc.returncode != 0:
        reports = "".join(
            f"\n--- {log.name}\n{log.read_text(errors='replace')}"
            for log in sorted((html / "reports").glob("**/*.log"))
        )
        pytest.fail(
            f"jupyter-book build failed (exit {proc.returncode})\n"
            f"--- stdout\n{proc.stdout[-20000:]}\n--- stderr\n{proc.stderr[-20000:]}{reports}"
        )

    assert (html / "index.html").is_file()
    pages = toc_docnames(src / "_toc.yml", src)
    missing = [name for name in pages if not (html / f"{name}.html").is_file()]
    assert not missing, f"pages in _toc.yml that produced no HTML: {missing}"
