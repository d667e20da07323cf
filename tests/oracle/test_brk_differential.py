"""Differential test of ``MM.brk``: random brk sequences mixed with mmap, munmap, mprotect
and touches, on the running kernel (in a fresh child, ``brk_oracle``) and on the model.

After every op the return value (brk's new or old break, or the errno) and every VMA from
``start_brk`` to the end of the window (range relative to the break, perms, offset,
``[heap]`` or other name, smaps ``VmFlags``) must be the same.  ``MMAPLAB_BRK_SEQUENCES``
(default 400) scales the count.
"""

from __future__ import annotations

import os

import pytest

from tests.oracle.brk_oracle import brk_sequences, replay_brk_on_model, run_brk_on_kernel
from tests.oracle.kernel_oracle import STATS, require_model
from tests.tiers import sample

TOTAL = int(os.environ.get("MMAPLAB_BRK_SEQUENCES", "400"))
BATCH = 100
BATCHES = [(s, min(BATCH, TOTAL - s)) for s in range(0, TOTAL, BATCH)]


@pytest.mark.parametrize(("first", "count"), sample(
    BATCHES, ids=[f"seeds-{s}-{s + n - 1}" for s, n in BATCHES]))
def test_brk_matches_kernel(first: int, count: int) -> None:
    require_model()
    seqs = brk_sequences(first, count)
    kernel = run_brk_on_kernel(seqs)
    mismatches = []
    refused = grown = 0
    for seq, res in zip(seqs, kernel["sequences"], strict=True):
        STATS["sequences"] += 1
        STATS["ops"] += len(seq["ops"])
        report = replay_brk_on_model(kernel, res, seq["ops"])
        if report is not None:
            STATS["mismatches"] += 1
            mismatches.append(report)
        before = kernel["cur0"] - kernel["base"]
        for op, r in zip(seq["ops"], res["results"], strict=True):
            if op["op"] == "brk" and "special" not in op:
                refused += r["ret"] == before
                grown += r["ret"] > before
            if op["op"] == "brk":
                before = r["ret"]
    # The sequences must exercise both outcomes, or they test little.
    assert grown > count and refused > count // 2, (grown, refused)
    assert not mismatches, (f"{len(mismatches)} of {count} brk sequences differ from Linux "
                            f"{kernel['release']}; first:\n{mismatches[0]}")


def test_brk_sequences_are_deterministic() -> None:
    assert brk_sequences(3, 2) == brk_sequences(3, 2)
    assert brk_sequences(3, 1) != brk_sequences(4, 1)
