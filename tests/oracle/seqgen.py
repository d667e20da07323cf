"""Deterministic random sequences for the differential tests.

mmap, munmap, mprotect, touches and fork, mixed with madvise, mlock/mlock2/munlock,
mlockall/munlockall, mremap and mseal.

``sequence(seed)`` always returns the same sequence for the same seed. Addresses are byte
offsets from the window base (see ``kernel_oracle``); every op stays inside the window of
``window_pages`` pages, so nothing else of the process running it is touched.
"""

from __future__ import annotations

import random
from typing import Any

from tests.oracle.kernel_oracle import (
    MADV_DODUMP,
    MADV_DOFORK,
    MADV_DONTDUMP,
    MADV_DONTFORK,
    MADV_DONTNEED,
    MADV_KEEPONFORK,
    MADV_NORMAL,
    MADV_RANDOM,
    MADV_SEQUENTIAL,
    MADV_WILLNEED,
    MADV_WIPEONFORK,
    MAP_ANONYMOUS,
    MAP_DENYWRITE,
    MAP_DROPPABLE,
    MAP_EXECUTABLE,
    MAP_FIXED,
    MAP_FIXED_NOREPLACE,
    MAP_GROWSDOWN,
    MAP_LOCKED,
    MAP_NORESERVE,
    MAP_POPULATE,
    MAP_PRIVATE,
    MAP_SHARED,
    MAP_SHARED_VALIDATE,
    MAP_STACK,
    MCL_CURRENT,
    MCL_FUTURE,
    MCL_ONFAULT,
    MLOCK_ONFAULT,
    MREMAP_DONTUNMAP,
    MREMAP_FIXED,
    MREMAP_MAYMOVE,
    PAGE,
    PROT_EXEC,
    PROT_GROWSDOWN,
    PROT_READ,
    PROT_WRITE,
    WINDOW_PAGES,
)

ALL_PROTS = [p for p in range(8)]  # every combination of READ, WRITE, EXEC incl. PROT_NONE

#: Relative weights of the op kinds.
OP_WEIGHTS = {
    "mmap_anon_private": 14,
    "mmap_anon_shared": 6,
    "mmap_file_private": 10,
    "mmap_file_shared": 10,
    "munmap": 13,
    "mprotect": 18,
    "touch": 18,
    "fork": 3,
    "madvise": 9,
    "mlock": 4,
    "mlockall": 1,
    "mremap": 10,
    "mseal": 2,
}

ADVICE = [MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_WILLNEED, MADV_DONTNEED,
          MADV_DONTFORK, MADV_DOFORK, MADV_DONTDUMP, MADV_DODUMP, MADV_WIPEONFORK,
          MADV_KEEPONFORK]


def _prot(rng: random.Random) -> int:
    # Bias towards the interesting ones but keep all eight.
    if rng.random() < 0.3:
        return rng.choice([PROT_READ, PROT_READ | PROT_WRITE])
    return rng.choice(ALL_PROTS)


def _range(rng: random.Random, wpages: int) -> tuple[int, int]:
    """A page-aligned (start, length) in bytes inside the window; 1-8 pages."""
    npages = rng.randint(1, 8)
    start = rng.randint(0, wpages - npages)
    return start * PAGE, npages * PAGE


def _maybe_sloppy_len(rng: random.Random, length: int) -> int:
    """Sometimes a length that is not a page multiple (the kernel rounds it up)."""
    if rng.random() < 0.1:
        return length - PAGE + rng.randint(1, PAGE - 1)
    return length


def _placement(rng: random.Random) -> int:
    r = rng.random()
    if r < 0.62:
        return MAP_FIXED
    if r < 0.80:
        return MAP_FIXED_NOREPLACE
    if r < 0.83:
        return MAP_FIXED | MAP_FIXED_NOREPLACE
    return 0  # a hint


MAP_32BIT = 0x40

#: Extra flags, each added to an mmap with this probability.
EXTRA_FLAGS = [
    (MAP_NORESERVE, 0.25),
    (MAP_POPULATE, 0.06),
    (MAP_LOCKED, 0.05),
    (MAP_STACK, 0.05),
    (MAP_DENYWRITE | MAP_EXECUTABLE, 0.02),  # legacy, ignored
]


def _mmap(rng: random.Random, kind: str, files: list[dict[str, Any]], wpages: int) -> dict:
    start, length = _range(rng, wpages)
    flags = _placement(rng)
    for flag, p in EXTRA_FLAGS:
        if rng.random() < p:
            flags |= flag
    if not flags & (MAP_FIXED | MAP_FIXED_NOREPLACE) and rng.random() < 0.1:
        flags |= MAP_32BIT  # x86: ignores the hint, places below 2 GiB
    op: dict[str, Any] = {"op": "mmap", "addr": start, "prot": _prot(rng), "offset": 0}
    if kind.startswith("mmap_anon"):
        flags |= MAP_ANONYMOUS
        if kind == "mmap_anon_shared":
            flags |= MAP_SHARED if rng.random() < 0.9 else MAP_SHARED_VALIDATE
        else:
            r = rng.random()
            flags |= MAP_DROPPABLE if r < 0.04 else MAP_PRIVATE
            if r > 0.93:
                flags |= MAP_GROWSDOWN
        op["file"] = None
        if rng.random() < 0.05:
            op["offset"] = rng.randint(1, 4) * PAGE  # ignored for anonymous memory
    else:
        spec = rng.choice(files)
        if kind == "mmap_file_shared":
            flags |= MAP_SHARED if rng.random() < 0.75 else MAP_SHARED_VALIDATE
        else:
            flags |= MAP_PRIVATE
        op["file"] = spec["id"]
        fpages = (spec["size"] + PAGE - 1) // PAGE
        # Mostly inside the file, sometimes straddling or wholly beyond EOF.
        op["offset"] = rng.randint(0, fpages + 2) * PAGE if rng.random() < 0.3 else \
            rng.randint(0, max(0, fpages - 1)) * PAGE
    op["flags"] = flags
    op["len"] = _maybe_sloppy_len(rng, length)
    return op


def _bad(rng: random.Random, files: list[dict[str, Any]], wpages: int) -> dict:
    """An occasional bad value; every one of them must fail on the kernel."""
    start, length = _range(rng, wpages)
    choice = rng.randrange(9)
    anon = MAP_PRIVATE | MAP_ANONYMOUS
    if choice == 0:
        return {"op": "mmap", "addr": start + rng.randint(1, PAGE - 1), "len": length,
                "prot": PROT_READ, "flags": anon | MAP_FIXED, "file": None, "offset": 0}
    if choice == 1:
        return {"op": "mmap", "addr": start, "len": 0, "prot": PROT_READ,
                "flags": anon | MAP_FIXED, "file": None, "offset": 0}
    if choice == 2:
        spec = rng.choice(files)
        return {"op": "mmap", "addr": start, "len": length, "prot": PROT_READ,
                "flags": MAP_PRIVATE | MAP_FIXED, "file": spec["id"],
                "offset": rng.randint(1, PAGE - 1)}
    if choice == 3:
        return {"op": "mmap", "addr": start, "len": length, "prot": PROT_READ | 0x100,
                "flags": anon | MAP_FIXED, "file": None, "offset": 0}
    if choice == 4:
        return {"op": "mprotect", "addr": start + rng.randint(1, PAGE - 1), "len": length,
                "prot": PROT_READ}
    if choice == 5:
        return {"op": "mprotect", "addr": start, "len": length,
                "prot": PROT_READ | rng.choice([0x8, 0x100, PROT_GROWSDOWN | 0x10])}
    if choice == 6:
        return {"op": "munmap", "addr": start + rng.randint(1, PAGE - 1), "len": length}
    if choice == 7:
        return {"op": "mmap", "addr": start, "len": length, "prot": PROT_READ,
                "flags": MAP_ANONYMOUS | MAP_FIXED | rng.choice([0, 0xF, 0x4]), "file": None,
                "offset": 0}
    return {"op": "munmap", "addr": start, "len": 0}


def _spread(rng: random.Random, wpages: int,
            recent: list[tuple[int, int]] | None = None) -> tuple[int, int]:
    """A range, often one a recent op mapped (so the new calls meet mapped memory),
    sometimes doubled so that it spans several VMAs (and maybe holes)."""
    start, length = _range(rng, wpages)
    if recent and rng.random() < 0.6:
        start, length = rng.choice(recent[-4:])
        length = max(PAGE, min((length + PAGE - 1) & ~(PAGE - 1), wpages * PAGE - start))
    if rng.random() < 0.3:
        length = min(length * 2, (wpages * PAGE) - start)
    return start, length


def _madvise(rng: random.Random, wpages: int, recent: list[tuple[int, int]]) -> dict:
    start, length = _spread(rng, wpages, recent)
    advice = rng.choice(ADVICE) if rng.random() < 0.97 else rng.choice([5, 99])
    return {"op": "madvise", "addr": start, "len": _maybe_sloppy_len(rng, length),
            "advice": advice}


def _mlock(rng: random.Random, wpages: int, recent: list[tuple[int, int]]) -> dict:
    start, length = _spread(rng, wpages, recent)
    if rng.random() < 0.15:  # mlock rounds an unaligned start down, the length up
        start += rng.randint(1, PAGE - 1)
        length = max(1, length - PAGE)
    length = _maybe_sloppy_len(rng, length)
    r = rng.random()
    if r < 0.4:
        return {"op": "mlock", "addr": start, "len": length}
    if r < 0.7:
        flags = MLOCK_ONFAULT if rng.random() < 0.6 else rng.choice([0, 2])
        return {"op": "mlock2", "addr": start, "len": length, "flags": flags}
    return {"op": "munlock", "addr": start, "len": length}


def _mlockall(rng: random.Random) -> dict:
    if rng.random() < 0.4:
        return {"op": "munlockall"}
    flags = rng.choice([MCL_CURRENT, MCL_FUTURE, MCL_CURRENT | MCL_FUTURE,
                        MCL_CURRENT | MCL_ONFAULT, MCL_FUTURE | MCL_ONFAULT,
                        MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT, 0, MCL_ONFAULT, 8])
    return {"op": "mlockall", "flags": flags}


def _mremap(rng: random.Random, wpages: int, recent: list[tuple[int, int]]) -> dict:
    start, old_len = _spread(rng, wpages, recent)
    r = rng.random()
    if r < 0.15:
        new_len = old_len  # a pure move (MREMAP_FIXED: may span several VMAs)
    elif r < 0.55:
        new_len = old_len + rng.randint(1, 6) * PAGE
    else:
        new_len = max(PAGE, old_len - rng.randint(1, 4) * PAGE)
    if rng.random() < 0.03:
        old_len = 0  # the "duplicate a shared mapping" special case
    r = rng.random()
    new_addr = None
    if r < 0.35:
        flags = MREMAP_MAYMOVE
    elif r < 0.45:
        flags = 0
    elif r < 0.85:
        flags = MREMAP_MAYMOVE | MREMAP_FIXED
        if rng.random() < 0.5:
            new_len = old_len
    else:
        flags = MREMAP_MAYMOVE | MREMAP_DONTUNMAP | (MREMAP_FIXED if rng.random() < 0.6 else 0)
        new_len = old_len
    if flags & (MREMAP_FIXED | MREMAP_DONTUNMAP):
        npages = max(1, (new_len + PAGE - 1) // PAGE)
        new_addr = rng.randint(0, max(0, wpages - npages)) * PAGE
    if rng.random() < 0.03:
        flags |= rng.choice([8, MREMAP_FIXED])  # an unknown flag, or FIXED without MAYMOVE
    return {"op": "mremap", "addr": start, "old_len": _maybe_sloppy_len(rng, old_len) if
            old_len else 0, "new_len": _maybe_sloppy_len(rng, max(new_len, PAGE)),
            "flags": flags, "new_addr": new_addr}


def _mseal(rng: random.Random, wpages: int, recent: list[tuple[int, int]]) -> dict:
    start, length = _spread(rng, wpages, recent)
    return {"op": "mseal", "addr": start, "len": _maybe_sloppy_len(rng, length),
            "flags": 0 if rng.random() < 0.97 else 1}


def _files(rng: random.Random) -> list[dict[str, Any]]:
    out = []
    for i in range(rng.randint(1, 3)):
        size = rng.randint(1, 10) * PAGE
        if rng.random() < 0.4:
            size -= rng.randint(1, PAGE - 1)  # a partial last page
        out.append({"id": f"f{i}", "size": size, "writable": rng.random() < 0.7})
    return out


def sequence(seed: int, wpages: int = WINDOW_PAGES) -> dict[str, Any]:
    """The sequence for ``seed``: 5-25 ops over 1-3 files (some read-only)."""
    rng = random.Random(seed)
    files = _files(rng)
    kinds = list(OP_WEIGHTS)
    weights = [OP_WEIGHTS[k] for k in kinds]
    ops: list[dict[str, Any]] = []
    recent: list[tuple[int, int]] = []  # ranges of recent ops, for touches that hit them
    if rng.random() < 0.4:  # start with a hole, for hints and MAP_FIXED_NOREPLACE to use
        npages = rng.randint(4, 16)
        start = rng.randint(0, wpages - npages)
        ops.append({"op": "munmap", "addr": start * PAGE, "len": npages * PAGE})
    for _ in range(rng.randint(5, 25)):
        if rng.random() < 0.05:
            ops.append(_bad(rng, files, wpages))
            continue
        kind = rng.choices(kinds, weights)[0]
        if kind.startswith("mmap"):
            ops.append(_mmap(rng, kind, files, wpages))
        elif kind == "fork":
            ops.append({"op": "fork"})
            continue
        elif kind == "madvise":
            ops.append(_madvise(rng, wpages, recent))
        elif kind == "mlock":
            ops.append(_mlock(rng, wpages, recent))
        elif kind == "mlockall":
            ops.append(_mlockall(rng))
            continue
        elif kind == "mremap":
            ops.append(_mremap(rng, wpages, recent))
        elif kind == "mseal":
            ops.append(_mseal(rng, wpages, recent))
        elif kind == "munmap":
            start, length = _range(rng, wpages)
            ops.append({"op": "munmap", "addr": start, "len": _maybe_sloppy_len(rng, length)})
        elif kind == "mprotect":
            start, length = _range(rng, wpages)
            if rng.random() < 0.3:  # spread over several VMAs (and maybe holes)
                length = min(length * 2, (wpages * PAGE) - start)
            prot = rng.choice(ALL_PROTS)
            if rng.random() < 0.04:
                prot |= PROT_GROWSDOWN  # extends down to vm_start on a VM_GROWSDOWN VMA
            ops.append({"op": "mprotect", "addr": start,
                        "len": _maybe_sloppy_len(rng, length), "prot": prot})
        else:
            if recent and rng.random() < 0.7:
                lo, length = rng.choice(recent[-3:])
                page = lo // PAGE + rng.randrange(max(1, length // PAGE))
            else:
                page = rng.randrange(wpages)
            ops.append({"op": "touch", "addr": page * PAGE + rng.choice([0, 8, PAGE - 1]),
                        "write": rng.random() < 0.5})
        last = ops[-1]
        if last["op"] == "mremap" and last.get("new_addr") is not None:
            recent.append((last["new_addr"], last["new_len"]))
        elif last["op"] == "mremap":
            recent.append((last["addr"], last["new_len"]))
        elif last["op"] != "touch" and last["len"] > 0:
            recent.append((last["addr"], last["len"]))
    return {"name": f"seed-{seed}", "seed": seed, "files": files, "ops": ops}


def sequences(first_seed: int, count: int, wpages: int = WINDOW_PAGES) -> list[dict[str, Any]]:
    return [sequence(s, wpages) for s in range(first_seed, first_seed + count)]


__all__ = ["ALL_PROTS", "PROT_EXEC", "sequence", "sequences"]
