"""The ``mmaplab exercises`` command line: init, list, check, watch, next, hint, reset."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mmaplab import __version__
from mmaplab.cli import main
from mmaplab.exercises import EXERCISES
from mmaplab.exercises.notebook import answer_cells, set_answer

ROOT = Path(__file__).resolve().parents[2]
EXDIR = ROOT / "exercises"
FIRST = next(iter(EXERCISES.values()))
SECOND = list(EXERCISES.values())[1]


@pytest.fixture
def exdir(tmp_path: Path) -> Path:
    """A learner's copy of the exercises directory."""
    d = tmp_path / "exercises"
    d.mkdir()
    for nb in EXDIR.glob("[0-9][0-9]_*.ipynb"):
        shutil.copy(nb, d / nb.name)
    return d


def _put(exdir: Path, ex, source: str) -> Path:  # type: ignore[no-untyped-def]
    path = exdir / f"{ex.name}.ipynb"
    nb = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps(set_answer(nb, source)), encoding="utf-8")
    return path


def _solution(ex) -> str:  # type: ignore[no-untyped-def]
    return ex.source.solution


def _a_wrong_answer(ex) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    path = sorted((EXDIR / "wrong").glob(f"{ex.name}__*.py"))[0]
    return path.read_text(), path.stem.split("__", 1)[1]


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"mmaplab {__version__}"


def test_check_exit_code_0_with_the_solution(exdir: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    _put(exdir, FIRST, _solution(FIRST))
    assert main(["exercises", "--dir", str(exdir), "check", FIRST.nn]) == 0
    assert capsys.readouterr().out.startswith("✔ ")


def test_check_exit_code_1_with_a_wrong_answer(exdir: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    source, mid = _a_wrong_answer(FIRST)
    _put(exdir, FIRST, source)
    assert main(["exercises", "--dir", str(exdir), "check", FIRST.nn]) == 1
    out = capsys.readouterr().out
    assert f"Misconception [{mid}]" in out and "expected" in out


def test_check_all_fails_while_any_stub_remains(exdir: Path) -> None:
    _put(exdir, FIRST, _solution(FIRST))
    assert main(["exercises", "--dir", str(exdir), "check"]) == 1
    for ex in EXERCISES.values():
        _put(exdir, ex, _solution(ex))
    assert main(["exercises", "--dir", str(exdir), "check"]) == 0


def test_check_reports_a_crashing_answer_without_a_traceback(
        exdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _put(exdir, FIRST, "def oops(:\n    pass\n")
    assert main(["exercises", "--dir", str(exdir), "check", FIRST.nn]) == 1
    out = capsys.readouterr().out
    assert "The answer cell has a syntax error at line 1" in out and "Traceback" not in out


def test_list_shows_progress(exdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _put(exdir, FIRST, _solution(FIRST))
    source, mid = _a_wrong_answer(SECOND)
    _put(exdir, SECOND, source)
    assert main(["exercises", "--dir", str(exdir), "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    row = {ln.split()[1]: ln for ln in lines if ln.startswith("  ")}
    assert row[FIRST.nn].lstrip().startswith("✔") and "solved" in row[FIRST.nn]
    assert row[SECOND.nn].lstrip().startswith("✘") and f"({mid})" in row[SECOND.nn]
    assert lines[-2].endswith(f"] 1/{len(EXERCISES)} solved")
    assert lines[-1] == f"next: {SECOND.nn} ({SECOND.name}.ipynb)"


def test_reset_restores_the_stub_and_keeps_a_backup(exdir: Path) -> None:
    mine = _solution(SECOND) + "\n# my own notes\n"
    path = _put(exdir, SECOND, mine)
    before = path.read_text(encoding="utf-8")
    assert main(["exercises", "--dir", str(exdir), "reset", SECOND.nn]) == 0
    backups = list((exdir / ".backup").glob(f"{SECOND.name}-*.ipynb"))
    assert len(backups) == 1 and backups[0].read_text(encoding="utf-8") == before
    nb = json.loads(path.read_text(encoding="utf-8"))
    assert answer_cells(nb)[0]["source"] == SECOND.stub.rstrip("\n")
    # A second reset never overwrites the first backup.
    assert main(["exercises", "--dir", str(exdir), "reset", SECOND.nn]) == 0
    assert len(list((exdir / ".backup").glob(f"{SECOND.name}-*.ipynb"))) == 2
    assert backups[0].read_text(encoding="utf-8") == before
    # And the restored notebook is the shipped one.
    assert path.read_text(encoding="utf-8") == (EXDIR / path.name).read_text(encoding="utf-8")


def test_reset_recreates_a_deleted_notebook(exdir: Path) -> None:
    path = exdir / f"{FIRST.name}.ipynb"
    path.unlink()
    assert main(["exercises", "--dir", str(exdir), "reset", FIRST.nn]) == 0
    assert path.exists() and not (exdir / ".backup").exists()


@pytest.mark.parametrize("level", [1, 2, 3])
def test_hint_levels(level: int, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["exercises", "hint", FIRST.nn, "--level", str(level)]) == 0
    out = capsys.readouterr().out
    for i, text in enumerate(FIRST.hints):
        assert (text in out) == (i < level)


def test_unknown_exercise_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["exercises", "hint", "99"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mmaplab: there is no exercise '99'") and len(err.splitlines()) == 1


def test_console_script_default_dir_is_cwd_exercises(exdir: Path) -> None:
    """`mmaplab exercises check NN` from the learner's folder, as a real process."""
    _put(exdir, FIRST, _solution(FIRST))
    exe = Path(sys.executable).with_name("mmaplab")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "mmaplab.cli"]
    ok = subprocess.run([*cmd, "exercises", "check", FIRST.nn], cwd=exdir.parent,
                        capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    source, _ = _a_wrong_answer(FIRST)
    _put(exdir, FIRST, source)
    bad = subprocess.run([*cmd, "exercises", "check", FIRST.nn], cwd=exdir.parent,
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1 and "Misconception [" in bad.stdout
