"""mmaplab.progress: a bar on a terminal, plain lines otherwise; wired into the long runs."""

from __future__ import annotations

import io
import sys

import pytest

from mmaplab import progress
from mmaplab.cli import main as cli_main
from tests.oracle import soak


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_plain_lines_when_not_a_terminal() -> None:
    out = io.StringIO()
    items = list(progress.track(["a", "b", "c"], "checking", stream=out))
    assert items == ["a", "b", "c"]
    assert out.getvalue() == "checking 1/3: a\nchecking 2/3: b\nchecking 3/3: c\n"


def test_mode_follows_the_stream_and_what_is_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_PROGRESS", raising=False)
    assert progress.mode(io.StringIO()) == "lines"
    assert progress.mode(FakeTerminal()) == "tqdm"
    monkeypatch.setitem(sys.modules, "tqdm", None)  # not installed
    assert progress.mode(FakeTerminal()) == "bar"
    monkeypatch.setenv("NO_PROGRESS", "1")
    assert progress.mode(FakeTerminal()) == "lines"


def test_an_unsized_terminal_gets_plain_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    # A pseudo-terminal with 0 columns (script(1) with no terminal behind it): a tqdm bar
    # would draw nothing, so the steps are reported as lines.
    monkeypatch.delenv("NO_PROGRESS", raising=False)
    monkeypatch.setattr(progress, "_columns", lambda stream: 0)
    assert progress.mode(FakeTerminal()) == "lines"


def test_fallback_bar_redraws_one_line_and_notes_clear_it(capsys: pytest.CaptureFixture[str]
                                                          ) -> None:
    term = FakeTerminal()
    for item in progress.track(["01", "02"], "checking", stream=term, force="bar"):
        progress.note(f"result {item}")
    drawn = term.getvalue()
    assert "\n" not in drawn.split("checking: 2/2 done")[0]       # redrawn in place
    assert f"{progress.CLEAR_LINE}checking [" + "-" * progress.BAR_CELLS + "] 1/2 01" in drawn
    assert drawn.endswith(f"{progress.CLEAR_LINE}checking: 2/2 done\n")
    assert capsys.readouterr().out == "result 01\nresult 02\n"


def test_tqdm_bar_counts_every_item(capsys: pytest.CaptureFixture[str]) -> None:
    term = FakeTerminal()
    seen = []
    for item in progress.track(range(3), "soak", stream=term, force="tqdm",
                               label=lambda i: f"batch {i}"):
        seen.append(item)
        progress.note(f"row {item}")
    assert seen == [0, 1, 2]
    assert "3/3" in term.getvalue() and "batch 2" in term.getvalue()
    assert capsys.readouterr().out.splitlines() == ["row 0", "row 1", "row 2"]


def test_exercises_list_reports_progress_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["exercises", "list"]) == 0
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert lines[0].startswith("checking 1/") and " 01 " in lines[0] + " "
    assert len(lines) == len([r for r in captured.out.splitlines() if r.startswith("  ")])
    assert "checking" not in captured.out                 # stdout stays the listing


def test_soak_batches_cover_every_seed_once() -> None:
    plan = soak.batches(7, 120, size=50)
    assert plan == [(7, 50), (57, 50), (107, 20)]
    seeds = [s for first, n in plan for s in range(first, first + n)]
    assert seeds == list(range(7, 127))


def test_soak_reports_each_batch(capsys: pytest.CaptureFixture[str]) -> None:
    done, ops, mismatches = soak.soak(0, 4, size=2)
    assert done == 4 and ops > 0 and mismatches == []
    err = capsys.readouterr().err
    assert err.splitlines() == ["soak 1/2: seeds 0-1", "soak 2/2: seeds 2-3"]
