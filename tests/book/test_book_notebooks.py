"""The book's chapters: stored outputs reproduce (nbval), and notebooks match their sources.

Chapters are written in ``book/_src/*.py`` (jupytext percent format) and committed as
executed ``book/**/*.ipynb`` by ``book/_tools/make_notebooks.py``.  nbval re-runs every
notebook in this interpreter's environment (``--nbval-current-env``: the venv's ipykernel)
and compares each cell's outputs with the stored ones.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import jupytext
import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
BOOK = ROOT / "book"
SRC = BOOK / "_src"


def notebooks() -> list[Path]:
    return sorted(p for p in BOOK.rglob("*.ipynb")
                  if not any(part.startswith(("_", ".")) for part in p.relative_to(BOOK).parts))


def test_there_are_chapters():
    names = [p.stem for p in notebooks()]
    assert len(names) >= 7, f"expected at least chapters 1-7 as notebooks, found {names}"


@pytest.mark.parametrize("path", notebooks(), ids=lambda p: p.stem)
def test_notebook_is_executed_with_python3_kernel(path: Path):
    nb = nbformat.read(path, as_version=4)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, "a chapter without code cells backs no claim"
    unrun = [i for i, c in enumerate(code) if c.execution_count is None]
    assert not unrun, f"code cells {unrun} have no stored execution (nbval would skip them)"
    assert not [c for c in code for o in c.outputs if o.output_type == "error"]


@pytest.mark.parametrize("path", notebooks(), ids=lambda p: p.stem)
def test_notebook_matches_its_source(path: Path):
    src = SRC / path.relative_to(BOOK).with_suffix(".py")
    assert src.is_file(), f"{path.name} has no source {src.relative_to(ROOT)}"
    want = [(c.cell_type, c.source) for c in jupytext.read(src).cells]
    have = [(c.cell_type, c.source) for c in nbformat.read(path, as_version=4).cells]
    assert have == want, (f"{path.relative_to(ROOT)} is out of date: run "
                          f".venv/bin/python book/_tools/make_notebooks.py {path.stem}")


@pytest.mark.slow
@pytest.mark.kernel
def test_nbval_on_every_book_notebook():
    paths = [str(p) for p in notebooks()]
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval", "--nbval-current-env", "-p",
         "no:cacheprovider", "-q", "--rootdir", str(ROOT), *paths],
        cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, f"nbval failed\n{proc.stdout[-20000:]}\n{proc.stderr[-5000:]}"
    assert " passed" in proc.stdout and "skipped" not in proc.stdout.splitlines()[-1]


# -- the "Case studies" part ------------------------------------------------------------------

CASE_STUDIES = BOOK / "case_studies"


def _outputs(path: Path) -> str:
    nb = nbformat.read(path, as_version=4)
    return "\n".join(str(o.get("text", "")) for c in nb.cells if c.cell_type == "code"
                     for o in c.outputs)


def test_every_driver_of_the_series_has_a_case_study():
    import yaml

    from mmaplab.drivers import NAMES, load_spec

    toc = (ROOT / "_toc.yml").read_text(encoding="utf-8")
    listed = yaml.safe_load(toc)
    files = [s["file"] for part in listed["parts"] for ch in part["chapters"] if "file" in ch
             for s in [ch, *ch.get("sections", [])]]
    for name in NAMES:
        page = CASE_STUDIES / f"{name}.ipynb"
        assert page.is_file(), f"no case study for driver {name}"
        assert f"book/case_studies/{name}" in files, f"{name} is not in _toc.yml"
        out = _outputs(page)
        spec = load_spec(name)
        # The page cites the kernel files its model follows, runs the harness on the
        # spec (no undeclared difference) and shows one of the spec's mutants caught.
        assert all(f in out for f in spec.kernel_files), f"{name}: kernel files not cited"
        assert f"{spec.name}: the legacy driver vs the converted driver" in out
        assert "undeclared differences: none" in out, f"{name}: harness output missing/failing"
        assert any(f"mutant {m.name!r}" in out for m in spec.mutants), f"{name}: no mutant"
        assert "CAUGHT" in out and "NOT caught" not in out
        # A valid mapping shows page-table entries; a rejection shows an errno.
        assert "pte          [" in out and "-> -E" in out, f"{name}: mapping/rejection missing"


def test_diagrams_match_their_generator():
    sys.path.insert(0, str(BOOK / "_tools"))
    try:
        import make_diagrams
    finally:
        sys.path.pop(0)
    assert make_diagrams.DIAGRAMS, "no diagrams defined"
    for name, draw in make_diagrams.DIAGRAMS.items():
        committed = (BOOK / "images" / name).read_text(encoding="utf-8")
        assert committed == draw(), (f"book/images/{name} is stale: run .venv/bin/python "
                                     "book/_tools/make_diagrams.py")
        assert "0x" not in committed and committed.startswith("<svg")
