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


#: A wrong answer as a learner types it, per exercise: (the solution's line it drops or
#: changes, its replacement, the misconception named).
_EDITS = {"01": ("    desc.page_prot = pgprot_noncached(desc.page_prot)\n", "", "forgot-noncached"),
          "02": ("        return -errno.EINVAL\n", "        pass\n", "lost-check")}


def _a_wrong_answer(ex) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    old, new, mid = _EDITS[ex.nn]
    assert old in ex.source.solution
    return ex.source.solution.replace(old, new, 1), mid


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


# -- a learner's folder from scratch: init, next, watch, clean errors ----------------------

@pytest.mark.slow  # three console-script runs; the fast tier has one such test above
def test_init_then_check_from_an_empty_folder(tmp_path: Path) -> None:
    """As after `pip install mmaplab`: init writes the notebooks the package ships, the stub
    fails, the solution passes — run as real processes from the new folder."""
    exe = Path(sys.executable).with_name("mmaplab")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "mmaplab.cli"]
    made = subprocess.run([*cmd, "exercises", "init"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    work = tmp_path / "mmaplab-exercises"
    assert sorted(p.name for p in work.glob("*.ipynb")) == sorted(
        f"{ex.name}.ipynb" for ex in EXERCISES.values())
    assert (work / f"{FIRST.name}.ipynb").read_text(encoding="utf-8") == (
        EXDIR / f"{FIRST.name}.ipynb").read_text(encoding="utf-8")
    stub = subprocess.run([*cmd, "exercises", "check", FIRST.nn], cwd=work,
                          capture_output=True, text=True, timeout=120)
    assert stub.returncode == 1 and "is not solved yet" in stub.stdout
    _put(work, FIRST, _solution(FIRST))
    ok = subprocess.run([*cmd, "exercises", "check", FIRST.nn], cwd=work,
                        capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0 and ok.stdout.startswith("✔ "), ok.stdout + ok.stderr


def test_init_keeps_what_is_there(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "ex"
    assert main(["exercises", "init", str(target)]) == 0
    _put(target, FIRST, _solution(FIRST))
    mine = (target / f"{FIRST.name}.ipynb").read_text(encoding="utf-8")
    assert main(["exercises", "init", str(target)]) == 0
    assert "(14 already there, kept)" in capsys.readouterr().out
    assert (target / f"{FIRST.name}.ipynb").read_text(encoding="utf-8") == mine


def test_next_points_at_the_first_unsolved(exdir: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    _put(exdir, FIRST, _solution(FIRST))
    assert main(["exercises", "--dir", str(exdir), "next"]) == 0
    assert capsys.readouterr().out.startswith(f"next: exercise {SECOND.nn} — {SECOND.title}")


def test_watch_rechecks_a_saved_notebook(exdir: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    from mmaplab import cli
    from mmaplab.cli import Out

    def save_solution(_: float) -> None:  # the learner saves while watch sleeps
        _put(exdir, FIRST, _solution(FIRST))

    assert cli._watch(Out(), exdir, 0.0, 1, sleep=save_solution) == 0
    out = capsys.readouterr().out
    assert f"working on {FIRST.nn}" in out and f"[{FIRST.nn} saved] ✔ " in out
    assert f"next unsolved: {SECOND.nn}" in out


def test_hint_without_a_number_is_for_the_first_unsolved(
        exdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["exercises", "--dir", str(exdir), "hint"]) == 0
    assert capsys.readouterr().out.startswith(f"Exercise {FIRST.nn} — ")


def test_broken_notebook_json_is_one_clean_line(exdir: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    (exdir / f"{SECOND.name}.ipynb").write_text('{"cells": [', encoding="utf-8")
    assert main(["exercises", "--dir", str(exdir), "check", SECOND.nn]) == 1
    out = capsys.readouterr().out
    assert out.startswith(f"{SECOND.name}.ipynb is not valid notebook JSON")
    assert f"mmaplab exercises reset {SECOND.nn}" in out and "Traceback" not in out


def test_outside_any_exercises_folder_is_a_clean_error(tmp_path: Path, monkeypatch,  # type: ignore[no-untyped-def]
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    for action in (["list"], ["check", "01"], ["reset", "01"], ["next"]):
        assert main(["exercises", *action]) == 2
        err = capsys.readouterr().err
        assert err.startswith("mmaplab: no exercise notebooks here: run `mmaplab exercises "
                              "init`") and len(err.splitlines()) == 1


@pytest.mark.slow  # two console-script runs
def test_closed_pipe_and_ascii_stdout(exdir: Path) -> None:
    exe = Path(sys.executable).with_name("mmaplab")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "mmaplab.cli"]
    env = dict(__import__("os").environ, PYTHONIOENCODING="ascii", NO_PROGRESS="1")
    p = subprocess.run(f"{' '.join(cmd)} exercises list | head -1", shell=True, cwd=exdir,
                       capture_output=True, text=True, timeout=300, env=env)
    assert p.returncode == 0 and p.stdout.startswith("Exercises in ")
    assert "Traceback" not in p.stderr and "BrokenPipe" not in p.stderr
    q = subprocess.run([*cmd, "exercises", "list"], cwd=exdir, capture_output=True,
                       timeout=300, env=env)
    assert q.returncode == 0 and b" X 01 " in q.stdout and "✔".encode() not in q.stdout


def test_colours_only_on_a_terminal(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from mmaplab.cli import Out

    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert Out().ok().startswith("\x1b[32m")
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\x1b" not in Out().ok()
