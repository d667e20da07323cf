"""The book builds from clean, with every notebook executed, and its toc is complete.

The build runs on a copy of the book sources in a temporary directory, with
`execute_notebooks: force`, so no jupyter-cache entry or Sphinx environment from an
earlier build can hide a failure (jupyter-cache keys on cell source only, not on the
mmaplab code the cells import).
"""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BOOK_DIR = ROOT / "book"
# Chapters and case studies are py:percent text notebooks (nb_custom_formats in _config.yml).
NOTEBOOK_SUFFIXES = (".md", ".ipynb", ".py")
SKIP_DIRS = {"_build", ".venv", ".git", "node_modules", ".ipynb_checkpoints"}


def _docname(path: str) -> str:
    """`book/intro.md` or `book/intro` -> `book/intro` (how _toc.yml names a page)."""
    path = path.strip().lstrip("/")
    for suffix in NOTEBOOK_SUFFIXES:
        if path.endswith(suffix):
            return path[: -len(suffix)]
    return path


def _source_docnames(root: Path) -> list[str]:
    """Every page source under `root` as a docname, skipping build and tool folders."""
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
            pattern = _docname(node["glob"])
            # Sphinx's toc globs do not cross "/" (exercises/* is not exercises/solutions/x).
            names.extend(c for c in candidates
                         if fnmatch.fnmatch(c, pattern) and c.count("/") == pattern.count("/"))
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


def test_toc_pages_exist():
    missing = [
        name
        for name in toc_docnames(ROOT / "_toc.yml", ROOT)
        if not any((ROOT / f"{name}{suffix}").is_file() for suffix in NOTEBOOK_SUFFIXES)
    ]
    assert not missing, f"_toc.yml lists pages with no .md/.ipynb/.py source: {missing}"


def test_every_book_page_is_in_toc():
    listed = set(toc_docnames(ROOT / "_toc.yml", ROOT))
    orphans = [name for name in book_sources() if name not in listed]
    assert not orphans, (
        f"pages under book/ missing from _toc.yml (the build skips them): {orphans}; "
        "list them in _toc.yml, or move fragments into a book/_<name>/ folder"
    )


@pytest.mark.slow
@pytest.mark.kernel
def test_book_builds_from_clean_with_forced_execution(built_book: Path):
    """The session's clean, forced-execution build (tests.book.build.built_book) succeeded."""
    html = built_book
    assert (html / "index.html").is_file()
    pages = toc_docnames(ROOT / "_toc.yml", ROOT)
    missing = [name for name in pages if not (html / f"{name}.html").is_file()]
    assert not missing, f"pages in _toc.yml that produced no HTML: {missing}"
