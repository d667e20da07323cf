"""The book's hooks are executed C (issue #14): each case study shows the series'
``mmap_prepare`` hook through a cell that compiles and checks it, not as a block of
illustrative C, and that C passes its exercise; where the legacy ``->mmap`` hook is
written in C (``legacy.c``), the case study runs it in place of the legacy driver model's
hook; chapters 1, 3, 5 and 7's example hooks are C compiled in the cell that runs them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mmaplab.exercises.c_answer import c_sources, legacy_c_source
from mmaplab.widgets import c_hook_text, c_legacy_text

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


#: Case studies whose legacy hook ("Before") is C that runs against the legacy model.
LEGACY = {"hpet": "05", "open_dice": "06", "mtdchar": "07", "stm": "08", "afs": "09",
          "vme_user": "10", "hv_vmbus": "11", "uio": "12", "uio_hv_generic": "13",
          "target_core_user": "14"}


@pytest.mark.parametrize(("page", "nn"), LEGACY.items())
def test_the_case_studys_legacy_hook_is_c_that_runs(page: str, nn: str) -> None:
    text = (CASE_STUDIES / f"{page}.py").read_text(encoding="utf-8")
    assert f'print(c_legacy_text("{nn}"))' in text
    before = re.split(r"^# ## The \w+, before and after$", text, maxsplit=1, flags=re.M)[1]
    before = before.split("**After", 1)[0]
    assert not re.search(r"^# ```c$", before, re.M), "an illustrative C block before 'After'"


@pytest.mark.parametrize("nn", sorted(set(LEGACY.values())))
def test_the_shown_legacy_c_is_legacy_c_and_runs_like_the_legacy_model(nn: str) -> None:
    shown = c_legacy_text(nn)
    source = (legacy_c_source(nn) or "").rstrip("\n")
    assert source and shown.startswith(source.expandtabs(8))
    assert "struct vm_area_struct *vma" in source
    assert shown.rstrip().splitlines()[-1].startswith("✔ "), shown
    assert max(len(line) for line in shown.splitlines()) <= 100


def test_chapter_3s_hook_is_the_c_that_runs() -> None:
    text = (CASE_STUDIES.parent / "03_vm_area_desc.py").read_text(encoding="utf-8")
    assert not re.search(r"^# ```c$", text, re.M), "an illustrative C block in chapter 3"
    assert 'regs = device("regs", 3, regs_c.function("regs_mmap_prepare"))' in text


#: The chapters' example hooks: each is C compiled in a cell and installed as what runs.
CHAPTER_HOOKS = {
    "01_why_mmap_is_deprecated": ('mmap=demo_c.function("demo_mmap")',
                                  'mmap_prepare=demo2_c.function("demo_mmap_prepare")',
                                  'mmap=leaky_c.function("leaky_mmap")'),
    "05_vm_operations": ('method(prog, "afs_file_mmap_prepare")',
                         'compile_c(c_sources("09")["reference"], "reference.c")'),
    "07_compat_layer": ('wrapper_mmap = wrapper_c.function("wrapper_mmap")',
                        '("step 1: ->mmap + __compat_vma_mmap", {"mmap": bar_mmap})',
                        'bar_mmap, bar_mmap_prepare = bar_c.function("bar_mmap"), '
                        'bar_c.function("bar_mmap_prepare")'),
}


@pytest.mark.parametrize(("page", "wiring"), CHAPTER_HOOKS.items())
def test_a_chapters_hooks_are_the_c_that_runs(page: str, wiring: tuple[str, ...]) -> None:
    text = (CASE_STUDIES.parent / f"{page}.py").read_text(encoding="utf-8")
    assert not re.search(r"^# ```c$", text, re.M), f"an illustrative C block in {page}"
    for line in wiring:
        assert line in text, line
