"""Differential tests: random mmap/munmap/mprotect/touch sequences on the real kernel and on MM.

Every sequence from ``seqgen`` is run by ``kernel_oracle`` in a subprocess (one per batch)
and then replayed on a fresh ``mmaplab.MM``; after each op the errno, the returned address
(or whether a hint was honoured), the touch outcome and the ``/proc/self/maps`` lines of
the window (boundaries, perms, offsets, backing; line format with dev/inode/path
normalised) must be the same. Any mismatch is reported with the sequence seed, the op,
both maps and the op list that reproduces it.

``MMAPLAB_DIFF_SEQUENCES`` (default 1000) scales the number of sequences for soak runs;
``MMAPLAB_DIFF_SEED`` (default 0) picks the first seed; ``MMAPLAB_DIFF_REPORT`` names a
JSON file to write the mismatches to.
"""

from __future__ import annotations

import collections
import json
import os
from typing import Any

import pytest

from tests.oracle.kernel_oracle import (
    MAP_FIXED,
    MAP_FIXED_NOREPLACE,
    MAP_TYPE,
    format_maps_line,
    format_mismatch,
    parse_maps_line,
    replay_on_model,
    require_model,
    run_on_kernel,
)
from tests.oracle.seqgen import ADVICE, sequences
from tests.tiers import sample

TOTAL = int(os.environ.get("MMAPLAB_DIFF_SEQUENCES", "1000"))
FIRST_SEED = int(os.environ.get("MMAPLAB_DIFF_SEED", "0"))
BATCH = 50
BATCHES = [(s, min(BATCH, FIRST_SEED + TOTAL - s))
           for s in range(FIRST_SEED, FIRST_SEED + TOTAL, BATCH)]
#: How many mismatches of one batch are printed in full.
SHOWN = 3

_kernel_results: dict[int, dict[str, Any]] = {}


def kernel_batch(first: int, count: int) -> dict[str, Any]:
    if first not in _kernel_results:
        _kernel_results[first] = run_on_kernel(sequences(first, count))
    return _kernel_results[first]


def _report(mismatches: list[dict[str, Any]]) -> None:
    path = os.environ.get("MMAPLAB_DIFF_REPORT")
    if not path or not mismatches:
        return
    old = []
    if os.path.exists(path):
        with open(path) as fh:
            old = json.load(fh)
    with open(path, "w") as fh:
        json.dump(old + mismatches, fh, indent=1)


def test_maps_format_matches_kernel() -> None:
    """Harness self-check: our formatter reproduces every kernel maps line byte for byte."""
    batch = kernel_batch(*BATCHES[0])
    seen = 0
    for seq in batch["sequences"]:
        for res in seq["results"]:
            for line in res["maps"]:
                f = parse_maps_line(line)
                assert format_maps_line(**f) == line
                seen += 1
    assert seen > 1000


# The fast tier replays the first batch (the one test_maps_format_matches_kernel runs too).
@pytest.mark.parametrize(("first", "count"), sample(
    BATCHES, ids=[f"seeds-{s}-{s + n - 1}" for s, n in BATCHES]))
def test_differential_batch(first: int, count: int) -> None:
    batch = kernel_batch(first, count)
    require_model()
    mismatches = []
    for kres in batch["sequences"]:
        mm = replay_on_model(kres, batch)
        if mm is not None:
            mismatches.append(mm)
    _report(mismatches)
    if mismatches:
        kinds = collections.Counter(m["problem"].split(":")[0] for m in mismatches)
        shown = "\n\n".join(format_mismatch(m) for m in mismatches[:SHOWN])
        pytest.fail(
            f"{len(mismatches)}/{count} sequences diverge from Linux "
            f"{batch['kernel']['release']} ({dict(kinds)}); "
            f"first {min(SHOWN, len(mismatches))}:\n\n{shown}",
            pytrace=False,
        )


@pytest.mark.slow  # runs the kernel side of the first ten batches
def test_sequences_cover_the_interesting_cases() -> None:
    """The default sequences exercise what the issue asks for, judged by the kernel's answers."""
    seen: collections.Counter[str] = collections.Counter()
    for first, count in BATCHES[: max(1, 500 // BATCH)]:
        for seq in kernel_batch(first, count)["sequences"]:
            for op, res in zip(seq["ops"], seq["results"], strict=True):
                if op.get("setup"):
                    continue
                kind = op["op"]
                seen[kind] += 1
                if kind == "mmap":
                    shared = (op["flags"] & MAP_TYPE) in (1, 3)
                    backing = "file" if op.get("file") and not op["flags"] & 0x20 else "anon"
                    seen[f"mmap-{backing}-{'shared' if shared else 'private'}-"
                         f"{'ok' if not res['errno'] else 'err'}"] += 1
                    seen[f"mmap-prot-{op['prot']}"] += 1
                    if not op["flags"] & (MAP_FIXED | MAP_FIXED_NOREPLACE) and not res["errno"]:
                        seen[f"hint-{'honoured' if res['hint_honoured'] else 'moved'}"] += 1
                    if op["flags"] & MAP_FIXED_NOREPLACE:
                        seen[f"noreplace-{res['errno']}"] += 1
                elif kind == "mprotect":
                    seen[f"mprotect-prot-{op['prot'] & 7}"] += 1
                    seen[f"mprotect-errno-{res['errno']}"] += 1
                elif kind == "touch":
                    seen[f"touch-{res['touch']}-{'w' if op['write'] else 'r'}"] += 1
                elif kind == "madvise":
                    seen[f"madvise-{op['advice']}-{res['errno']}"] += 1
                elif kind == "mremap":
                    seen[f"mremap-{op['flags']}-{res['errno']}"] += 1
                    seen[f"mremap-moved-out-{bool(res.get('moved_out'))}"] += 1
                elif kind in ("mlock", "mlock2", "munlock", "mlockall", "munlockall", "mseal"):
                    seen[f"{kind}-{res['errno']}"] += 1
                if res["errno"] and kind != "touch":
                    seen[f"errno-{res['errno']}"] += 1
    wanted = [
        "mmap-anon-private-ok", "mmap-anon-shared-ok", "mmap-file-private-ok",
        "mmap-file-shared-ok", "munmap", "mprotect", "touch-ok-r", "touch-ok-w",
        "touch-segv-r", "touch-segv-w", "touch-sigbus-r", "touch-sigbus-w",
        "hint-honoured", "hint-moved", "noreplace-0", "noreplace-17",
        "mprotect-errno-12",  # ENOMEM: over a hole, after partial application
        "errno-13",  # EACCES: write-shared on a read-only file
        "errno-22",  # EINVAL
        *[f"madvise-{a}-0" for a in ADVICE],  # every advice, applied
        "madvise-4-12", "madvise-18-22", "madvise-99-22",  # a hole; WIPEONFORK on a file
        "mlock-0", "mlock-12", "mlock2-0", "mlock2-22", "munlock-0", "mlockall-0",
        "mlockall-22", "munlockall-0",
        # mremap: in place (0), MAYMOVE (1), FIXED moves (3), DONTUNMAP (5, 7); refusals
        "mremap-0-0", "mremap-1-0", "mremap-3-0", "mremap-5-0", "mremap-7-0", "mremap-0-12",
        "mremap-1-14", "mremap-3-22", "mremap-3-1", "mremap-moved-out-True",
        "mseal-0", "mseal-12", "mseal-22",
        *[f"mmap-prot-{p}" for p in range(8)],
        *[f"mprotect-prot-{p}" for p in range(8)],
    ]
    missing = [w for w in wanted if not seen[w]]
    assert not missing, f"never exercised: {missing}; seen: {dict(seen)}"
