"""Every test is in exactly one tier: the fast tier (``make test-fast``) or one of the
slow, kernel and browser tiers; ``make test`` runs them all (tests/tiers.py)."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.tiers import FAST_PROFILE, FAST_TIER, OTHER_TIERS, examples, sample

ROOT = Path(__file__).resolve().parents[1]

#: A pytest plugin for the collection below: every collected test with its markers, and
#: the ones the ``-m`` expression kept.
_PLUGIN = '''
import json, os
import pytest

_all = {}

@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    _all.update({i.nodeid: sorted({m.name for m in i.iter_markers()}) for i in items})

def pytest_collection_finish(session):
    with open(os.environ["MMAPLAB_TIERS_OUT"], "w") as fh:
        json.dump({"all": _all, "selected": [i.nodeid for i in session.items]}, fh)
'''


def _recipe(target: str) -> list[str]:
    """The recipe lines of a Makefile target, continuation lines joined."""
    text = (ROOT / "Makefile").read_text().replace("\\\n", " ")
    m = re.search(rf"^{re.escape(target)}:[^\n]*\n((?:\t[^\n]*\n)+)", text, re.M)
    assert m, f"no target {target} in the Makefile"
    return [line.strip() for line in m.group(1).splitlines()]


def _pytest_args(target: str) -> list[str]:
    (line,) = [ln for ln in _recipe(target) if "-m pytest" in ln]
    return shlex.split(line.split("-m pytest", 1)[1])


def misplaced(markers: dict[str, list[str]], fast: set[str]) -> list[str]:
    """Tests in no tier or in two: ``fast`` (what the fast tier selected) must be exactly
    the tests that carry none of the other tiers' markers."""
    bad = []
    for nodeid, names in markers.items():
        other = [n for n in names if n in OTHER_TIERS]
        if (nodeid in fast) == bool(other):
            where = f"fast and {other}" if other else "no tier"
            bad.append(f"{nodeid}: {where}")
    return bad


def test_make_test_runs_every_test() -> None:
    assert _pytest_args("test") == [], "make test must not select: it is the whole suite"


def test_make_test_fast_selects_the_fast_tier() -> None:
    args = _pytest_args("test-fast")
    assert args[args.index("-m") + 1] == FAST_TIER
    assert f"--hypothesis-profile={FAST_PROFILE}" in args


@pytest.mark.slow  # one collection of the whole suite in a subprocess
def test_every_test_is_in_exactly_one_tier(tmp_path: Path) -> None:
    (tmp_path / "tiers_probe.py").write_text(_PLUGIN)
    out = tmp_path / "tiers.json"
    env = dict(os.environ, MMAPLAB_TIERS_OUT=str(out),
               PYTHONPATH=os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]))
    args, rest = [], iter(_pytest_args("test-fast"))
    for a in rest:  # the same selection, in one process: no xdist options
        if a in ("-n", "--dist"):
            next(rest)
        else:
            args.append(a)
    proc = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q",
                           "-p", "tiers_probe", "-p", "no:xdist", *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    found = json.loads(out.read_text())
    assert len(found["all"]) > 1000 and found["selected"]
    bad = misplaced(found["all"], set(found["selected"]))
    assert not bad, f"{len(bad)} tests misplaced:\n  " + "\n  ".join(bad[:40])


def test_misplaced_finds_a_test_in_no_tier_and_one_in_two() -> None:
    markers = {"a": [], "b": ["slow"], "c": ["kernel", "parametrize"], "d": ["net"],
               "e": ["browser"]}
    assert misplaced(markers, {"a", "d"}) == []
    assert misplaced(markers, {"a"}) == ["d: no tier"]
    assert misplaced(markers, {"a", "d", "e"}) == ["e: fast and ['browser']"]


def test_sample_keeps_the_first_of_each_group_fast() -> None:
    cases = [("01", "ref"), ("01", "x"), ("01", "y"), ("02", "ref"), ("02", "x")]
    params = sample(cases, key=lambda c: c[0], ids=[f"{a}-{b}" for a, b in cases])
    slow = [[m.name for m in p.marks] == ["slow"] for p in params]
    assert slow == [False, True, True, False, True]
    assert [p.values for p in params] == cases and params[3].id == "02-ref"
    assert [bool(p.marks) for p in sample("abc", keep=2)] == [False, False, True]


def test_examples_scale_under_the_loaded_profile() -> None:
    from hypothesis import settings

    full = settings.default.max_examples >= 100
    assert examples(250) == (250 if full else 25)
    assert examples(20) == (20 if full else 5)
