"""The differential soak: many random sequences on the running kernel and on the model.

``python -m tests.oracle.soak -n 20000 [--seed S] [--report mismatches.json]`` runs the
sequences of ``seqgen`` in batches through ``kernel_oracle`` (a subprocess per batch) and
replays each on a fresh ``MM``, as tests/oracle/test_differential.py does, reporting
progress per batch (a bar on a terminal, plain lines in a log: mmaplab.progress). It
prints one line per mismatching sequence and a summary; exit 1 if any mismatched.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from mmaplab.progress import note, track
from tests.oracle.kernel_oracle import (
    format_mismatch,
    replay_on_model,
    run_on_kernel,
)
from tests.oracle.seqgen import sequences

BATCH = 50


def batches(first: int, total: int, size: int = BATCH) -> list[tuple[int, int]]:
    """(first seed, count) per batch covering seeds first .. first + total - 1."""
    return [(s, min(size, first + total - s)) for s in range(first, first + total, size)]


def soak(first: int, total: int, size: int = BATCH) -> tuple[int, int, list[dict[str, Any]]]:
    """Run the soak; returns (sequences, ops, mismatches)."""
    done = ops = 0
    mismatches: list[dict[str, Any]] = []
    plan = batches(first, total, size)
    for seed, count in track(plan, "soak", total=len(plan),
                             label=lambda b: f"seeds {b[0]}-{b[0] + b[1] - 1}"):
        batch = run_on_kernel(sequences(seed, count))
        for kres in batch["sequences"]:
            done += 1
            ops += len(kres["results"])
            mismatch = replay_on_model(kres, batch)
            if mismatch is not None:
                mismatches.append(mismatch)
                note(f"mismatch: {format_mismatch(mismatch).splitlines()[0]}")
    return done, ops, mismatches


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.oracle.soak",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--sequences", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=0, help="first seed")
    parser.add_argument("--report", help="write the mismatches to this JSON file")
    args = parser.parse_args(argv)
    start = time.monotonic()
    done, ops, mismatches = soak(args.seed, args.sequences)
    if args.report:
        with open(args.report, "w") as fh:
            json.dump(mismatches, fh, indent=1)
    note(f"differential soak: {done} sequences ({ops} ops) in "
         f"{time.monotonic() - start:.0f} s: {len(mismatches)} mismatches")
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
