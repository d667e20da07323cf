"""The speed figures of issue #10, each a plain function returning numbers.

Side by side in one process, the model against the real system calls (libc through
ctypes), interleaved run by run, medians of the runs:

(a) :func:`mmap_munmap` — a one-page anonymous ``mmap`` then ``munmap``;
(b) :func:`mprotect_split_merge` — ``mprotect`` the middle page of a 3-page mapping
    read-only (a split into three VMAs), then back (a merge into one);
(c) :func:`mmap_fault_munmap` — ``mmap``, a write to the page (a write fault), ``munmap``.

Times are the thread's CPU time (user + system: the kernel's work in a system call
counts), not wall time.  Goal: model/kernel at most 8 for each.  Then the model alone:

(d) :func:`scaling` — per-operation cost with 65,530 VMAs (``vm.max_map_count``)
    against 100 VMAs: mmap(NULL)+munmap, an mprotect merge/split, a fault.  Goal <= 1.5.
(e) :func:`bytes_per_vma` — memory per VMA (``tracemalloc`` over building N).  Goal
    <= 1 KiB.

Optional (``--exercise``, ``--book``): one exercise check; a clean and a cached book build.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import ctypes.util
import gc
import io
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
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
from mmaplab.progress import note

__all__ = ["GOALS", "mmap_munmap", "mprotect_split_merge", "mmap_fault_munmap", "scaling",
           "bytes_per_vma", "build_space", "exercise_check", "book_build", "main"]

#: The targets of issue #10 (ratios, and bytes).
GOALS = {"kernel_ratio": 8.0, "scaling": 1.5, "bytes_per_vma": 1024.0}
ROOT = Path(__file__).resolve().parent.parent
ANON = MAP_PRIVATE | MAP_ANONYMOUS
RW = PROT_READ | PROT_WRITE
#: Where MAP_FIXED layouts start (far from anything the process maps for itself).
BASE = 0x10000000000

#: The clock of every timing: this thread's CPU time (user + system), so the time the
#: thread spends descheduled on a loaded machine is not counted, on either side.
_clock = time.thread_time_ns

#: A batch: runs ``iterations`` operations, returns ns per operation.
Batch = Callable[[int], float]


class _Libc:
    """``mmap``/``munmap``/``mprotect`` of the C library, each failure an ``OSError``."""

    def __init__(self) -> None:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        libc.mmap.restype = ctypes.c_void_p
        libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                              ctypes.c_int, ctypes.c_long]
        libc.munmap.restype = ctypes.c_int
        libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
        libc.mprotect.restype = ctypes.c_int
        libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        self.mmap, self.munmap, self.mprotect = libc.mmap, libc.munmap, libc.mprotect
        self.failed = ctypes.c_void_p(-1).value

    def check(self, ok: bool, what: str) -> None:
        if not ok:
            err = ctypes.get_errno()
            raise OSError(err, f"{what}: {os.strerror(err)}")


def _side_by_side(kernel: Batch, model: Batch, iterations: int, runs: int
                  ) -> dict[str, float]:
    """Alternate kernel and model batches ``runs`` times; the medians and their ratio."""
    kernel(max(iterations // 10, 1))  # warm up both (ctypes prototypes, caches)
    model(max(iterations // 10, 1))
    ks, ms = [], []
    for _ in range(runs):
        ks.append(kernel(iterations))
        ms.append(model(iterations))
    k, m = statistics.median(ks), statistics.median(ms)
    return {"model_ns": m, "kernel_ns": k, "ratio": m / k}


def mmap_munmap(iterations: int = 5000, runs: int = 9) -> dict[str, float]:
    """(a) ns per one-page anonymous mmap+munmap: model, kernel, model/kernel."""
    libc = _Libc()
    mm = MM()

    def kernel(n: int) -> float:
        mmap, munmap, failed = libc.mmap, libc.munmap, libc.failed
        t = _clock()
        for _ in range(n):
            a = mmap(None, PAGE_SIZE, RW, ANON, -1, 0)
            libc.check(a != failed, "mmap")
            munmap(a, PAGE_SIZE)
        return (_clock() - t) / n

    def model(n: int) -> float:
        mmap, munmap = mm.mmap, mm.munmap
        t = _clock()
        for _ in range(n):
            munmap(mmap(None, PAGE_SIZE, RW, ANON), PAGE_SIZE)
        return (_clock() - t) / n

    return _side_by_side(kernel, model, iterations, runs)


def mprotect_split_merge(iterations: int = 5000, runs: int = 9) -> dict[str, float]:
    """(b) ns per split+merge pair: mprotect the middle of 3 pages read-only, then back."""
    libc = _Libc()
    mm = MM()
    k_base = libc.mmap(None, 3 * PAGE_SIZE, RW, ANON, -1, 0)
    libc.check(k_base != libc.failed, "mmap")
    m_base = mm.mmap(None, 3 * PAGE_SIZE, RW, ANON)

    def kernel(n: int) -> float:
        mprotect, mid = libc.mprotect, k_base + PAGE_SIZE
        t = _clock()
        for _ in range(n):
            libc.check(mprotect(mid, PAGE_SIZE, PROT_READ) == 0, "mprotect")
            mprotect(mid, PAGE_SIZE, RW)
        return (_clock() - t) / n

    def model(n: int) -> float:
        mprotect, mid = mm.mprotect, m_base + PAGE_SIZE
        t = _clock()
        for _ in range(n):
            mprotect(mid, PAGE_SIZE, PROT_READ)
            mprotect(mid, PAGE_SIZE, RW)
        return (_clock() - t) / n

    try:
        out = _side_by_side(kernel, model, iterations, runs)
    finally:
        libc.munmap(k_base, 3 * PAGE_SIZE)
    if mm.map_count != 1:  # the merge really happened each time
        raise AssertionError(f"model left {mm.map_count} VMAs after split+merge")
    return out


def mmap_fault_munmap(iterations: int = 3000, runs: int = 9) -> dict[str, float]:
    """(c) ns per mmap + write fault (a write to the page) + munmap."""
    libc = _Libc()
    mm = MM()

    def kernel(n: int) -> float:
        mmap, munmap, failed = libc.mmap, libc.munmap, libc.failed
        byte = ctypes.c_char
        t = _clock()
        for _ in range(n):
            a = mmap(None, PAGE_SIZE, RW, ANON, -1, 0)
            libc.check(a != failed, "mmap")
            byte.from_address(a).value = b"x"  # the first write: a page fault
            munmap(a, PAGE_SIZE)
        return (_clock() - t) / n

    def model(n: int) -> float:
        mmap, fault, munmap = mm.mmap, mm.fault, mm.munmap
        t = _clock()
        for _ in range(n):
            a = mmap(None, PAGE_SIZE, RW, ANON)
            fault(a, write=True)
            munmap(a, PAGE_SIZE)
        return (_clock() - t) / n

    return _side_by_side(kernel, model, iterations, runs)


def build_space(n: int, fault: bool = True) -> MM:
    """``n`` one-page anonymous VMAs from ``BASE`` up, alternating rw/r (nothing merges),
    each with one PTE when ``fault``."""
    mm = MM(max_map_count=max(65530, 2 * n + 16))
    for i in range(n):
        a = mm.mmap(BASE + i * PAGE_SIZE, PAGE_SIZE, PROT_READ if i % 2 else RW,
                    ANON | MAP_FIXED)
        if fault:
            mm.fault(a)
    return mm


def _per_op(mm: MM, n: int, iterations: int) -> dict[str, float]:
    """ns per op on ``mm`` (``n`` VMAs): mmap(NULL)+munmap, mprotect, fault."""
    vmas = mm.vmas()
    first, mid = vmas[0].vm_start, vmas[n // 2]
    own = RW if VMFlag.WRITE in mid.vm_flags else PROT_READ
    other = PROT_READ if own == RW else RW
    out = {}
    t = _clock()
    for _ in range(iterations):
        mm.munmap(mm.mmap(None, PAGE_SIZE, RW, ANON), PAGE_SIZE)
    out["mmap+munmap"] = (_clock() - t) / iterations
    # The middle VMA takes its neighbours' prot (a merge of three), then its own (a split).
    addr = mid.vm_start
    pairs = max(iterations // 2, 1)
    t = _clock()
    for _ in range(pairs):
        mm.mprotect(addr, PAGE_SIZE, other)
        mm.mprotect(addr, PAGE_SIZE, own)
    out["mprotect"] = (_clock() - t) / (2 * pairs)
    # Faults on pages spread over the space, in chunks: zap a chunk's PTEs (not timed, so
    # each fault is a real one), then fault the chunk in (timed).
    chunk = max(min(n // 2, 50), 1)
    total = done = 0
    while done < iterations:
        addrs = [first + (((done + j) * 7919) % n) * PAGE_SIZE for j in range(chunk)]
        for a in addrs:
            mm.pagetable.zap(a, a + PAGE_SIZE)
        fault = mm.fault
        t = _clock()
        for a in addrs:
            fault(a)
        total += _clock() - t
        done += chunk
    iterations = done
    out["fault"] = total / iterations
    return out


def scaling(small: int = 100, large: int = 65530, iterations: int = 2000, runs: int = 5
            ) -> dict[str, dict[str, float]]:
    """(d) per-op ns with ``small`` and with ``large`` VMAs (interleaved), large/small."""
    spaces = {small: build_space(small), large: build_space(large)}
    samples: dict[int, dict[str, list[float]]] = {small: {}, large: {}}
    for _ in range(runs):
        for n, mm in spaces.items():
            for op, ns in _per_op(mm, n, iterations).items():
                samples[n].setdefault(op, []).append(ns)
    for n, mm in spaces.items():
        if mm.map_count != n:
            raise AssertionError(f"{mm.map_count} VMAs after the runs, expected {n}")
    res = {n: {op: statistics.median(v) for op, v in s.items()} for n, s in samples.items()}
    return {op: {"small_ns": res[small][op], "large_ns": res[large][op],
                 "ratio": res[large][op] / res[small][op]} for op in res[small]}


def bytes_per_vma(n: int = 10000) -> dict[str, float]:
    """(e) bytes allocated per VMA (``tracemalloc``), and with one PTE each."""
    out = {}
    for key, fault in (("vma", False), ("vma+pte", True)):
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            mm = build_space(n, fault=fault)
            gc.collect()
            after = tracemalloc.get_traced_memory()[0]
        finally:
            tracemalloc.stop()
        if mm.map_count != n:
            raise AssertionError(f"built {mm.map_count} VMAs, expected {n}")
        out[key] = (after - before) / n
        del mm
    return out


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
    return "ok" if ok else "MISSED"


def _row(label: str, model: str, kernel: str, ratio: float, goal: float, unit: str = "x"
         ) -> str:
    shown = f"{ratio:,.0f} B" if unit == "B" else f"{ratio:.2f}x"
    goal_s = f"<= {goal:,.0f} B" if unit == "B" else f"<= {goal:g}x"
    return (f"{label:<27} {model:>12} {kernel:>12} {shown:>9}  {goal_s:>9} "
            f"{_mark(ratio <= goal)}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small counts (a smoke run)")
    ap.add_argument("--exercise", action="store_true", help="also time an exercise check")
    ap.add_argument("--book", action="store_true", help="also time the book build (minutes)")
    args = ap.parse_args(argv)
    q = args.quick
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    note(f"mmaplab benchmarks: Python {platform.python_version()}, {os.cpu_count()} CPUs, "
         f"load {load:.2f}; medians, ns per operation")
    note(f"{'':27} {'model':>12} {'kernel':>12} {'ratio':>9}  {'goal':>9}")
    iters, runs = (300, 3) if q else (5000, 9)
    side = (("(a) mmap+munmap", mmap_munmap(iters, runs)),
            ("(b) mprotect split+merge", mprotect_split_merge(iters, runs)),
            ("(c) mmap+write fault+munmap", mmap_fault_munmap(max(iters * 3 // 5, 1), runs)))
    for label, r in side:
        note(_row(label, f"{r['model_ns']:,.0f}", f"{r['kernel_ns']:,.0f}", r["ratio"],
                  GOALS["kernel_ratio"]))
    small, large = 100, (2000 if q else 65530)
    s = scaling(small, large, 100 if q else 2000, 1 if q else 5)
    note(f"(d) model at {large:,} VMAs vs {small}: {'':1}{'at ' + str(small):>10} "
         f"{'at ' + format(large, ','):>12}")
    for op, v in s.items():
        note(_row(f"    {op}", f"{v['small_ns']:,.0f}", f"{v['large_ns']:,.0f}", v["ratio"],
                  GOALS["scaling"]))
    b = bytes_per_vma(1000 if q else 10000)
    note(_row("(e) bytes per VMA", "", "", b["vma"], GOALS["bytes_per_vma"], unit="B"))
    note(f"    with one PTE each: {b['vma+pte']:,.0f} B (tracemalloc, "
         f"{1000 if q else 10000:,} VMAs)")
    if args.exercise:
        e = exercise_check()
        if e["status"] != "ok":
            note(f"exercise check: {e['status']}")
        else:
            note(f"exercise check {e['exercise']}: {e['first_s']:.2f} s "
                 f"(re-check {e['again_s']:.2f} s) — {e['verdict']}")
    if args.book:
        bk = book_build()
        if bk["status"] != "ok":
            note(f"book build: {bk['status']}")
            for line in bk.get("log", []):
                note(f"      {line}")
        else:
            note(f"book build: clean {bk['clean_s']:.1f} s, cached {bk['cached_s']:.1f} s")
    return 0
