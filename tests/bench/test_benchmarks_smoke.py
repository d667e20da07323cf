"""The benchmark functions run and return sane numbers (tiny counts; no timing goal is
asserted here — `python -m benchmarks` reports those, test_guard.py guards loosely)."""

from __future__ import annotations

import pytest

from benchmarks import core


@pytest.mark.parametrize("bench", [core.mmap_munmap, core.mprotect_split_merge,
                                   core.mmap_fault_munmap])
def test_side_by_side_runs(bench) -> None:
    r = bench(iterations=30, runs=1)
    assert r["model_ns"] > 0 and r["kernel_ns"] > 0
    assert r["ratio"] == pytest.approx(r["model_ns"] / r["kernel_ns"])


def test_scaling_runs() -> None:
    s = core.scaling(small=10, large=40, iterations=5, runs=1)
    assert set(s) == {"mmap+munmap", "mprotect", "fault"}
    for v in s.values():
        assert v["small_ns"] > 0 and v["large_ns"] > 0
        assert v["ratio"] == pytest.approx(v["large_ns"] / v["small_ns"])


def test_build_space_does_not_merge() -> None:
    mm = core.build_space(30)
    assert mm.map_count == 30 and len(mm.pagetable) == 30
    assert core.build_space(30, fault=False).pagetable.entries(0, 1 << 47) == {}


def test_exercise_check_runs() -> None:
    e = core.exercise_check()
    assert e["status"] in ("ok", "no exercises yet")
    if e["status"] == "ok":
        assert e["first_s"] > 0 and e["verdict"].startswith("✔")


@pytest.mark.slow  # the whole quick report (the functions above are the fast tier's)
def test_main_quick(capsys) -> None:
    assert core.main(["--quick"]) == 0
    out = capsys.readouterr().out
    for tag in ("(a) mmap+munmap", "(b) mprotect", "(c) mmap+write fault", "(d)", "(e)"):
        assert tag in out
    assert max(len(line) for line in out.splitlines()) <= 100
