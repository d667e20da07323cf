"""Differential test of the mlock and data limits: RLIMIT_MEMLOCK (``mlock_future_ok()``
in do_mmap, mremap growth of a locked mapping, do_mlock's limit, mlockall(MCL_FUTURE)
then mmap) and RLIMIT_DATA (the data half of ``may_expand_vm()`` in mmap, mprotect and
mremap), for a process without CAP_IPC_LOCK.

The kernel side is ``limits_child.c``, compiled here with the system C compiler (the
test is skipped without one): a C child changes the counters the limits are checked
against only through the ops (see its comment).  Each sequence runs in its own child
with its own limits: RLIMIT_MEMLOCK of 2-8 pages and RLIMIT_DATA of 2-12 pages above
what the child had at start.  The model replays it on ``MM(rlimit_memlock=, rlimit_data=,
cap_ipc_lock=False)`` after mapping the same PROT_NONE window; every op's result and
errno, and the window's maps lines at the end (after a munlockall), must be the same.
``MMAPLAB_LIMITS_SEQUENCES`` (default 300) scales the count.
"""

from __future__ import annotations

import errno
import os
import random
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.oracle.kernel_oracle import STATS, require_model

TOTAL = int(os.environ.get("MMAPLAB_LIMITS_SEQUENCES", "300"))
PAGE = 4096
WINDOW = 32
PROT_NONE, PROT_READ, PROT_WRITE = 0, 1, 2
RW = PROT_READ | PROT_WRITE
MAP_SHARED, MAP_PRIVATE, MAP_FIXED, MAP_ANONYMOUS = 0x01, 0x02, 0x10, 0x20
MAP_NORESERVE, MAP_LOCKED = 0x4000, 0x2000
MREMAP_MAYMOVE, MREMAP_FIXED = 1, 2
MCL_FUTURE, MCL_ONFAULT = 2, 4


@pytest.fixture(scope="module")
def child(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler for the limits child")
    out = tmp_path_factory.mktemp("limits") / "limits_child"
    src = Path(__file__).with_name("limits_child.c")
    subprocess.run([cc, "-O1", "-Wall", "-Werror", "-o", str(out), str(src)], check=True)
    return out


def _op(rng: random.Random) -> list[Any]:
    r = rng.random()
    page, pages = rng.randrange(0, WINDOW - 6), rng.randint(1, 6)
    if r < 0.40:
        flags = MAP_ANONYMOUS | MAP_FIXED | (MAP_SHARED if rng.random() < 0.15 else MAP_PRIVATE)
        if rng.random() < 0.45:
            flags |= MAP_LOCKED
        return ["mmap", page, pages, rng.choice((RW, RW, PROT_READ, PROT_NONE)), flags]
    if r < 0.50:
        return ["munmap", page, pages]
    if r < 0.62:
        return ["mprotect", page, pages, rng.choice((RW, PROT_READ))]
    if r < 0.72:
        return ["mlock", page, pages]
    if r < 0.78:
        return ["munlock", page, pages]
    if r < 0.83:
        return ["mlockall", rng.choice((MCL_FUTURE, MCL_FUTURE | MCL_ONFAULT))]
    if r < 0.87:
        return ["munlockall"]
    new = pages + rng.randint(1, 4)
    if rng.random() < 0.5:
        return ["mremap", page, pages, new, 0, 0]
    return ["mremap", page, pages, new, MREMAP_MAYMOVE | MREMAP_FIXED,
            rng.randrange(0, WINDOW - new)]


def sequences(count: int) -> list[dict[str, Any]]:
    out = []
    for seed in range(count):
        rng = random.Random(f"limits-{seed}")
        out.append({"memlock": rng.randint(2, 8), "data": rng.randint(2, 12),
                    "ops": [_op(rng) for _ in range(rng.randint(6, 14))]})
    return out


def run_on_kernel(child: Path, seq: dict[str, Any]) -> tuple[list[tuple[int, int]], list]:
    text = "".join(" ".join(map(str, op)) + "\n" for op in seq["ops"])
    out = subprocess.run([str(child), str(seq["memlock"]), str(seq["data"])], input=text,
                         capture_output=True, text=True, check=True, timeout=30).stdout
    lines = out.splitlines()
    base = int(lines[0].split()[1])
    results = [(int(r), int(e)) for r, e in (x.split() for x in lines[1:1 + len(seq["ops"])])]
    maps = []
    for line in lines[1 + len(seq["ops"]):]:
        rng, perms = line.split()[1:3]
        lo, hi = (int(x, 16) - base for x in rng.split("-"))
        maps.append((lo // PAGE, hi // PAGE, perms))
    return results, maps


def replay_on_model(seq: dict[str, Any]) -> tuple[list[tuple[int, int]], list]:
    from mmaplab import MM

    base = 0x7E0000000000
    mm = MM(rlimit_memlock=seq["memlock"] * PAGE, rlimit_data=seq["data"] * PAGE,
            cap_ipc_lock=False)
    mm.mmap(base, WINDOW * PAGE, PROT_NONE,
            MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED)
    results = []
    for name, *args in seq["ops"]:
        try:
            ret = 0
            if name == "mmap":
                ret = mm.mmap(base + args[0] * PAGE, args[1] * PAGE, args[2], args[3]) - base
            elif name == "munmap":
                mm.munmap(base + args[0] * PAGE, args[1] * PAGE)
            elif name == "mprotect":
                mm.mprotect(base + args[0] * PAGE, args[1] * PAGE, args[2])
            elif name == "mlock":
                mm.mlock(base + args[0] * PAGE, args[1] * PAGE)
            elif name == "munlock":
                mm.munlock(base + args[0] * PAGE, args[1] * PAGE)
            elif name == "mlockall":
                mm.mlockall(args[0])
            elif name == "munlockall":
                mm.munlockall()
            elif name == "mremap":
                ret = mm.mremap(base + args[0] * PAGE, args[1] * PAGE, args[2] * PAGE,
                                args[3], base + args[4] * PAGE) - base
            results.append((ret, 0))
        except OSError as exc:
            results.append((-1, exc.errno or -1))
    mm.munlockall()  # as the child does before it reads its maps
    maps = [((v.vm_start - base) // PAGE, (v.vm_end - base) // PAGE,
             mm.maps().splitlines()[i].split()[1])
            for i, v in enumerate(mm.vmas())]
    return results, maps


def test_limit_sequences_are_deterministic() -> None:
    assert sequences(5) == sequences(5)


def test_mlock_and_data_limits_match_the_kernel(child: Path) -> None:
    require_model()
    seqs = sequences(TOTAL)
    mismatches = []
    refused = {errno.EAGAIN: 0, errno.ENOMEM: 0}
    for i, seq in enumerate(seqs):
        kernel, model = run_on_kernel(child, seq), replay_on_model(seq)
        STATS["sequences"] += 1
        STATS["ops"] += len(seq["ops"])
        for _ret, e in kernel[0]:
            if e in refused:
                refused[e] += 1
        if kernel != model:
            STATS["mismatches"] += 1
            first = next((j for j, (k, m) in enumerate(zip(kernel[0], model[0], strict=True))
                          if k != m), None)
            mismatches.append(f"seq {i} (memlock {seq['memlock']}, data {seq['data']}) "
                              f"op {first}: {seq['ops'][:(first or 0) + 1]}\n"
                              f"  kernel {kernel}\n  model  {model}")
    # the limits must actually refuse, or the test tests little
    assert refused[errno.EAGAIN] > TOTAL // 10 and refused[errno.ENOMEM] > TOTAL // 10, refused
    assert not mismatches, f"{len(mismatches)} of {TOTAL} differ; first:\n{mismatches[0]}"
