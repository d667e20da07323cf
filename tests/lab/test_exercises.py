"""The exercises: one source each, generated notebooks, verdicts from the package.

* every exercise has one source (``mmaplab/exercises/sources/NN_slug.py``) and its learner
  notebook is exactly what :func:`~mmaplab.exercises.notebook.generate` makes of it;
* the reference solution passes, the stub and every catalogued wrong answer fail, naming
  the misconception (through :func:`mmaplab.exercises.runner.evaluate`, the path the check
  cell and the CLI share);
* the stored outputs are true: every committed notebook, executed in a real Jupyter kernel
  under ``pytest --nbval`` with a cell timeout, produces exactly what it stores.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from mmaplab.exercises import EXERCISES, misconceptions, verify
from mmaplab.exercises.notebook import answer_cells, dumps, generate
from mmaplab.exercises.runner import evaluate
from mmaplab.exercises.source import SourceError, names, parse
from tests.tiers import sample

ROOT = Path(__file__).resolve().parents[2]
EXDIR = ROOT / "exercises"
PY = Path(sys.executable)
#: Per-cell timeout of the nbval run (a hook that never returns cannot hang the suite).
CELL_TIMEOUT = 60


def _catalogue() -> list[tuple[str, str, tuple[object, ...]]]:
    """Every kit mutant an exercise can be answered with: (nn, name, answer).  The concept
    exercises' kits (01-04) are driver-layer kits too: no whole-file wrong answers."""
    out = []
    for ex in EXERCISES.values():
        catalogue = ex.extra.get("catalogue")
        if catalogue is not None:
            out += [(ex.nn, name, answer) for name, answer in catalogue()]
    return out


CATALOGUE = _catalogue()


# -- one source per exercise ----------------------------------------------------------

def test_one_source_per_exercise() -> None:
    assert names() == [ex.name for ex in EXERCISES.values()]
    assert list(EXERCISES) == sorted(EXERCISES)
    assert not (EXDIR / "solutions").exists(), "the reference answers live in the sources"
    assert not (EXDIR / "wrong").exists(), "wrong answers are kit mutants, written once"
    for ex in EXERCISES.values():
        src = ex.source
        assert src.nn == ex.nn and src.title and len(src.hints) == 3 and all(src.hints)
        assert src.stub.strip() and src.solution.strip() and src.stub != src.solution
        assert "### " not in src.stub + src.solution, "markers must not reach a learner"
        assert f'check("{ex.nn}", {", ".join(ex.answer_names)})' in src.check


def test_every_driver_model_has_one_exercise_in_series_order() -> None:
    """One driver exercise per model in mmaplab.drivers.NAMES, numbered in learning order."""
    from mmaplab.drivers import NAMES

    drivers = [ex.driver for ex in EXERCISES.values() if ex.kind == "driver"]
    assert sorted(drivers) == sorted(NAMES)
    assert [ex.source.kit for ex in EXERCISES.values() if ex.kind == "driver"] == drivers
    concept = [ex.nn for ex in EXERCISES.values() if ex.kind == "concept"]
    assert concept and max(concept) < min(ex.nn for ex in EXERCISES.values()
                                          if ex.kind == "driver")


@pytest.mark.parametrize("nn", list(EXERCISES))
def test_each_reference_answer_is_written_once_in_the_kit(nn: str) -> None:
    """A source names its reference answer in the kit (``### SOLUTION: module:qualname``)
    and carries no solution text of its own: the solution a learner sees is the kit's own
    source of the objects the check compares against."""
    import importlib

    from mmaplab.exercises.source import kit_source

    ex = EXERCISES[nn]
    text = (ROOT / "mmaplab" / "exercises" / "sources" / f"{ex.name}.py").read_text()
    assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text
    objects = []
    for module, qualname in ex.source.solution_refs:
        assert module.startswith(f"mmaplab.drivers.{ex.slug}."), (module, ex.slug)
        obj: object = importlib.import_module(module)
        for part in qualname.split("."):
            obj = getattr(obj, part)
        objects.append(obj)
        assert kit_source(module, qualname) in ex.source.solution
    reference = ex.extra["reference_args"]()
    assert all(any(r is o for o in objects) for r in reference), (reference, objects)


@pytest.mark.parametrize("nn", list(EXERCISES))
def test_source_links_a_chapter_that_exists(nn: str) -> None:
    chapter = EXERCISES[nn].source.chapter
    assert chapter and (ROOT / f"{chapter}.py").exists(), chapter


_GOOD = """# ---
# jupyter:
#   mmaplab:
#     exercise: "99"
#     title: "t"
#     catalogue: x
# ---

# %% [markdown]
# prose

# %% tags=["setup"]
import errno

# %% tags=["answer"]
### SOLUTION: mmaplab.drivers.pick_action.model:regs_mmap_prepare
### BEGIN STUB
def regs_mmap_prepare(desc):
    return 0
### END STUB

# %% tags=["check"]
check("99", regs_mmap_prepare)
""" + "".join(f"\n# %% [markdown] tags=[\"hint\"]\n# hint {i}\n" for i in (1, 2, 3))


def test_source_format_solution_and_stub_versions() -> None:
    src = parse(_GOOD, "99_t")
    assert src.solution_refs == [("mmaplab.drivers.pick_action.model", "regs_mmap_prepare")]
    assert src.solution.startswith("def regs_mmap_prepare(desc):\n    dev = desc.file.")
    assert "type: ignore" not in src.solution and "VmAreaDesc" not in src.solution
    assert src.stub == "def regs_mmap_prepare(desc):\n    return 0"
    assert src.hints == ("hint 1", "hint 2", "hint 3")
    assert [c.role for c in src.cells if c.role != "hint"] == ["prose", "setup", "answer",
                                                                "check"]


@pytest.mark.parametrize(("edit", "message"), [
    (lambda t: t.replace("### BEGIN STUB\n", "### BEGIN SOLUTION\n    pass\n### END SOLUTION\n"
                         "### BEGIN STUB\n"), "written once, in the kit"),
    (lambda t: t.replace("### SOLUTION: mmaplab.drivers.pick_action.model:regs_mmap_prepare\n",
                         ""), "names no"),
    (lambda t: t.replace("### END STUB\n", ""), "never ended"),
    (lambda t: t.replace('# %% tags=["check"]', '# %% tags=["other"]'), "exactly one tag"),
    (lambda t: t.rsplit('# %% [markdown] tags=["hint"]', 1)[0], "three hint cells"),
    (lambda t: t.replace('#     exercise: "99"\n', ""), "no 'exercise'"),
    (lambda t: t.replace("# %% [markdown]\n# prose", "# %%[markdown]\n# prose"), "unreadable"),
])
def test_source_format_errors_name_the_problem(edit, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SourceError, match=message):
        parse(edit(_GOOD), "99_t")


# -- generated notebooks ------------------------------------------------------------------

@pytest.mark.parametrize("nn", list(EXERCISES))
def test_committed_notebook_is_generated_from_its_source(nn: str) -> None:
    """`make exercises` output is what is committed (a stale notebook fails here)."""
    ex = EXERCISES[nn]
    committed = (EXDIR / f"{ex.name}.ipynb").read_text(encoding="utf-8")
    assert committed == dumps(generate(ex)), f"{ex.name}.ipynb is stale: run `make exercises`"


@pytest.mark.parametrize("nn", list(EXERCISES))
def test_notebook_stores_the_stubs_real_failure(nn: str) -> None:
    ex = EXERCISES[nn]
    nb = json.loads((EXDIR / f"{ex.name}.ipynb").read_text(encoding="utf-8"))
    (answer,) = answer_cells(nb)
    assert answer["source"] == ex.stub and answer["outputs"] == []
    checks = [c for c in nb["cells"] if "check" in c["metadata"].get("tags", [])]
    assert len(checks) == 1 and checks[0]["metadata"]["editable"] is False
    text = "".join(o["text"] for o in checks[0]["outputs"])
    assert text.startswith(f"Exercise {nn} ({ex.slug}) is not solved yet.")
    assert "✔" not in text
    assert max(len(line) for line in text.splitlines()) <= 100
    solution = [c for c in nb["cells"] if c["cell_type"] == "markdown"
                and c["source"].startswith("<details>")]
    assert len(solution) == 1 and ex.source.solution in solution[0]["source"]
    assert "<details open" not in solution[0]["source"]


# -- verdicts ----------------------------------------------------------------------------

@pytest.mark.parametrize("nn", list(EXERCISES))
def test_solution_passes(nn: str) -> None:
    ex = EXERCISES[nn]
    r = evaluate(nn, ex.source.solution)
    assert r.passed, r.text
    assert r.text.startswith("✔ ") and ex.label in r.text and r.requests > 0


@pytest.mark.parametrize("nn", list(EXERCISES))
def test_stub_fails(nn: str) -> None:
    r = evaluate(nn, EXERCISES[nn].stub)
    assert not r.passed
    assert "is not solved yet" in r.text and "Misconception [" in r.text


@pytest.mark.parametrize("nn", [nn for nn, ex in EXERCISES.items() if ex.kind == "driver"])
def test_driver_exercise_names_the_driver_models_mutants(nn: str) -> None:
    import importlib

    ex = EXERCISES[nn]
    spec = importlib.import_module(f"mmaplab.drivers.{ex.driver}").SPEC
    known = misconceptions(nn)
    # Every mutant of the kit that is a mistake in this exercise's functions (or a
    # harness-only one, without an answer) can be named.
    mine = [m for m in spec.mutants if not m.answer or set(m.answer) <= set(ex.answer_names)]
    assert mine and all(m.name in known for m in mine)


def test_every_exercise_has_a_catalogue_of_five() -> None:
    """At least five realistic wrong answers per exercise, all kit mutants."""
    for ex in EXERCISES.values():
        wrong = [name for nn, name, _ in CATALOGUE if nn == ex.nn]
        assert len(wrong) >= 5, f"{ex.name}: only {len(wrong)} catalogued wrong answers"
        for mid in wrong:
            assert mid in misconceptions(ex.nn), f"{ex.name}: {mid} is not catalogued"


# Fast tier: each exercise's first catalogued mutant.
@pytest.mark.parametrize(("nn", "name", "answer"), sample(
    CATALOGUE, key=lambda c: c[0], ids=[f"{nn}-{name}" for nn, name, _ in CATALOGUE]))
def test_catalogued_mutant_is_rejected_and_named(nn: str, name: str,
                                                 answer: tuple[object, ...]) -> None:
    """Each wrong conversion of the exercise's driver kit, fed to the check as the answer,
    is rejected, and the diagnosis names that mutant's misconception."""
    n, failure = verify(nn, *answer)
    assert failure is not None, f"{nn}: the mutant {name} was accepted ({n} requests)"
    assert failure.misconception == name, str(failure)
    assert f"Misconception [{name}]" in str(failure)
    assert "Request " in str(failure)
    lines = str(failure).splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith(f"Misconception [{name}]"))
    title = lines[at].split("]: ", 1)[1].rstrip(".")
    assert not lines[at + 1].strip().startswith(title), "the title is printed twice"


def test_sanitizer_rejects_an_answer_whose_requests_all_match() -> None:
    """Exercises run sanitized by default: a hook that keeps a descriptor and reads it in a
    later mmap behaves like the reference on every request, yet is rejected (a
    stack-use-after-return, as KASAN would report it)."""
    src = EXERCISES["02"].source.solution
    assert "    desc.vm_ops = trk_vm_ops\n" in src
    src = src.replace("    desc.vm_ops = trk_vm_ops\n",
                      "    desc.vm_ops = trk_vm_ops\n    KEPT.append(desc)\n")
    src = src.replace("def trk_mapped(start, end, pgoff, file, vm_private_data):\n",
                      "KEPT = []\n\n\ndef trk_mapped(start, end, pgoff, file, vm_private_data):\n"
                      "    if len(KEPT) > 1:\n"
                      "        _ = KEPT[-2].pgoff  # the descriptor of an earlier mmap\n")
    r = evaluate("02", src)
    assert not r.passed, r.text
    assert r.misconception == "sanitizer", r.text
    assert "the sanitizer reports" in r.text


def test_a_python_mistake_in_the_hook_is_reported_at_its_line() -> None:
    """A typo is not a misconception: the learner sees the exception, the line number and
    the line itself."""
    src = EXERCISES["05"].source.solution.replace("desc.page_prot)", "desc.page_prott)", 1)
    r = evaluate("05", src)
    assert not r.passed and r.misconception is None
    assert r.crash is not None and r.crash.exc_type == "AttributeError" and r.crash.own
    line = next(i for i, t in enumerate(src.splitlines(), 1) if "page_prott" in t)
    assert r.crash.lineno == line
    assert (f"your hook raised AttributeError: 'VmAreaDesc' object has no attribute "
            f"'page_prott'\n  at line {line} of the answer cell: desc.page_prot = ") in r.text
    assert "Misconception" not in r.text


def test_a_missing_import_is_reported_at_its_line() -> None:
    src = EXERCISES["05"].source.solution.replace("mmap_action_simple_ioremap(",
                                                  "mmap_action_simple_iorenap(")
    r = evaluate("05", src)
    assert r.crash is not None and r.crash.exc_type == "NameError"
    assert "mmap_action_simple_iorenap(desc" in r.crash.line and "Misconception" not in r.text



def test_a_positive_errno_is_a_bad_return_value_named_under_the_callbacks_own_hook() -> None:
    """C's `return ENODEV;` (an errno not negated) in exercise 13's ring callback, which
    the vmbus wrapper calls itself: the report names the callback (a HookPointer), and the
    diagnosis is the return value, not the order of the checks."""
    src = EXERCISES["13"].source.solution
    assert "return -errno.ENODEV" in src
    r = evaluate("13", src.replace("return -errno.ENODEV", "return errno.ENODEV"))
    assert not r.passed and r.misconception == "bad-return-value", r.text
    text = " ".join(r.text.split())  # as one line: the report is wrapped at 100 columns
    assert "vmbus_channel.ring->mmap_prepare: returned 19 (ENODEV?)" in text
    assert "never errno.ENODEV" in text  # the diagnosis's own hint, not hint 1

# -- stored outputs are true ---------------------------------------------------------------

@pytest.fixture(scope="session")
def nbval_exercises(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """``{notebook stem: failure text}`` of ``pytest --nbval`` over the committed exercise
    notebooks (two processes, once per session; "" = every cell reproduced its output)."""
    tmp = tmp_path_factory.mktemp("nbval")
    paths = sorted(EXDIR.glob("[0-9][0-9]_*.ipynb"))
    env = dict(os.environ, PATH=f"{PY.parent}{os.pathsep}{os.environ.get('PATH', '')}")
    procs = []
    for i, half in enumerate((paths[0::2], paths[1::2])):
        cmd = [str(PY), "-m", "pytest", "--nbval", f"--nbval-cell-timeout={CELL_TIMEOUT}",
               "-p", "no:cacheprovider", "-q", f"--junitxml={tmp / f'junit{i}.xml'}",
               *map(str, half)]
        procs.append(subprocess.Popen(cmd, cwd=EXDIR, env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT))
    logs = [p.communicate(timeout=900)[0].decode(errors="replace") for p in procs]
    results = {p.stem: "" for p in paths}
    seen: set[str] = set()
    for i in range(len(procs)):
        xml = tmp / f"junit{i}.xml"
        assert xml.exists(), logs[i][-3000:]
        for case in ET.parse(xml).getroot().iter("testcase"):
            where = (case.get("classname") or "") + (case.get("file") or "")
            stem = next((p.stem for p in paths if p.stem in where), None)
            assert stem is not None, where
            seen.add(stem)
            bad = case.find("failure")
            bad = bad if bad is not None else case.find("error")
            if bad is not None:
                results[stem] += (bad.get("message") or "") + (bad.text or "")
    assert seen == set(results), f"nbval reported nothing for {set(results) - seen}"
    return results


@pytest.mark.kernel
@pytest.mark.parametrize("nn", list(EXERCISES))
def test_stored_outputs_are_what_the_notebook_produces(nbval_exercises, nn: str) -> None:
    text = nbval_exercises[EXERCISES[nn].name]
    assert text == "", text[-3000:]
