"""The exercises accept the reference answers and reject the stubs and every catalogued mistake.

Two layers:

* fast, in-process: each answer source (solution, stub, ``exercises/wrong/*.py``) is run
  through :func:`mmaplab.exercises._source.evaluate_answer` — the same setup/answer/check
  cells the notebook has — and a wrong answer must fail naming its catalogued
  misconception (the file name ``NN_<slug>__<misconception>.py``);
* the real path: ``pytest --nbval`` on temporary copies of the notebooks (reference answer
  injected / untouched stub / each wrong answer injected), batched into two parallel
  pytest runs whose per-notebook results are read from JUnit XML.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from mmaplab.exercises import EXERCISES, misconceptions
from mmaplab.exercises._notebook import answer_cells, set_answer, template
from mmaplab.exercises._source import evaluate_answer

ROOT = Path(__file__).resolve().parents[2]
EXDIR = ROOT / "exercises"
PY = Path(sys.executable)
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _wrong_answers() -> list[tuple[str, Path, str]]:
    out = []
    for ex in EXERCISES.values():
        for path in sorted((EXDIR / "wrong").glob(f"{ex.name}__*.py")):
            out.append((ex.nn, path, path.stem.split("__", 1)[1]))
    return out


WRONG = _wrong_answers()


def _id(x: object) -> str:
    return x.stem if isinstance(x, Path) else str(x)


# -- layout -------------------------------------------------------------------------

def test_catalogue_shape() -> None:
    assert len(EXERCISES) >= 3
    assert list(EXERCISES) == sorted(EXERCISES)
    for ex in EXERCISES.values():
        assert (EXDIR / f"{ex.name}.ipynb").exists(), ex.name
        assert (EXDIR / "solutions" / f"{ex.name}.py").exists(), ex.name
        wrong = [w for w in WRONG if w[0] == ex.nn]
        assert len(wrong) >= 2, f"{ex.name}: only {len(wrong)} catalogued wrong answers"
        for _, _, mid in wrong:
            assert mid in misconceptions(ex.nn), f"{ex.name}: {mid} is not catalogued"
        assert len(ex.hints) == 3 and all(ex.hints)


def test_every_driver_model_has_one_exercise_in_series_order() -> None:
    """One driver exercise per model in mmaplab.drivers.NAMES, numbered in learning order."""
    from mmaplab.drivers import NAMES

    drivers = [ex.driver for ex in EXERCISES.values() if ex.kind == "driver"]
    assert sorted(drivers) == sorted(NAMES)
    assert len(set(drivers)) == len(drivers)
    concept = [ex.nn for ex in EXERCISES.values() if ex.kind == "concept"]
    assert concept and max(concept) < min(ex.nn for ex in EXERCISES.values()
                                          if ex.kind == "driver")


@pytest.mark.parametrize("nn", [nn for nn, ex in EXERCISES.items() if ex.kind == "driver"])
def test_driver_exercise_names_the_driver_models_mutants(nn: str) -> None:
    """Each driver exercise can name every mutant of its model, and at least two of its
    catalogued wrong answers carry a misconception of their own (not a generic one)."""
    import importlib

    ex = EXERCISES[nn]
    spec = importlib.import_module(f"mmaplab.drivers.{ex.driver}").SPEC
    names = misconceptions(nn)
    assert all(m.name in names for m in spec.mutants)
    own = [mid for n, _, mid in WRONG if n == nn and mid not in (
        "behaviour-differs", "no-action", "vm-ops-not-set", "bad-return-value")]
    assert len(own) >= 2, own


@pytest.mark.parametrize("nn", list(EXERCISES))
def test_notebook_holds_the_stub_and_the_passing_verdict(nn: str) -> None:
    ex = EXERCISES[nn]
    nb = json.loads((EXDIR / f"{ex.name}.ipynb").read_text(encoding="utf-8"))
    answers = answer_cells(nb)
    assert len(answers) == 1
    src = answers[0]["source"]
    assert ("".join(src) if isinstance(src, list) else src) == ex.stub.rstrip("\n")
    assert answers[0]["outputs"] == []
    checks = [c for c in nb["cells"] if "check" in c["metadata"].get("tags", [])]
    assert checks and all(c["execution_count"] for c in checks)
    text = "".join("".join(o["text"]) for c in checks for o in c["outputs"])
    assert text.startswith("✔ ") and f"({ex.label})" in text
    # What reset writes is what is stored (same cells, same outputs).
    assert [c["source"] for c in template(ex)["cells"]] == [
        "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
        for c in nb["cells"]]


# -- fast, in-process ---------------------------------------------------------------

@pytest.mark.parametrize("nn", list(EXERCISES))
def test_solution_passes_in_process(nn: str) -> None:
    ex = EXERCISES[nn]
    out = evaluate_answer(nn, (EXDIR / "solutions" / f"{ex.name}.py").read_text())
    assert out.passed, out.output
    assert out.output.startswith("✔ ") and ex.label in out.output


@pytest.mark.parametrize("nn", list(EXERCISES))
def test_stub_fails_in_process(nn: str) -> None:
    out = evaluate_answer(nn, EXERCISES[nn].stub)
    assert not out.passed
    assert "is not solved yet" in out.output and "Misconception [" in out.output


@pytest.mark.parametrize(("nn", "path", "mid"), WRONG, ids=_id)
def test_wrong_answer_names_its_misconception(nn: str, path: Path, mid: str) -> None:
    out = evaluate_answer(nn, path.read_text())
    assert not out.passed, f"{path.name} was accepted:\n{out.output}"
    assert out.misconception == mid, out.output
    assert f"Misconception [{mid}]" in out.output
    # The message is self-contained: the request, what was expected, what happened.
    assert "Request " in out.output or "answer cell" in out.output


# -- through pytest --nbval -----------------------------------------------------------

def _run_nbval(paths: list[Path], xml: Path, cwd: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PATH=f"{PY.parent}{os.pathsep}{os.environ.get('PATH', '')}")
    cmd = [str(PY), "-m", "pytest", "--nbval", "-p", "no:cacheprovider", "-q",
           f"--junitxml={xml}", *map(str, paths)]
    return subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)


@pytest.fixture(scope="module")
def nbval_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[bool, str]]:
    """``{notebook stem: (all cells passed, failure text)}`` for every variant."""
    tmp = tmp_path_factory.mktemp("nbval")
    paths = []
    for ex in EXERCISES.values():
        nb = json.loads((EXDIR / f"{ex.name}.ipynb").read_text(encoding="utf-8"))
        variants = {"solution": (EXDIR / "solutions" / f"{ex.name}.py").read_text(),
                    "stub": None}
        for nn, path, mid in WRONG:
            if nn == ex.nn:
                variants[f"wrong-{mid}"] = path.read_text()
        for tag, source in variants.items():
            p = tmp / f"{ex.name}__{tag}.ipynb"
            p.write_text(json.dumps(nb if source is None else set_answer(nb, source)))
            paths.append(p)
    halves = [paths[0::2], paths[1::2]]
    procs = [_run_nbval(h, tmp / f"junit{i}.xml", tmp) for i, h in enumerate(halves) if h]
    logs = [p.communicate(timeout=600)[0].decode(errors="replace") for p in procs]
    results: dict[str, tuple[bool, str]] = {p.stem: (True, "") for p in paths}
    seen: set[str] = set()
    for i in range(len(procs)):
        xml = tmp / f"junit{i}.xml"
        assert xml.exists(), logs[i][-3000:]
        for case in ET.parse(xml).getroot().iter("testcase"):
            stem = Path(case.get("classname", "").replace(".", "/")).name or case.get("name", "")
            stem = next((p.stem for p in paths if p.stem in (case.get("classname") or "")
                         or p.stem in (case.get("file") or "")), stem)
            seen.add(stem)
            bad = case.find("failure") if case.find("failure") is not None else \
                case.find("error")
            if bad is not None:
                text = ANSI.sub("", (bad.get("message") or "") + (bad.text or ""))
                results[stem] = (False, results[stem][1] + text)
    missing = set(results) - seen
    assert not missing, f"nbval reported nothing for {sorted(missing)}:\n{logs[0][-2000:]}"
    return results


@pytest.mark.kernel
@pytest.mark.slow
@pytest.mark.parametrize("nn", list(EXERCISES))
def test_nbval_accepts_the_reference_answer(nbval_results, nn: str) -> None:
    ok, text = nbval_results[f"{EXERCISES[nn].name}__solution"]
    assert ok, text[-3000:]


@pytest.mark.kernel
@pytest.mark.slow
@pytest.mark.parametrize("nn", list(EXERCISES))
def test_nbval_rejects_the_untouched_stub(nbval_results, nn: str) -> None:
    ok, text = nbval_results[f"{EXERCISES[nn].name}__stub"]
    assert not ok
    assert "ExerciseFailed" in text and "Misconception [" in text


@pytest.mark.kernel
@pytest.mark.slow
@pytest.mark.parametrize(("nn", "path", "mid"), WRONG, ids=_id)
def test_nbval_rejects_the_wrong_answer(nbval_results, nn: str, path: Path, mid: str) -> None:
    ok, text = nbval_results[f"{EXERCISES[nn].name}__wrong-{mid}"]
    assert not ok, f"{path.name} passed pytest --nbval"
    assert f"Misconception [{mid}]" in text, text[-3000:]


def test_sanitizer_rejects_an_answer_whose_requests_all_match() -> None:
    """Exercises run sanitized by default: a hook that keeps a descriptor and reads it in a
    later mmap behaves like the reference on every request, yet is rejected (a
    stack-use-after-return, as KASAN would report it)."""
    src = (EXDIR / "solutions" / "02_mapped_refcount.py").read_text()
    src = src.replace("    desc.vm_ops = trk_vm_ops\n",
                      "    desc.vm_ops = trk_vm_ops\n    KEPT.append(desc)\n")
    src = src.replace("def trk_mapped(start, end, pgoff, file, vm_private_data):\n",
                      "KEPT = []\n\n\ndef trk_mapped(start, end, pgoff, file, vm_private_data):\n"
                      "    if len(KEPT) > 1:\n"
                      "        _ = KEPT[-2].pgoff  # the descriptor of an earlier mmap\n")
    out = evaluate_answer("02", src)
    assert not out.passed, out.output
    assert out.misconception == "sanitizer", out.output
    assert "the sanitizer reports" in out.output
