"""Benchmarks for mmaplab: the model against the real kernel, scaling, exercises, the book.

Run ``python -m benchmarks`` (or ``make bench``).  Not part of the test suite;
``tests/test_benchmarks_smoke.py`` runs each function with tiny iteration counts.
"""

from .core import (
    GOALS,
    book_build,
    exercise_check,
    kernel_ratio,
    main,
    scaling,
)

__all__ = ["GOALS", "kernel_ratio", "scaling", "exercise_check", "book_build", "main"]
