"""The verdict cannot be forged or hung: each route a learner (or a slip) could take.

Each test is a route that the old engine accepted (it ran the notebook's own cells
in-process and trusted the check cell): an edited check cell, a deleted check cell, a
``check`` defined by the answer, ``sys.exit()`` in the answer or in a hook, a
``KeyboardInterrupt``, a hook that never returns.  Now the CLI takes only the answer
cell from the notebook, runs the exercise's own setup and check from the package, and
gives every request a time budget.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mmaplab.cli import main
from mmaplab.exercises import EXERCISES
from mmaplab.exercises.notebook import read, run_cells, set_answer, write

ROOT = Path(__file__).resolve().parents[2]
EX = EXERCISES["05"]
#: What a pass prints (the forgeries below print it themselves).
#: (the request count is the reference run's own: every case, every scenario)
PASS_LINE = (f"✔ {sum(len(s.ops) for c in EX.reference_cases() for s in c.scenarios)} "
             f"requests behave like the reference ({EX.label})")
#: The request the check runs first (whatever order the kit lists its scenarios in).
FIRST_SCENARIO = EX.reference_cases()[0].scenarios[0].name


@pytest.fixture
def exdir(tmp_path: Path) -> Path:
    d = tmp_path / "work"
    d.mkdir()
    shutil.copy(ROOT / "exercises" / f"{EX.name}.ipynb", d)
    return d


def _nb(exdir: Path) -> Path:
    return exdir / f"{EX.name}.ipynb"


def _answer(exdir: Path, source: str) -> None:
    write(set_answer(read(_nb(exdir)), source), _nb(exdir))


def _check(exdir: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    rc = main(["exercises", "--dir", str(exdir), "check", EX.nn])
    return rc, capsys.readouterr().out


def _edit_cell(exdir: Path, role: str, source: str | None) -> None:
    nb = json.loads(_nb(exdir).read_text(encoding="utf-8"))
    cells = [c for c in nb["cells"] if role in c["metadata"].get("tags", [])]
    if source is None:
        nb["cells"].remove(cells[0])
    else:
        cells[0]["source"] = source
    _nb(exdir).write_text(json.dumps(nb), encoding="utf-8")


def test_the_solution_passes_through_the_same_path(exdir, capsys) -> None:  # type: ignore[no-untyped-def]
    _answer(exdir, EX.source.solution)
    assert _check(exdir, capsys) == (0, PASS_LINE + "\n")


def test_an_edited_check_cell_is_reported(exdir, capsys) -> None:  # type: ignore[no-untyped-def]
    _edit_cell(exdir, "check", f"print({PASS_LINE!r})")
    rc, out = _check(exdir, capsys)
    assert rc == 1 and "the check cell was edited" in out and "✔" not in out
    assert main(["exercises", "--dir", str(exdir), "list"]) == 0
    assert "locked cell changed" in capsys.readouterr().out


def test_an_edited_setup_cell_is_reported(exdir, capsys) -> None:  # type: ignore[no-untyped-def]
    _answer(exdir, EX.source.solution)
    _edit_cell(exdir, "setup", EX.setup_code + "\nprint('mine')")
    rc, out = _check(exdir, capsys)
    assert rc == 1 and "the setup cell was edited" in out


def test_a_deleted_check_cell_is_reported(exdir, capsys) -> None:  # type: ignore[no-untyped-def]
    _answer(exdir, EX.source.solution)
    _edit_cell(exdir, "check", None)
    rc, out = _check(exdir, capsys)
    assert rc == 1 and "the check cell is missing" in out


def test_reset_keep_answer_restores_the_locked_cells(exdir, capsys) -> None:  # type: ignore[no-untyped-def]
    _answer(exdir, EX.source.solution)
    _edit_cell(exdir, "check", "pass")
    assert _check(exdir, capsys)[0] == 1
    assert main(["exercises", "--dir", str(exdir), "reset", EX.nn, "--keep-answer"]) == 0
    capsys.readouterr()
    assert _check(exdir, capsys) == (0, PASS_LINE + "\n")


SHADOW = EX.stub + f"\n\ndef check(*args):\n    print({PASS_LINE!r})\n"


def test_a_check_defined_by_the_answer_is_not_used_by_the_cli(exdir, capsys) -> None:  # type: ignore[no-untyped-def]
    _answer(exdir, SHADOW)
    rc, out = _check(exdir, capsys)
    assert rc == 1 and "is not solved yet" in out


def test_a_check_defined_by_the_answer_is_not_used_by_the_check_cell() -> None:
    """In the notebook too: the check cell imports the package's check itself."""
    out = run_cells([EX.setup_code, SHADOW, EX.check_code])
    assert out.startswith(f"Exercise {EX.nn} ({EX.slug}) is not solved yet.")


def test_a_patched_package_check_is_not_used_by_the_check_cell(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The check cell runs the answer again in a fresh namespace: an answer that replaces
    the package's verify still gets the package's verdict... on its own source.  (The
    answer runs in this process: monkeypatch puts the real verify back afterwards, or
    every later check in this test process, C answers included, would pass.)"""
    import mmaplab.exercises

    monkeypatch.setattr(mmaplab.exercises, "verify", mmaplab.exercises.verify)
    forged = EX.stub + ("\n\nimport mmaplab.exercises as _m\n"
                        "_m.verify = lambda *a, **k: (41, None)\n")
    out = run_cells([EX.setup_code, forged, EX.check_code])
    assert "is not solved yet" in out


@pytest.mark.parametrize("code", ["import sys\nsys.exit(0)", "raise SystemExit(0)",
                                  "raise KeyboardInterrupt"])
def test_exiting_from_the_answer_cell_is_no_pass(exdir, capsys, code: str) -> None:  # type: ignore[no-untyped-def]
    _answer(exdir, EX.source.solution + "\n" + code + "\n")
    rc, out = _check(exdir, capsys)
    assert rc == 1 and "Running the answer cell raised" in out


@pytest.mark.parametrize("exc", ["SystemExit(0)", "KeyboardInterrupt()"])
def test_exiting_from_a_hook_is_no_pass(exdir, capsys, exc: str) -> None:  # type: ignore[no-untyped-def]
    lines = EX.source.solution.split("\n")
    at = next(i for i, line in enumerate(lines) if line.startswith("def hpet_mmap_prepare")) + 1
    src = "\n".join([*lines[:at], f"    raise {exc}", *lines[at:]])
    _answer(exdir, src)
    rc, out = _check(exdir, capsys)
    assert rc == 1 and f"your hook raised {exc.split('(')[0]}" in out
    assert f"at line {at + 1} of the answer cell: raise {exc}" in out


@pytest.mark.slow  # two console-script runs that each wait out the budget
@pytest.mark.parametrize("body", ["    while True:\n        pass\n",
                                  "    import time\n    time.sleep(3600)\n"])
def test_a_hook_that_never_returns_is_stopped(exdir, body: str) -> None:  # type: ignore[no-untyped-def]
    """As a learner runs it: the console script, with a 1 s budget per request."""
    _answer(exdir, "def hpet_mmap_prepare(self, desc):\n" + body)
    env = dict(os.environ, MMAPLAB_REQUEST_BUDGET="1")
    exe = Path(sys.executable).with_name("mmaplab")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "mmaplab.cli"]
    p = subprocess.run([*cmd, "exercises", "check", EX.nn], cwd=exdir, env=env,
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 1, p.stdout + p.stderr
    assert ("Your answer did not return within 1 s in request 1 of scenario "
            f"{FIRST_SCENARIO!r}" in p.stdout)
    assert "It was running line " in p.stdout and "Traceback" not in p.stdout + p.stderr


def test_the_budget_also_stops_code_outside_the_main_thread() -> None:
    """Where SIGALRM is not available (a thread, Windows) the tracer stops the hook."""
    import threading

    from mmaplab.lab.budget import RequestTimeout, time_budget

    caught: list[BaseException] = []

    def spin() -> None:
        try:
            with time_budget(0.2, "request 1"):
                while True:
                    pass
        except RequestTimeout as exc:
            caught.append(exc)

    t = threading.Thread(target=spin)
    t.start()
    t.join(30)
    assert not t.is_alive() and str(caught[0]) == "did not return within 0.2 s in request 1"
