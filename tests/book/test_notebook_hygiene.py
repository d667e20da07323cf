"""The notebook-hygiene check (pre-commit hook) passes on the committed notebooks and
fails on each kind of non-reproducible output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "book" / "_tools" / "notebook_hygiene.py"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=ROOT, capture_output=True,
                          text=True, check=False)


def _notebook(tmp_path: Path, text: str, metadata: dict | None = None) -> Path:
    nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{
        "cell_type": "code", "id": "c1", "metadata": metadata or {}, "execution_count": 1,
        "source": "print()", "outputs": [{"output_type": "stream", "name": "stdout",
                                          "text": text}]}]}
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(nb))
    return path


def test_the_committed_notebooks_are_clean() -> None:
    res = _run()
    assert res.returncode == 0, res.stdout


@pytest.mark.parametrize(("text", "metadata", "finding"), [
    ("<mmaplab.kernel.mm.MM object at 0x7f3a2b1c0d10>\n", None, "object address"),
    ("CPU times: user 1 ms\n", None, "timing"),
    ("replayed 19097 ops in 0.52s\n", None, "timing"),
    ("x" * 101 + "\n", None, "101 columns"),
    ("ok\n", {"execution": {"iopub.execute_input": "2026-12-01T20:00:00Z"}}, "timestamps"),
])
def test_each_kind_of_unreproducible_output_is_found(tmp_path: Path, text: str,
                                                     metadata: dict | None,
                                                     finding: str) -> None:
    res = _run(str(_notebook(tmp_path, text, metadata)))
    assert res.returncode == 1
    assert finding in res.stdout


def test_model_addresses_and_widths_up_to_100_are_allowed(tmp_path: Path) -> None:
    text = "7ffff7ff0000-7ffff7ff1000 rw-p 00000000 00:00 0 at 0x7ffff7ff0000\n" + "y" * 100
    res = _run(str(_notebook(tmp_path, text)))
    assert res.returncode == 0, res.stdout
