"""Benchmarks for mmaplab: the model against the real kernel, its scaling, its memory.

Run ``python -m benchmarks`` (or ``make bench``).  Not part of the test suite;
``tests/bench/`` runs each function with tiny counts and guards the deterministic figure
(bytes per VMA) and, loosely, the ratios.
"""

from .core import (
    GOALS,
    book_build,
    build_space,
    bytes_per_vma,
    exercise_check,
    main,
    mmap_fault_munmap,
    mmap_munmap,
    mprotect_split_merge,
    scaling,
)

__all__ = ["GOALS", "mmap_munmap", "mprotect_split_merge", "mmap_fault_munmap", "scaling",
           "bytes_per_vma", "build_space", "exercise_check", "book_build", "main"]
