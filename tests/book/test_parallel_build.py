"""book/_ext/parallel.py: the book is read and written in ``book_jobs`` processes, and every
extension the book loads may run there (Sphinx would go serial, and -W fail, otherwise)."""
from __future__ import annotations

import importlib
import importlib.util
import os
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def _extension():
    spec = importlib.util.spec_from_file_location("parallel",
                                                  ROOT / "book" / "_ext" / "parallel.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _app(parallel: int, **extensions: str) -> SimpleNamespace:
    exts = {name: SimpleNamespace(module=SimpleNamespace(__version__=v), parallel_read_safe=None,
                                  parallel_write_safe=None) for name, v in extensions.items()}
    return SimpleNamespace(parallel=parallel, extensions=exts)


def test_book_jobs_sets_sphinx_parallel(monkeypatch: pytest.MonkeyPatch) -> None:
    ext = _extension()
    monkeypatch.delenv("MMAPLAB_BOOK_JOBS", raising=False)
    app = _app(1)
    ext._set_jobs(app, SimpleNamespace(book_jobs="auto"))
    assert app.parallel == (os.cpu_count() or 1)
    app = _app(1)
    monkeypatch.setenv("MMAPLAB_BOOK_JOBS", "1")
    ext._set_jobs(app, SimpleNamespace(book_jobs="auto"))
    assert app.parallel == 1
    app = _app(4)  # sphinx-build -j 4 is not lowered
    monkeypatch.setenv("MMAPLAB_BOOK_JOBS", "2")
    ext._set_jobs(app, SimpleNamespace(book_jobs="1"))
    assert app.parallel == 4
    monkeypatch.setenv("MMAPLAB_BOOK_JOBS", "0")
    with pytest.raises(ValueError, match="at least 1"):
        ext._set_jobs(_app(1), SimpleNamespace(book_jobs="1"))


def test_only_the_version_that_was_read_is_declared_safe(monkeypatch: pytest.MonkeyPatch) -> None:
    ext = _extension()
    monkeypatch.setenv("MMAPLAB_BOOK_JOBS", "2")
    ((name, version),) = ext.READ_SAFE
    app = _app(1, **{name: version})
    ext._set_jobs(app, SimpleNamespace(book_jobs="1"))
    assert app.extensions[name].parallel_read_safe is True
    newer = _app(1, **{name: version + ".1"})
    ext._set_jobs(newer, SimpleNamespace(book_jobs="1"))
    assert newer.extensions[name].parallel_read_safe is None


def test_the_declared_version_is_the_installed_one() -> None:
    ext = _extension()
    for name, version in ext.READ_SAFE:
        assert importlib.import_module(name).__version__ == version, (
            f"{name} changed: read it again before declaring it parallel-safe")


def test_the_config_asks_for_parallel_and_leaves_the_latex_extension_out() -> None:
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    assert config["sphinx"]["local_extensions"]["parallel"] == "book/_ext"
    assert config["sphinx"]["config"]["book_jobs"] == "auto"
    assert config["latex"]["use_jupyterbook_latex"] is False


def test_the_cache_database_exists_before_the_readers_fork(tmp_path: Path) -> None:
    """Two readers creating jupyter-cache's tables at once fail the build ("table settings
    already exists"): the main process creates them first, in cache mode only."""
    ext = _extension()
    path = tmp_path / "cache"

    def app(parallel: int, mode: str) -> SimpleNamespace:
        config = SimpleNamespace(execution_mode=mode, execution_cache_path=str(path))
        return SimpleNamespace(parallel=parallel, env=SimpleNamespace(mystnb_config=config))

    ext._create_cache_db(app(2, "force"))
    ext._create_cache_db(app(1, "cache"))
    assert not (path / "global.db").exists()
    ext._create_cache_db(app(2, "cache"))
    assert (path / "global.db").exists()
