"""The book's converted hooks are executed C (issue #14): each case study shows the
series' ``mmap_prepare`` hook through a cell that compiles and checks it, not as a
block of illustrative C, and that C passes its exercise."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mmaplab.exercises.c_answer import c_sources
from mmaplab.widgets import c_hook_text

CASE_STUDIES = Path(__file__).resolve().parents[2] / "book" / "case_studies"
PAGES = {"hpet": "05", "open_dice": "06", "mtdchar": "07", "stm": "08", "afs": "09",
         "vme_user": "10", "hv_vmbus": "11", "uio": "12", "uio_hv_generic": "13",
         "target_core_user": "14"}


@pytest.mark.parametrize(("page", "nn"), PAGES.items())
def test_the_case_studys_converted_hook_is_c_that_runs(page: str, nn: str) -> None:
    text = (CASE_STUDIES / f"{page}.py").read_text(encoding="utf-8")
    assert f'print(c_hook_text("{nn}"))' in text
    after = text.split("**After", 1)[1]
    assert not re.search(r"^# ```c$", after, re.M), "an illustrative C block after 'After'"


@pytest.mark.parametrize("nn", sorted(set(PAGES.values())))
def test_the_shown_c_is_the_reference_and_it_passes(nn: str) -> None:
    shown = c_hook_text(nn)
    source = c_sources(nn)["reference"].rstrip("\n")
    assert shown.startswith(source.expandtabs(8))
    assert shown.rstrip().splitlines()[-1].startswith("✔ ")
    assert max(len(line) for line in shown.splitlines()) <= 100
