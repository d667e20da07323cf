"""Every driver kit, the same checks: its SPEC is well formed, the harness finds no
undeclared difference between the legacy and the converted driver (every device
configuration), every mutant is caught, and no scenario crashes the harness."""

from __future__ import annotations

import pytest

from mmaplab.drivers import NAMES, config_specs, load_spec
from mmaplab.drivers.base import Scenario, exit_op
from mmaplab.lab import compare as C
from mmaplab.lab.scenario import run_scenario
from tests.tiers import sample

SPECS = [load_spec(name) for name in NAMES]
MUTANTS = [(spec, m) for spec in SPECS for m in spec.mutants]


def test_registry_lists_all_ten_kits() -> None:
    assert len(NAMES) == 10 and len(set(NAMES)) == 10
    for name in NAMES:
        spec = load_spec(name)
        assert spec.name == name and len(spec.scenarios) >= 8 and len(spec.mutants) >= 3
        assert spec.kernel_files and spec.kernel_version
    with pytest.raises(KeyError):
        load_spec("nosuchdriver")


@pytest.mark.parametrize("spec", SPECS, ids=NAMES)
def test_spec_shape(spec) -> None:
    assert len(spec.scenarios) >= 8
    assert len(spec.mutants) >= 3
    assert len({s.name for s in spec.scenarios}) == len(spec.scenarios)
    assert any(s.inject for s in spec.scenarios)
    kinds = {op.kind for s in spec.scenarios for op in s.ops}
    assert {"mmap", "munmap", "mprotect", "fork", "fault"} <= kinds
    for why in spec.intended.values():
        assert len(why) > 80
    assert spec.kernel_files and "v4" in spec.kernel_version


@pytest.mark.parametrize("name", NAMES)
def test_no_undeclared_difference(name: str) -> None:
    for sp in (load_spec(name), *config_specs(name)):
        report = C.compare(sp)
        assert report.ok, report.render()
        assert report.unused_intended == [], report.unused_intended


# Fast tier: each kit's first mutant.
@pytest.mark.parametrize(("spec", "mutant"), sample(
    MUTANTS, key=lambda sm: sm[0].name, ids=[f"{s.name}/{m.name}" for s, m in MUTANTS]))
def test_harness_catches_mutant(spec, mutant) -> None:
    report = C.mutant_report(spec, mutant)
    assert not report.ok, f"{spec.name}: mutant {mutant.name} is indistinguishable"
    assert report.undeclared
    # ... and against the legacy driver too, with the spec's declared differences
    make = mutant.reference or spec.make
    scenarios = mutant.scenarios() if mutant.scenarios is not None else spec.scenarios
    vs_legacy = C.compare((lambda: make("legacy"), mutant.make), scenarios, spec.intended,
                          defects=spec.defects)
    assert not vs_legacy.ok, (
        f"{spec.name}: mutant {mutant.name} hides behind intended differences")


# vme_user's converted driver oopses on purpose when the remap fails after insert (the
# bug of v4 as posted, pinned in test_vme_user.py); every other kit must run clean.
@pytest.mark.parametrize("name", [n for n in NAMES if n != "vme_user"])
def test_scenarios_and_exit_run_cleanly(name: str) -> None:
    # no scenario crashes the harness (a crash would be a model or driver bug)
    spec = load_spec(name)
    for s in (*spec.scenarios, Scenario("exit-only", (exit_op(),))):
        for v in ("legacy", "prepare"):
            for o in run_scenario(spec.make(v), s):
                assert not o.outcome.startswith(("crash", "HookError")), (name, s.name, o)


# Adding a scenario or a mutant to one kit is one edit by hand: the kit's spec.py (its
# SCENARIOS or its SPEC's scenarios) or its mutants.py (MUTANTS).  Nothing registers them
# anywhere else: the harness reads SPEC, and the kit's exercise builds its catalogue from
# SPEC.mutants.  These checks fail if a second list appears.
@pytest.mark.parametrize("name", NAMES)
def test_scenarios_and_mutants_are_read_from_the_kit_alone(name: str) -> None:
    import importlib

    from mmaplab.exercises import EXERCISES

    kit = importlib.import_module(f"mmaplab.drivers.{name}")
    spec = load_spec(name)
    assert spec.mutants == importlib.import_module(f"mmaplab.drivers.{name}.mutants").MUTANTS
    scenarios = getattr(importlib.import_module(f"mmaplab.drivers.{name}.spec"), "SCENARIOS",
                        spec.scenarios)
    assert spec.scenarios == scenarios and kit.SPEC is spec
    exercise = next((ex for ex in EXERCISES.values() if ex.driver == name), None)
    if exercise is None:
        return
    for m in spec.mutants:
        if m.answer and not set(m.answer) <= set(exercise.answer_names):
            continue  # a mistake in a function this exercise does not ask for
        assert m.name in exercise.misconceptions, (name, m.name)
