"""Every state knob of an exercise's device changes what the reference does in some case,
and each such case says which rule of the contract it pins.

A knob is a keyword-only parameter of the constructor of the exercise's device class
(``extra["devices"]``), or state an operation sets that a case names (``DriverCase.knobs``).
Each knob is set by a case, or declared in the exercise's ``fixed_knobs`` with the reason
it is not one here.  A case that sets knobs runs its scenarios on the reference and on the
default device (``baseline``): the runs must differ, or the knob pins nothing.
"""

from __future__ import annotations

import inspect

import pytest

from mmaplab.exercises import EXERCISES
from mmaplab.lab.diagnose import RULES
from mmaplab.lab.scenario import quiet_lockdep, run_case


def _knobs(cls: type) -> set[str]:
    return {p.name for p in inspect.signature(cls.__init__).parameters.values()
            if p.kind is inspect.Parameter.KEYWORD_ONLY}


@pytest.mark.parametrize("nn", list(EXERCISES))
def test_every_knob_of_the_device_is_set_by_a_case_or_declared(nn: str) -> None:
    ex = EXERCISES[nn]
    knobs = set().union(*(_knobs(d) for d in ex.extra["devices"]()))
    fixed = ex.extra["fixed_knobs"]
    set_by_cases = {k for dc in ex.extra["driver_cases"]() for k in dc.knobs}
    assert knobs - set_by_cases - set(fixed) == set(), (
        f"{ex.name}: no case sets {sorted(knobs - set_by_cases - set(fixed))}")
    assert set(fixed) <= knobs, f"{ex.name}: fixed_knobs names no knob: {set(fixed) - knobs}"
    assert all(len(why) > 30 for why in fixed.values())


def _observed(make, scenario):  # type: ignore[no-untyped-def]
    with quiet_lockdep():
        return [(s.result, s.state, s.maps, s.ptes) for s in run_case(make, scenario)]


@pytest.mark.parametrize("nn", list(EXERCISES))
def test_each_knob_case_changes_the_reference_and_names_its_rule(nn: str) -> None:
    ex = EXERCISES[nn]
    import importlib

    mod = importlib.import_module(f"mmaplab.drivers.{ex.slug}")
    for dc in ex.extra["driver_cases"]():
        if not dc.knobs:
            continue
        assert dc.pins in RULES, f"{ex.name} / {dc.name}: pins {dc.pins!r}, not a rule"
        assert dc.baseline is not None, f"{ex.name} / {dc.name}: no baseline"
        scenarios = dc.scenarios if dc.scenarios is not None else mod.SPEC.scenarios
        changed = [s.name for s in scenarios
                   if _observed(dc.reference, s) != _observed(dc.baseline, s)]
        assert changed, f"{ex.name} / {dc.name}: the knobs {dict(dc.knobs)} change nothing"
