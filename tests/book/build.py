"""A session-wide, from-clean build of the book, shared by the tests that need its HTML.

Import the fixture where it is needed (``from tests.book.build import built_book``). The build
copies the book sources to a temporary directory and forces execution of every notebook,
so no jupyter-cache entry or Sphinx environment from an earlier build can hide a failure.
Set ``MMAPLAB_BOOK_HTML=<dir>`` to reuse an HTML tree built by ``make book`` instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BOOK_SOURCES = ("_config.yml", "_toc.yml", "book", "exercises")
BUILD_TIMEOUT_S = 1800


def jupyter_book() -> str:
    exe = Path(sys.executable).parent / "jupyter-book"
    if exe.exists():
        return str(exe)
    found = shutil.which("jupyter-book")
    if found is None:
        pytest.fail("jupyter-book is not installed: run the tests through `make test`")
    return found


def build_book(dest: Path) -> tuple[subprocess.CompletedProcess[str], Path]:
    """Copy the sources into ``dest``, force execution, build; return (process, html dir)."""
    for name in BOOK_SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, dest / name, ignore=shutil.ignore_patterns(
                "_build", ".ipynb_checkpoints", "__pycache__"))
        elif path.is_file():
            shutil.copy2(path, dest / name)
    config_path = dest / "_config.yml"
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    config.setdefault("execute", {})["execute_notebooks"] = "force"
    config_path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False),
                           encoding="utf-8")
    # As `make book`: bytecode cached (each notebook's kernel imports mmaplab).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    proc = subprocess.run([jupyter_book(), "build", str(dest), "-W", "-n", "--keep-going"],
                          cwd=dest, env=env, capture_output=True, text=True,
                          timeout=BUILD_TIMEOUT_S)
    return proc, dest / "_build" / "html"


@pytest.fixture(scope="session")
def built_book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The HTML directory of a clean, forced-execution build (built once per session)."""
    reuse = os.environ.get("MMAPLAB_BOOK_HTML")
    if reuse:
        html = Path(reuse)
        if not (html / "index.html").is_file():
            pytest.fail(f"MMAPLAB_BOOK_HTML={reuse} has no index.html")
        return html
    proc, html = build_book(tmp_path_factory.mktemp("book-src"))
    if proc.returncode != 0:
        pytest.fail(f"jupyter-book build failed (exit {proc.returncode})\n"
                    f"--- stdout\n{proc.stdout[-20000:]}\n--- stderr\n{proc.stderr[-20000:]}")
    return html
