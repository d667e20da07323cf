"""What the harness reports for particular kits: the declared differences, and that reports
are deterministic."""

from __future__ import annotations

import re

from mmaplab.drivers import (
    afs,
    hpet,
    mtdchar,
    open_dice,
    stm,
    target_core_user,
)
from mmaplab.kernel.page_alloc import reset_allocator
from mmaplab.lab import compare as C


def test_declared_differences_are_the_expected_ones() -> None:
    assert {d.key for d, _ in C.compare(afs.SPEC).intended} == {"hooks"}
    assert C.compare(open_dice.SPEC).intended == []
    assert C.compare(hpet.SPEC).intended == []
    md = C.compare(mtdchar.SPEC).intended
    assert [(d.key, d.legacy, d.prepare) for d, _ in md] == [("errno", "-ENOMEM", "-ENODEV")]
    st = C.compare(stm.SPEC)
    fail = [d for d, _ in st.intended if d.scenario == "remap-fails-after-hook"]
    keys = {d.key: d for d in fail}
    assert keys["errno"].legacy == "0x7f0000000000" and keys["errno"].prepare == "-ENOMEM"
    # the PM imbalance is a defect of the upstream conversion, not an intention
    bugs = {d.key: d for d, _ in st.defects if d.scenario == "remap-fails-after-hook"}
    assert "state:pm_underflows" not in keys
    assert (bugs["state:pm_underflows"].legacy, bugs["state:pm_underflows"].prepare) == (
        "0", "1")
    # only vme_user and stm have defects of the upstream conversion
    from mmaplab.drivers import NAMES, load_spec
    assert {n for n in NAMES if load_spec(n).defects} == {"stm", "vme_user"}


def test_mutant_reports_are_deterministic() -> None:
    m = stm.SPEC.mutants[0]
    assert C.mutant_report(stm.SPEC, m).render() == C.mutant_report(stm.SPEC, m).render()


def test_reports_are_deterministic() -> None:
    reset_allocator()
    a = C.compare(target_core_user.SPEC).render()
    b = C.compare(target_core_user.SPEC).render()
    assert a == b and "tcmu_vm_ops->mapped" in a
    assert re.search(r"<[^>]* at 0x[0-9a-f]+>", a) is None  # no default object reprs
