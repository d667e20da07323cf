"""Unit tests of the equivalence harness (mmaplab.lab.compare)."""

from __future__ import annotations

import errno
from typing import Any

import pytest

from mmaplab import PAGE_SIZE, PROT_READ, PROT_WRITE
from mmaplab.drivers.base import Driver, Scenario, fork_op, mmap_op, munmap_op
from mmaplab.kernel.fs import File, FileOperations, FMode, Inode
from mmaplab.kernel.mm_types import VmOperationsStruct
from mmaplab.kernel.mmap_action import mmap_action_remap_full
from mmaplab.kernel.pgtable import pgprot_noncached
from mmaplab.lab import compare as C
from mmaplab.lab.scenario import run_scenario

PHYS_PFN = 0xE0000


class Toy(Driver):
    """A PFN-mapping toy device whose behaviour the tests perturb with knobs."""

    name = "toy"

    def __init__(self, variant: str = "prepare", *, reject: int = 0, pfn_shift: int = 0,
                 count: bool = False, noncached: bool = True) -> None:
        super().__init__(variant)
        self.reject, self.pfn_shift, self.noncached = reject, pfn_shift, noncached
        self.users = 0
        ops = VmOperationsStruct(name="toy_vm_ops", open=self._open, close=self._close,
                                 mapped=self._mapped) if count else None
        self.vm_ops = ops
        self.inode = Inode("/dev/toy", 0, dev=(240, 0))
        self.fops = FileOperations(name="toy_fops", mmap_prepare=self.prepare)

    def open(self, mode: FMode = FMode.READ | FMode.WRITE) -> File:
        return File(self.inode, self.fops, mode)

    def observe(self) -> dict[str, Any]:
        return {"users": self.users}

    def prepare(self, desc):
        if self.reject:
            return -self.reject
        if self.noncached:
            desc.page_prot = pgprot_noncached(desc.page_prot)
        desc.vm_ops = self.vm_ops
        mmap_action_remap_full(desc, PHYS_PFN + self.pfn_shift + desc.pgoff)
        return 0

    def _mapped(self, start, end, pgoff, file, priv):
        self.users += 1
        return 0

    def _open(self, vma):
        self.users += 1

    def _close(self, vma):
        self.users -= 1


SCEN = (Scenario("map", (mmap_op(0, 2, PROT_READ | PROT_WRITE), munmap_op(1, 1))),
        Scenario("fork", (mmap_op(0, 1), fork_op())))


def test_identical_pair_reports_nothing() -> None:
    r = C.compare((Toy, Toy), SCEN)
    assert r.ok and r.differences == [] and r.intended == []
    assert "undeclared differences: none" in r.render()


def test_errno_difference_has_errno_key_and_explains_both_sides() -> None:
    r = C.compare((Toy, lambda: Toy(reject=errno.EPERM)), SCEN[:1])
    assert not r.ok
    first = r.undeclared[0]
    assert (first.key, first.scenario, first.op_index) == ("errno", "map", 0)
    assert (first.legacy, first.prepare) == ("0x7f0000000000", "-EPERM")
    text = first.explain()
    assert "failed with -EPERM" in text and "succeeded at 0x7f0000000000" in text


def test_pfn_arithmetic_difference_is_a_pte_difference() -> None:
    r = C.compare((Toy, lambda: Toy(pfn_shift=1)), SCEN[:1])
    keys = {d.key for d in r.undeclared}
    assert "pte" in keys and "errno" not in keys and "flags" not in keys
    pte = next(d for d in r.undeclared if d.key == "pte")
    assert "0xe0000" in pte.legacy and "0xe0001" in pte.prepare


def test_prot_difference_is_page_prot_and_pte() -> None:
    r = C.compare((Toy, lambda: Toy(noncached=False)), SCEN[:1])
    keys = {d.key for d in r.undeclared}
    assert {"page_prot", "pte"} <= keys and "errno" not in keys


def test_state_difference_is_per_field_and_explained() -> None:
    # count=True counts mappings; a driver without vm_ops leaves users at 0.
    r = C.compare((lambda: Toy(count=True), Toy), SCEN)
    state = [d for d in r.undeclared if d.key == "state:users"]
    assert state and state[0].op_index == 0
    assert "left users = 1 but the converted driver left 0" in state[0].explain()
    hooks = next(d for d in r.undeclared if d.key == "hooks")
    assert "toy_vm_ops->mapped" in hooks.legacy and hooks.prepare == "nothing"
    # the fork child's copy is opened by one and not the other
    fork_keys = {d.key for d in r.undeclared if d.scenario == "fork"}
    assert "child_vm_ops" in fork_keys


def test_intended_by_key_family_scenario_and_at() -> None:
    make = (lambda: Toy(count=True), Toy)
    for decl in ({"state": "x", "hooks": "y", "vm_ops": "z", "child_vm_ops": "w"},):
        r = C.compare(make, SCEN[:1], intended=decl)
        assert r.ok, r.render()
        assert {why for _, why in r.intended} <= {"x", "y", "z", "w"}
    r = C.compare(make, SCEN, intended={"map": "scenario-wide"})
    assert all(d.scenario == "fork" for d in r.undeclared) and r.undeclared
    r = C.compare(make, SCEN, intended={"state:users@fork": "only there", "unused": "?"})
    assert any(d.key == "state:users" and d.scenario == "map" for d in r.undeclared)
    assert not any(d.key == "state:users" and d.scenario == "fork" for d in r.undeclared)
    assert r.unused_intended == ["unused"]


def test_defects_are_a_third_category_rendered_apart() -> None:
    make = (lambda: Toy(count=True), Toy)
    moved = {"hooks": "moved", "vm_ops": "moved", "child_vm_ops": "moved"}
    r = C.compare(make, SCEN, intended=moved,
                  defects={"state@fork": "drops a count", "state:users@map": "leaks"})
    assert r.ok, r.render()
    bugs = {(d.scenario, d.key): why for d, why in r.defects}
    assert bugs[("map", "state:users")] == "leaks" and bugs[("fork", "state:users")] == (
        "drops a count")
    # what is a defect is not also counted as intended, and vice versa
    assert not {(d.scenario, d.key) for d, _ in r.intended} & set(bugs)
    assert all(why == "moved" for _, why in r.intended) and r.intended
    text = r.render()
    assert "DEFECTS of the upstream conversion (" in text and "bug: leaks" in text
    assert text.index("DEFECTS") < text.index("intended differences")
    # the more specific key wins across categories; on a tie the defect wins
    r = C.compare(make, SCEN[:1], intended={"state:users@map": "meant"},
                  defects={"state": "broken"})
    assert {why for d, why in r.intended if d.key == "state:users"} == {"meant"}
    r = C.compare(make, SCEN[:1], intended={"state": "meant"}, defects={"state": "broken"})
    assert [why for d, why in r.defects] == ["broken"] and not any(
        d.key == "state:users" for d, _ in r.intended)
    r = C.compare(make, SCEN, defects={"nowhere": "?"})
    assert "nowhere" in r.unused_intended and not r.ok


def test_first_difference_per_scenario_and_key_but_all_recorded() -> None:
    r = C.compare((lambda: Toy(count=True), Toy), SCEN[:1])
    users = [d for d in r.differences if d.key == "state:users"]
    assert [d.op_index for d in users] == [0, 1]
    assert [d.op_index for d in r.undeclared if d.key == "state:users"] == [0]


def test_render_is_deterministic_and_address_free() -> None:
    make = (lambda: Toy(count=True), lambda: Toy(pfn_shift=2))
    a = C.compare(make, SCEN, intended={"hooks": "moved"}).render()
    b = C.compare(make, SCEN, intended={"hooks": "moved"}).render()
    assert a == b
    assert " at 0x7f" not in a.replace("succeeded at 0x7f", "")
    assert "object at" not in a and "UNDECLARED" in a and "why: moved" in a


def test_run_scenario_observes_hooks_and_injection() -> None:
    obs = run_scenario(Toy(count=True), SCEN[0])
    assert obs[0].hooks == ("toy_vm_ops->mapped",)
    assert obs[0].entry_hooks == ("toy_fops->mmap_prepare",)
    assert obs[1].hooks == ("toy_vm_ops->open", "toy_vm_ops->close")
    assert obs[0].aspect("pte") == ("page +0: pfn 0xe0000 rw- uc pfnmap",
                          "page +1: pfn 0xe0001 rw- uc pfnmap")
    inj = Scenario("inj", (mmap_op(0, 1),), inject=("mapped", 1))
    o = run_scenario(Toy(count=True), inj)[0]
    assert o.outcome == "-ENOMEM" and o.injected == "mapped (call 1)"
    assert o.hooks == ("toy_vm_ops->close",) and dict(o.state)["users"] == "-1"


def test_legacy_variant_gets_the_legacy_equivalent_injection_point() -> None:
    class LegacyToy(Toy):
        def __init__(self) -> None:
            Driver.__init__(self, "legacy")
            self.users, self.vm_ops = 0, None
            self.inode = Inode("/dev/toy", 0, dev=(240, 0))
            self.fops = FileOperations(name="toy_fops", mmap=lambda f, v: 0)

    inj = Scenario("inj", (mmap_op(0, 1),), inject=("mmap_action_complete", 1))
    o = run_scenario(LegacyToy(), inj)[0]
    assert o.injected == "mmap (call 1)" and o.outcome == "-ENOMEM" and o.vmas == ()


def test_maps_lines_alias_inode_numbers() -> None:
    a = run_scenario(Toy(), SCEN[0])[0].aspect("maps")
    b = run_scenario(Toy(), SCEN[0])[0].aspect("maps")
    assert a == b and "ino#1" in a[0] and a[0].endswith("/dev/toy")
    assert a[0].startswith(f"7f0000000000-7f{2 * PAGE_SIZE:010x} rw-s")


def test_hook_errors_are_observations_not_crashes() -> None:
    class Broken(Toy):
        def prepare(self, desc):
            raise RuntimeError("oops")

    o = run_scenario(Broken(), SCEN[0])
    assert o[0].outcome.startswith("HookError: ") and "oops" in o[0].outcome
    assert o[1].outcome == "ok" and o[1].vmas == ()  # munmap of an empty range succeeds


@pytest.mark.parametrize("bad", ["nonsense"])
def test_unknown_op_kind_is_reported(bad: str) -> None:
    from mmaplab.drivers.base import Op

    o = run_scenario(Toy(), Scenario("bad", (Op(bad),)))
    assert o[0].outcome.startswith("crash (ValueError")
