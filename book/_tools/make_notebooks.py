"""Build the book's executed notebooks from their text sources.

Chapters are written as jupytext "percent" scripts under ``book/_src/`` (easy to
review and diff) and committed as executed ``.ipynb`` files under ``book/``
(what Jupyter Book renders, nbval checks and Binder opens).  This script
converts and executes them with the ``python3`` kernel of the running
interpreter, stores outputs and widget state, and refuses outputs that would
not be reproducible (memory addresses in default reprs).

    .venv/bin/python book/_tools/make_notebooks.py            # all
    .venv/bin/python book/_tools/make_notebooks.py 01_why     # names containing "01_why"
"""

from __future__ import annotations

import hashlib
import re
import sys
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient

BOOK = Path(__file__).resolve().parents[1]
SRC = BOOK / "_src"
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
UNSTABLE = re.compile(r" at 0x[0-9a-f]{6,}>|object at |<function [^>]*0x")


def build(src: Path) -> Path:
    out = BOOK / src.relative_to(SRC).with_suffix(".ipynb")
    nb = jupytext.read(src)
    nb.metadata["kernelspec"] = KERNELSPEC
    nb.metadata["language_info"] = {"name": "python"}
    nb.metadata.pop("jupytext", None)
    for i, cell in enumerate(nb.cells):
        cell.metadata.pop("lines_to_next_cell", None)
        # Stable cell ids (nbformat would draw random ones): re-rendering an unchanged
        # chapter leaves its file unchanged apart from widget model ids.
        cell.id = hashlib.sha1(f"{out.relative_to(BOOK)}:{i}".encode()).hexdigest()[:8]
    client = NotebookClient(nb, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(BOOK.parent)}},
                            store_widget_state=True)
    client.execute()
    for i, cell in enumerate(nb.cells):
        cell.metadata.pop("execution", None)  # timestamps of the run
        # Kernel start-up noise (e.g. ipykernel's transport warning) arrives on stderr at a
        # random cell; the chapters never write to stderr on purpose.
        if "outputs" in cell:
            cell.outputs = [o for o in cell.outputs
                            if not (o.get("output_type") == "stream" and o.get("name") == "stderr")]
        for output in cell.get("outputs", []):
            text = str(output.get("text", "")) + str(output.get("data", {}).get("text/plain", ""))
            if UNSTABLE.search(text):
                raise SystemExit(f"{src.name} cell {i}: unstable output: {text[:200]!r}")
            if output.get("output_type") == "error":
                raise SystemExit(f"{src.name} cell {i}: raised {output.get('ename')}")
    out.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out)
    return out


def main(argv: list[str]) -> int:
    sources = sorted(SRC.rglob("*.py"))
    if argv:
        sources = [s for s in sources if any(a in str(s) for a in argv)]
    for src in sources:
        print(f"{src.relative_to(BOOK)} -> {build(src).relative_to(BOOK.parent)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
