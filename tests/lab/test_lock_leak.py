"""A driver lock leaked on an error path is a catalogued mistake (issue #11).

vme_user's ``vme_user_master_mmap_prepare()`` takes ``image[minor].mutex`` around
``vme_master_mmap_prepare()``; the kit's mutant ``unlock-missing-on-error`` returns that
call's error without the ``mutex_unlock()``.  The model reports the lock as
``lockdep_sys_exit()`` does, on the failing call too (``mm.lock_leaks``); the lab observes
it (``Observation.locks``, ``Facts.locks_leaked``), the diagnosis names the rule
``lock-leaked``, and exercise 10's check names the lock, the mutant and its hint.
"""

from __future__ import annotations

from mmaplab.drivers.vme_user import SPEC
from mmaplab.exercises import EXERCISES, verify
from mmaplab.lab.compare import mutant_report
from mmaplab.lab.diagnose import RULES
from mmaplab.lab.scenario import quiet_lockdep, run_case

NAME = "unlock-missing-on-error"
MUTANT = next(m for m in SPEC.mutants if m.name == NAME)


def test_the_mutant_is_written_once_in_the_kit_and_breaks_the_lock_rule() -> None:
    assert MUTANT.breaks == "lock-leaked" and set(MUTANT.answer) == {
        "vme_user_master_mmap_prepare"}
    assert "image[minor].mutex" in MUTANT.misconception


def test_the_run_reports_the_lock_on_the_failing_request() -> None:
    too_big = next(s for s in SPEC.scenarios if s.name == "too-big")
    with quiet_lockdep():
        ref = run_case(lambda: SPEC.make("prepare"), too_big)
        got = run_case(MUTANT.make, too_big)
    assert ref[0].result == got[0].result == "-EFAULT"
    assert ref[0].locks == () and ref[0].facts.locks_leaked == ()
    assert got[0].locks == ("&image[0].mutex (taken for write in vme_user_master_mmap_prepare)"
                            " held as vm_mmap_pgoff returns -EFAULT",)
    assert got[0].facts.locks_leaked == ("&image[0].mutex",)


def test_the_harness_tells_it_apart_by_the_lock() -> None:
    report = mutant_report(SPEC, MUTANT)
    keys = {d.key for d in report.differences}
    assert "locks" in keys, keys


def test_the_check_rejects_it_naming_the_lock_the_mistake_and_its_hint() -> None:
    ex = EXERCISES["10"]
    answer = dict(ex.extra["catalogue"]())[NAME]
    _, failure = verify("10", *answer)
    assert failure is not None and failure.misconception == NAME
    text = str(failure)
    assert "Request 1 differs in the locks held on return:" in text
    assert "&image[0].mutex (taken for write in vme_user_master_mmap_prepare)" in text
    assert f"Hint: {RULES['lock-leaked'].hint}" in text
