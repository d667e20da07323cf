"""Running answer-cell source outside Jupyter (CLI, tests): same code as the notebook."""

from __future__ import annotations

import contextlib
import io
import traceback
from typing import Any

from ._catalogue import get
from ._core import ExerciseFailed

__all__ = ["run_cells", "evaluate_answer", "Outcome"]


class Outcome:
    """Result of running an exercise's cells: ``passed``, ``output`` (what the cells printed)."""

    def __init__(self, passed: bool, output: str, failure: BaseException | None = None) -> None:
        self.passed = passed
        self.output = output
        self.failure = failure

    @property
    def misconception(self) -> str | None:
        return getattr(self.failure, "misconception", None)


def _short_tb(exc: BaseException, filename: str, role: str) -> str:
    if isinstance(exc, SyntaxError) and exc.filename == filename:
        text = (exc.text or "").strip()
        return f"SyntaxError: {exc.msg} ({role} cell, line {exc.lineno}: {text})"
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == filename]
    where = f" ({role} cell, line {frames[-1].lineno})" if frames else ""
    return f"{type(exc).__name__}: {exc}{where}"


def run_cells(cells: list[tuple[str, str]]) -> Outcome:
    """Execute ``(role, source)`` cells in one namespace, as a kernel would, in order.

    Stops at the first exception: an :class:`ExerciseFailed` from a check is the
    diagnosis; any other exception is reported with the answer-cell line.
    """
    ns: dict[str, Any] = {"__name__": "__main__"}
    out = io.StringIO()
    for i, (role, source) in enumerate(cells):
        filename = f"<{role} cell {i + 1}>"
        try:
            code = compile(source, filename, "exec")
            with contextlib.redirect_stdout(out):
                exec(code, ns)  # noqa: S102 - running the learner's own notebook cells
        except ExerciseFailed as exc:
            return Outcome(False, out.getvalue() + str(exc) + "\n", exc)
        except Exception as exc:  # noqa: BLE001
            return Outcome(False, out.getvalue() + f"The {role} cell failed: "
                           + _short_tb(exc, filename, role) + "\n", exc)
    return Outcome(True, out.getvalue())


def evaluate_answer(nn: str, answer_source: str) -> Outcome:
    """Run setup + ``answer_source`` + the check of exercise ``nn``."""
    ex = get(nn)
    return run_cells([("setup", ex.setup_code), ("answer", answer_source),
                      ("check", ex.check_code)])
