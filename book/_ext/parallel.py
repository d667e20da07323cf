"""Sphinx extension: read and write the book's pages in ``book_jobs`` processes.

Why: a clean build spends most of its wall time executing notebooks, one Jupyter kernel
after another, and Jupyter Book 1.x cannot ask for more: its CLI has no ``-j`` and calls
Sphinx with ``parallel=1`` (``jupyter_book.sphinx.build_sphinx``). Sphinx decides at the
read and the write phase from ``app.parallel``, so setting it once the configuration is
read is the same as ``sphinx-build -j N``. Sphinx then forks N readers; myst-nb executes
each notebook as its page is read, so N kernels run at a time.

Sphinx goes parallel only if every extension declares itself parallel-safe (and with
``-W`` one that declares nothing fails the build). All that the book loads do, ours
included, but two of Jupyter Book's: ``sphinx_jupyterbook_latex`` is off (``_config.yml``:
no PDF is built), and ``sphinx_multitoc_numbering``, which sphinx-external-toc always
loads, is declared safe here for the version that was read (:data:`READ_SAFE`). ``book_jobs`` (``auto``: one per processor) is read from ``_config.yml``; the environment
variable ``MMAPLAB_BOOK_JOBS`` overrides it (``1``: serial, as before).

With ``execute_notebooks: cache`` every reader opens jupyter-cache's sqlite database, and
the first to find it missing creates its tables: two readers at once fail the build with
"table settings already exists" (seen once). :func:`_create_cache_db` creates the database
in the main process, before Sphinx forks the readers.
"""

from __future__ import annotations

import os
from typing import Any


#: Extensions that declare nothing, read and found parallel-safe: (module, version) and why.
#: Another version is not declared, so the -W build fails until it has been read again.
READ_SAFE: dict[tuple[str, str], str] = {
    ("sphinx_multitoc_numbering", "0.1.3"):
        "it only replaces TocTreeCollector.assign_section_numbers, which Sphinx runs in the "
        "main process, on the environment merged from the readers",
}


def _declare_read_safe(app: Any) -> None:
    for (name, version), _why in READ_SAFE.items():
        ext = app.extensions.get(name)
        if ext is not None and getattr(ext.module, "__version__", None) == version:
            ext.parallel_read_safe = ext.parallel_write_safe = True


def _set_jobs(app: Any, config: Any) -> None:
    value = str(os.environ.get("MMAPLAB_BOOK_JOBS") or config.book_jobs)
    jobs = os.cpu_count() or 1 if value == "auto" else int(value)
    if jobs < 1:
        raise ValueError(f"book_jobs must be 'auto' or at least 1, not {value}")
    # Only ever raise it: `sphinx-build -j N` (app.parallel already N) is not undone.
    app.parallel = max(app.parallel, jobs)
    _declare_read_safe(app)


def _create_cache_db(app: Any) -> None:
    """Create jupyter-cache's database now, in the one process, if readers will share it."""
    config = getattr(app.env, "mystnb_config", None)
    if app.parallel <= 1 or config is None or config.execution_mode != "cache":
        return
    from jupyter_cache import get_cache

    engine = get_cache(config.execution_cache_path).db  # the property creates the tables
    engine.dispose()  # no connection is carried into the forked readers


def setup(app: Any) -> dict[str, Any]:
    app.add_config_value("book_jobs", "1", "", types=(str, int))
    app.connect("config-inited", _set_jobs)
    # After myst-nb's own builder-inited handler (priority 500) has set the cache path.
    app.connect("builder-inited", _create_cache_db, priority=900)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
