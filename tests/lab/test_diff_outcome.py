"""``Difference.explain`` words an errno difference from the outcome's fields."""

from __future__ import annotations

from mmaplab.lab.diff import Difference
from mmaplab.lab.observe import OutcomeKind, outcome_kind_of, outcome_of


def _diff(a: tuple[OutcomeKind, str], b: tuple[OutcomeKind, str]) -> Difference:
    return Difference("errno", "s", 1, "mmap(...)", a[1], b[1], outcomes=(a, b))


def test_the_words_come_from_the_kind_not_from_how_the_text_starts():
    # a hook's report that happens to start like an errno or an address
    d = _diff((OutcomeKind.OTHER, "-EINVAL-looking report"), (OutcomeKind.OTHER, "0x1 x"))
    text = d.explain()
    assert "ended in -EINVAL-looking report" in text and "ended in 0x1 x" in text
    d = _diff((OutcomeKind.ERRNO, "-EPERM"), (OutcomeKind.MAPPED, "0x7f0000000000"))
    assert "failed with -EPERM" in d.explain() and "succeeded at 0x7f0000000000" in d.explain()
    d = _diff((OutcomeKind.OK, ""), (OutcomeKind.FAULTED, "pte 5 r"))
    assert "succeeded with" in d.explain() and "succeeded, pte 5 r with" in d.explain()


def test_outcome_text_and_fields_agree():
    from mmaplab.drivers.base import Op
    from mmaplab.kernel.errors import kerr

    for op_kind, ret, exc, kind in [
        ("mmap", 0x7F0000000000, None, OutcomeKind.MAPPED),
        ("munmap", None, None, OutcomeKind.OK),
        ("mmap", None, kerr(1, "no"), OutcomeKind.ERRNO),
        ("mmap", None, ValueError("x"), OutcomeKind.OTHER),
    ]:
        op = Op(op_kind)
        got_kind, detail = outcome_kind_of(op, ret, exc)
        assert got_kind is kind
        assert outcome_of(op, ret, exc) == ("ok" if kind is OutcomeKind.OK else detail)


def test_a_line_difference_names_its_line_with_one_colon():
    from mmaplab.lab.diff import _diff_lines

    lines = _diff_lines("ptes", ("page 3: pfn 0xfed01 rw",), ("page 3: pfn 0xfed00 rw",))
    assert "    page 3: missing 0xfed01; unexpected 0xfed00" in lines
    assert not any("::" in line for line in lines)
