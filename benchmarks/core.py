"""The four benchmark figures of issue #6, each a plain function returning numbers.

1. :func:`kernel_ratio` — one-page anonymous mmap+munmap in the model vs the real kernel
   (libc through ctypes, same process), median of several runs.  Goal: ratio <= 15.
2. :func:`scaling` — per-op cost (mmap+munmap, mprotect, fault) at 100 vs 20,000 VMAs
   (alternating protections so nothing merges).  Goal: <= 2x.
3. :func:`exercise_check` — one ``mmaplab.exercises.check`` of the first exercise with its
   reference solution.
4. :func:`book_build` — ``jupyter-book build`` of a temporary copy, clean then cached.
   Goal: clean <= 90 s.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import ctypes.util
import io
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from mmaplab import (
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_PRIVATE,
    MM,
    PAGE_SIZE,
    PROT_READ,
    PROT_WRITE,
    VMFlag,
)
from mmaplab.progress import note, track

__all__ = ["GOALS", "kernel_ratio", "scaling", "exercise_check", "book_build", "main"]

GOALS = {"kernel_ratio": 15.0, "scaling": 2.0, "book_clean_s": 90.0}
ROOT = Path(__file__).resolve().parent.parent
ANON = MAP_PRIVATE | MAP_ANONYMOUS
RW = PROT_READ | PROT_WRITE
BASE = 0x10000000000


def _libc() -> Any:
    libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                          ctypes.c_int, ctypes.c_long]
    libc.munmap.restype = ctypes.c_int
    libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    return libc


def kernel_ratio(iterations: int = 20000, runs: int = 5) -> dict[str, float]:
    """ns per one-page anonymous mmap+munmap: model, kernel, and model/kernel (medians)."""
    libc = _libc()
    failed = ctypes.c_void_p(-1).value

    def kernel() -> float:
        mmap, munmap = libc.mmap, libc.munmap
        t = time.perf_counter_ns()
        for _ in range(iterations):
            a = mmap(None, PAGE_SIZE, RW, ANON, -1, 0)
            if a == failed:
                raise OSError(ctypes.get_errno(), "mmap failed")
            munmap(a, PAGE_SIZE)
        return (time.perf_counter_ns() - t) / iterations

    def model() -> float:
        mm = MM()
        mmap, munmap = mm.mmap, mm.munmap
        t = time.perf_counter_ns()
        for _ in range(iterations):
            munmap(mmap(None, PAGE_SIZE, RW, ANON), PAGE_SIZE)
        return (time.perf_counter_ns() - t) / iterations

    k = statistics.median(kernel() for _ in range(runs))
    m = statistics.median(model() for _ in range(runs))
    return {"model_ns": m, "kernel_ns": k, "ratio": m / k}


def build_space(n: int, packed: bool = False) -> MM:
    """``n`` one-page anonymous VMAs with alternating prot, each with one PTE.

    ``packed``: placed by ``mmap(NULL)`` (they pile up below mmap_base, where the next
    ``mmap(NULL)`` searches); else MAP_FIXED from ``BASE``.
    """
    mm = MM(max_map_count=max(65530, 2 * n + 16))
    for i in range(n):
        prot = PROT_READ if i % 2 else RW
        if packed:
            a = mm.mmap(None, PAGE_SIZE, prot, ANON)
        else:
            a = mm.mmap(BASE + i * PAGE_SIZE, PAGE_SIZE, prot, ANON | MAP_FIXED)
        mm.fault(a)
    return mm


def _per_op(mm: MM, n: int, iterations: int, runs: int) -> dict[str, float]:
    first = mm.vmas()[0].vm_start
    mid = mm.vmas()[n // 2].vm_start
    own = RW if VMFlag.WRITE in mm.vmas()[n // 2].vm_flags else PROT_READ
    other = PROT_READ if own == RW else RW
    out: dict[str, list[float]] = {"mmap+munmap": [], "mprotect": [], "fault": []}
    for _ in range(runs):
        t = time.perf_counter_ns()
        for _ in range(iterations):
            mm.munmap(mm.mmap(None, PAGE_SIZE, RW, ANON), PAGE_SIZE)
        out["mmap+munmap"].append((time.perf_counter_ns() - t) / iterations)
        # Toggling the middle VMA's prot merges it with both neighbours, then splits again.
        t = time.perf_counter_ns()
        for i in range(iterations):
            mm.mprotect(mid, PAGE_SIZE, other if i % 2 == 0 else own)
        out["mprotect"].append((time.perf_counter_ns() - t) / iterations)
        total = 0
        for i in range(iterations):
            addr = first + ((i * 7919) % n) * PAGE_SIZE
            mm.pagetable.zap(addr, addr + PAGE_SIZE)  # not timed: make the fault a real one
            t = time.perf_counter_ns()
            mm.fault(addr)
            total += time.perf_counter_ns() - t
        out["fault"].append(total / iterations)
    return {k: statistics.median(v) for k, v in out.items()}


def scaling(small: int = 100, large: int = 20000, iterations: int = 2000, runs: int = 3,
            packed: bool = False) -> dict[str, dict[str, float]]:
    """Per-op ns at ``small`` and ``large`` VMAs, and large/small ratios."""
    res = {}
    for n in (small, large):
        mm = build_space(n, packed)
        assert mm.map_count >= n
        res[n] = _per_op(mm, n, iterations, runs)
    return {op: {"small_ns": res[small][op], "large_ns": res[large][op],
                 "ratio": res[large][op] / res[small][op]} for op in res[small]}


def exercise_check() -> dict[str, Any]:
    """Time ``mmaplab.exercises.check`` of the first exercise with its reference solution."""
    try:
        from mmaplab import exercises
    except ImportError:
        return {"status": "no exercises yet"}
    if not getattr(exercises, "EXERCISES", None):
        return {"status": "no exercises yet"}
    nn, ex = next(iter(exercises.EXERCISES.items()))
    answer = ex.extra["reference_args"]()
    out = io.StringIO()
    times = []
    for _ in range(2):  # first run fills the reference cache; the second is a re-check
        t = time.perf_counter()
        with contextlib.redirect_stdout(out):
            exercises.check(nn, *answer)
        times.append(time.perf_counter() - t)
    return {"status": "ok", "exercise": f"{nn} ({ex.slug})", "first_s": times[0],
            "again_s": times[1], "verdict": out.getvalue().splitlines()[0]}


def book_build(timeout: float = 900.0) -> dict[str, Any]:
    """Clean and cached ``jupyter-book build`` of a temporary copy of the repository."""
    jb = Path(sys.executable).with_name("jupyter-book")
    if not jb.exists():
        found = shutil.which("jupyter-book")
        if found is None:
            return {"status": "jupyter-book not installed"}
        jb = Path(found)
    with tempfile.TemporaryDirectory(prefix="mmaplab-bench-") as tmp:
        dst = Path(tmp) / "book"
        shutil.copytree(ROOT, dst, ignore=shutil.ignore_patterns(
            ".venv", "_build", ".git", "__pycache__", ".pytest_cache", ".ruff_cache",
            ".hypothesis", "*.egg-info", ".ipynb_checkpoints"))
        env = dict(os.environ, PATH=f"{jb.parent}{os.pathsep}{os.environ.get('PATH', '')}")
        times = []
        for _ in range(2):
            t = time.perf_counter()
            proc = subprocess.run([str(jb), "build", str(dst), "-W", "-n", "--keep-going"],
                                  capture_output=True, text=True, timeout=timeout, env=env)
            times.append(time.perf_counter() - t)
            if proc.returncode:
                tail = (proc.stdout + proc.stderr).strip().splitlines()[-5:]
                return {"status": f"build failed (exit {proc.returncode})", "log": tail,
                        "clean_s": times[0]}
    return {"status": "ok", "clean_s": times[0], "cached_s": times[1]}


def _mark(ok: bool) -> str:
    return "ok" if ok else "GOAL MISSED"

#: The figures, in the order main() reports them (the progress labels).
STAGES = ("kernel ratio", "scaling", "exercise check", "book build")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small iteration counts")
    ap.add_argument("--no-book", action="store_true", help="skip the book build")
    args = ap.parse_args(argv)
    q = args.quick
    note("mmaplab benchmarks (medians; ns per operation)")
    # Progress on stderr (a bar on a terminal): the four figures take minutes together.
    stages = iter(track(STAGES, "make bench"))
    next(stages)

    r = kernel_ratio(2000 if q else 20000, 3 if q else 5)
    note(f"(1) 1-page anonymous mmap+munmap: model {r['model_ns']:,.0f} ns, kernel "
         f"{r['kernel_ns']:,.0f} ns -> ratio {r['ratio']:.1f} (goal <= "
         f"{GOALS['kernel_ratio']:.0f}: {_mark(r['ratio'] <= GOALS['kernel_ratio'])})")

    next(stages)
    large = 2000 if q else 20000
    s = scaling(100, large, 200 if q else 2000, 1 if q else 3)
    note(f"(2) per-op cost at 100 vs {large:,} VMAs (MAP_FIXED layout, one PTE per VMA):")
    for op, v in s.items():
        note(f"    {op:12} {v['small_ns']:>10,.0f} -> {v['large_ns']:>10,.0f} ns  "
             f"x{v['ratio']:.2f} ({_mark(v['ratio'] <= GOALS['scaling'])})")
    sp = scaling(100, large, 50 if q else 500, 1 if q else 3, packed=True)
    v = sp["mmap+munmap"]
    note(f"    mmap(NULL)+munmap with VMAs packed below mmap_base (the top-down gap search):"
         f"\n    {'':12} {v['small_ns']:>10,.0f} -> {v['large_ns']:>10,.0f} ns  "
         f"x{v['ratio']:.2f} ({_mark(v['ratio'] <= GOALS['scaling'])})")

    next(stages)
    e = exercise_check()
    if e["status"] != "ok":
        note(f"(3) exercise check: {e['status']}")
    else:
        note(f"(3) exercise check {e['exercise']}: {e['first_s']:.2f} s "
             f"(re-check {e['again_s']:.2f} s) — {e['verdict']}")

    next(stages)
    if args.no_book:
        note("(4) book build: skipped (--no-book)")
    else:
        b = book_build()
        if b["status"] != "ok":
            note(f"(4) book build: {b['status']}")
            for line in b.get("log", []):
                note(f"      {line}")
        else:
            note(f"(4) book build: clean {b['clean_s']:.1f} s, cached {b['cached_s']:.1f} s "
                 f"(goal clean <= {GOALS['book_clean_s']:.0f} s: "
                 f"{_mark(b['clean_s'] <= GOALS['book_clean_s'])})")
    for _ in stages:  # closes the progress report
        pass
    return 0
