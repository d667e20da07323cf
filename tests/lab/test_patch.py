"""The unified-diff applier the C wrong answers are stored with (issue #9: every line once)."""

from __future__ import annotations

import difflib
from importlib import resources

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mmaplab.exercises._patch import PatchError, apply_patch, parse_patch
from mmaplab.exercises.c_answer import c_exercises

REF = "a\nb\nc\nd\ne\nf\ng\nh\n"


def _diff(old: str, new: str, n: int = 3) -> str:
    lines = difflib.unified_diff(old.split("\n"), new.split("\n"), "a/reference.c",
                                 "b/reference.c", lineterm="", n=n)
    return "\n".join(lines) + "\n"


def test_a_change_a_removal_and_an_insertion() -> None:
    new = "a\nB\nc\nd\nf\ng\nh\nextra\n"
    assert apply_patch(REF, _diff(REF, new)) == new


def test_the_description_before_the_header_is_ignored() -> None:
    patch = "Wrong: forgets b.\n\nSigned-off-by: nobody\n" + _diff(REF, REF.replace("b\n", ""))
    assert apply_patch(REF, patch) == REF.replace("b\n", "")


def test_an_insertion_at_the_top_and_with_no_context() -> None:
    new = "top\n" + REF
    assert apply_patch(REF, _diff(REF, new, n=0)) == new
    mid = REF.replace("d\n", "d\nmid\n")
    assert apply_patch(REF, _diff(REF, mid, n=0)) == mid


def test_a_patch_that_does_not_fit_names_the_hunk_and_line() -> None:
    patch = _diff(REF, REF.replace("e\n", "E\n"))
    with pytest.raises(PatchError, match=r"x.patch: hunk 1 does not apply at line 5: "
                                         r"expected 'e', found 'X'"):
        apply_patch(REF.replace("e\n", "X\n"), patch, "x.patch")


def test_a_patch_is_applied_where_it_says_not_elsewhere() -> None:
    text = "same\nx\nsame\ny\n"
    patch = "--- a/f\n+++ b/f\n@@ -3,1 +3,1 @@\n-same\n+SAME\n"
    assert apply_patch(text, patch) == "same\nx\nSAME\ny\n"
    with pytest.raises(PatchError, match="line 2"):
        apply_patch(text, "--- a/f\n+++ b/f\n@@ -2,1 +2,1 @@\n-same\n+SAME\n")


@pytest.mark.parametrize(("patch", "msg"), [
    ("@@ -1 +1 @@\n-a\n+b\n", "no '--- a/...' and '+++ b/...' header"),
    ("--- a/f\n+++ b/f\n", "no hunks"),
    ("--- a/f\n+++ b/f\n@@ -1,2 +1,1 @@\n-a\n+b\n", "says -2 +1 lines but has -1 +1"),
    ("--- a/f\n+++ b/f\n@@ -1 +1 @@\n*a\n", "starts with ' ', '-' or '+'"),
    ("--- a/f\n+++ b/f\nnot a hunk\n", "expected a hunk header"),
])
def test_malformed_patches_are_refused(patch: str, msg: str) -> None:
    with pytest.raises(PatchError, match=msg.replace("(", r"\(").replace("+", r"\+")):
        parse_patch(patch)


def test_overlapping_hunks_are_refused() -> None:
    patch = "--- a/f\n+++ b/f\n@@ -2,1 +2,1 @@\n-b\n+B\n@@ -1,2 +1,2 @@\n-a\n-b\n+a\n+b\n"
    with pytest.raises(PatchError, match="hunk 2 overlaps"):
        apply_patch(REF, patch)


_LINES = st.lists(st.sampled_from(["", "x", "y", "{", "}", "\treturn 0;"]), max_size=12)


# No deadline: a CI machine's first examples (imports, a cold cache) can pass 200 ms.
@settings(deadline=None)
@given(_LINES, _LINES, st.integers(0, 3))
def test_applying_a_diff_gives_the_new_text(old: list[str], new: list[str], n: int) -> None:
    a, b = "\n".join(old), "\n".join(new)
    if a == b:
        return
    assert apply_patch(a, _diff(a, b, n)) == b


def test_wrong_answers_are_patches_not_copies() -> None:
    """Each exercise's C folder holds one answer in C (the reference); the wrong answers
    are patches.  ``legacy.c`` is another program, the hook before the series."""
    root = resources.files("mmaplab.exercises").joinpath("c")
    for nn in c_exercises():
        (folder,) = [p for p in root.iterdir() if p.name.startswith(nn + "_")]
        assert sorted(p.name for p in folder.iterdir() if p.name.endswith(".c")
                      and p.name != "legacy.c") == ["reference.c"]
        assert not [p for p in folder.joinpath("wrong").iterdir() if p.name.endswith(".c")]
        patches = [p for p in folder.joinpath("wrong").iterdir() if p.name.endswith(".patch")]
        assert patches, folder.name
        for p in patches:
            ref = folder.joinpath("reference.c").read_text()
            assert apply_patch(ref, p.read_text(), p.name) != ref, p.name
