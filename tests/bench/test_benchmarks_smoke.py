"""The benchmark functions run and return sane numbers (tiny iteration counts; no timing
goals are asserted here — `python -m benchmarks` reports those)."""

from __future__ import annotations

import pytest

from benchmarks import core


def test_kernel_ratio_runs() -> None:
    r = core.kernel_ratio(iterations=50, runs=1)
    assert r["model_ns"] > 0 and r["kernel_ns"] > 0
    assert r["ratio"] == pytest.approx(r["model_ns"] / r["kernel_ns"])


@pytest.mark.parametrize("packed", [False, True])
def test_scaling_runs(packed: bool) -> None:
    s = core.scaling(small=10, large=40, iterations=5, runs=1, packed=packed)
    assert set(s) == {"mmap+munmap", "mprotect", "fault"}
    for v in s.values():
        assert v["small_ns"] > 0 and v["large_ns"] > 0
        assert v["ratio"] == pytest.approx(v["large_ns"] / v["small_ns"])


def test_build_space_does_not_merge() -> None:
    for packed in (False, True):
        mm = core.build_space(30, packed)
        assert mm.map_count == 30 and len(mm.pagetable) == 30


def test_exercise_check_runs() -> None:
    e = core.exercise_check()
    assert e["status"] in ("ok", "no exercises yet")
    if e["status"] == "ok":
        assert e["first_s"] > 0 and e["verdict"].startswith("✔")


def test_main_quick_without_book(capsys) -> None:
    assert core.main(["--quick", "--no-book"]) == 0
    out = capsys.readouterr().out
    for tag in ("(1)", "(2)", "(3)", "(4) book build: skipped"):
        assert tag in out
