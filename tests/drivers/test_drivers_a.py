"""Driver models of group A (afs, open_dice, hpet, mtdchar, stm): behaviour pinned,
legacy vs converted equivalence through the harness, the afs bug, and mutants."""

from __future__ import annotations

import errno

import pytest

from mmaplab import MM, PAGE_SIZE, PROT_READ, PROT_WRITE, VMFlag
from mmaplab.drivers import NAMES, afs, config_specs, hpet, load_spec, mtdchar, open_dice, stm
from mmaplab.drivers.base import WINDOW, Scenario, exit_op, mmap_op, munmap_op
from mmaplab.kernel.flags import MAP_FIXED, MAP_PRIVATE, MAP_SHARED
from mmaplab.kernel.fs import FMode
from mmaplab.kernel.mm_types import VmAreaDesc, VmAreaStruct
from mmaplab.kernel.pgtable import Pgprot
from mmaplab.lab import compare as C

MINE = ("afs", "open_dice", "hpet", "mtdchar", "stm")
RW = PROT_READ | PROT_WRITE


def _mmap(drv, pages, prot=PROT_READ, flags=MAP_SHARED, offset_pages=0,
          mode=FMode.READ | FMode.WRITE):
    mm = MM(sanitize=False)
    f = drv.open(mode)
    try:
        return mm, mm.mmap(WINDOW, pages * PAGE_SIZE, prot, flags | MAP_FIXED, f,
                           offset_pages * PAGE_SIZE)
    except OSError as exc:
        return mm, -exc.errno


def _both(make, *args, **kw):
    return [(v, *_mmap(make(v), *args, **kw)) for v in ("legacy", "prepare")]


# -- registry ---------------------------------------------------------------------------

def test_registry_lists_all_ten_and_mine_load() -> None:
    assert len(NAMES) == 10 and len(set(NAMES)) == 10
    for name in MINE:
        spec = load_spec(name)
        assert spec.name == name and len(spec.scenarios) >= 8 and len(spec.mutants) >= 3
        assert spec.kernel_files and spec.kernel_version
    with pytest.raises(KeyError):
        load_spec("nosuchdriver")


# -- pinned behaviour: valid and invalid requests, both variants ----------------------------

@pytest.mark.parametrize("variant", ["legacy", "prepare"])
def test_open_dice_rejections(variant: str) -> None:
    mk = lambda: open_dice.OpenDiceDriver(variant)  # noqa: E731
    assert _mmap(mk(), 1, RW)[1] == -errno.EPERM
    assert _mmap(mk(), 3)[1] == -errno.EINVAL
    assert _mmap(mk(), 2, offset_pages=1)[1] == -errno.EINVAL
    mm, addr = _mmap(mk(), 2)
    assert addr == WINDOW
    vma = mm.vma_lookup(WINDOW)
    assert VMFlag.MAYWRITE not in vma.vm_flags
    assert {VMFlag.DONTCOPY, VMFlag.DONTDUMP, VMFlag.IO, VMFlag.PFNMAP} <= set(vma.vm_flags)
    with pytest.raises(OSError) as e:
        mm.mprotect(WINDOW, PAGE_SIZE, RW)
    assert e.value.errno == errno.EACCES
    pte = mm.fault(WINDOW + PAGE_SIZE)
    assert pte.pfn == (open_dice.RMEM_BASE >> 12) + 1 and Pgprot.PWT in pte.prot
    assert mm.fork().vmas() == []  # VM_DONTCOPY
    mm2, addr = _mmap(mk(), 2, RW, flags=MAP_PRIVATE)  # private may be writable
    assert addr == WINDOW and mm2.vmas()[0].vm_pgoff == open_dice.RMEM_BASE >> 12


@pytest.mark.parametrize("variant", ["legacy", "prepare"])
def test_hpet_rejections(variant: str) -> None:
    ro = FMode.READ
    mm, addr = _mmap(hpet.HpetDriver(variant), 1, mode=ro)
    assert addr == WINDOW
    pte = mm.fault(WINDOW)
    assert pte.pfn == hpet.HPET_PHYS >> 12 and Pgprot.PCD in pte.prot
    assert _mmap(hpet.HpetDriver(variant), 2, mode=ro)[1] == -errno.EINVAL
    assert _mmap(hpet.HpetDriver(variant), 1, offset_pages=1, mode=ro)[1] == -errno.EINVAL
    assert _mmap(hpet.HpetDriver(variant, mmap_enabled=False), 1, mode=ro)[1] == -errno.EACCES
    assert _mmap(hpet.HpetDriver(variant, phys=hpet.HPET_PHYS + 0x400), 1,
                 mode=ro)[1] == -errno.ENOSYS
    assert _mmap(hpet.HpetDriver(variant, config_hpet_mmap=False), 1,
                 mode=ro)[1] == -errno.ENOSYS
    with pytest.raises(OSError) as e:
        hpet.HpetDriver(variant).open(FMode.READ | FMode.WRITE)
    assert e.value.errno == errno.EINVAL


@pytest.mark.parametrize("variant", ["legacy", "prepare"])
def test_mtdchar_mmu_enodev_and_nommu_rule(variant: str) -> None:
    for flags in (MAP_SHARED, MAP_PRIVATE):
        assert _mmap(mtdchar.MtdcharDriver(variant), 1, flags=flags)[1] == -errno.ENODEV
    drv = mtdchar.MtdcharDriver(variant, mmu=False)
    for flags, want in ((VMFlag.SHARED | VMFlag.MAYSHARE, 0), (VMFlag.MAYSHARE, -errno.EACCES),
                        (VMFlag.NONE, -errno.EACCES)):
        if variant == "legacy":
            vma = VmAreaStruct(None, WINDOW, WINDOW + PAGE_SIZE, 0, flags | VMFlag.READ)
            assert drv.mtdchar_mmap(drv.open(), vma) == want
        else:
            desc = VmAreaDesc(None, drv.open(), WINDOW, WINDOW + PAGE_SIZE, 0, None,
                              flags | VMFlag.READ, Pgprot.NONE)
            assert drv.mtdchar_mmap_prepare(desc) == want


@pytest.mark.parametrize("variant", ["legacy", "prepare"])
def test_stm_rejections_and_pm_count(variant: str) -> None:
    pages = stm.PAGES
    assert _mmap(stm.StmDriver(variant), pages, RW, offset_pages=1)[1] == -errno.EINVAL
    assert _mmap(stm.StmDriver(variant), pages - 1, RW)[1] == -errno.EINVAL
    assert _mmap(stm.StmDriver(variant, mmio_addr=None), pages, RW)[1] == -errno.EOPNOTSUPP
    assert _mmap(stm.StmDriver(variant, nr_chans=0), pages, RW)[1] == -errno.EINVAL
    drv = stm.StmDriver(variant)
    mm, addr = _mmap(drv, pages, RW)
    assert addr == WINDOW and drv.stm.usage_count == 1
    assert mm.fault(WINDOW).pfn == stm.SW_MMIO_BASE >> 12
    mm.munmap(WINDOW + PAGE_SIZE, PAGE_SIZE)  # split: open +1, close -1
    assert drv.stm.usage_count == 1
    child = mm.fork()
    assert drv.stm.usage_count == 2
    child.exit()
    mm.exit()
    assert (drv.stm.usage_count, drv.stm.underflows) == (0, 0)


@pytest.mark.parametrize("variant", ["legacy", "prepare"])
def test_afs_counts_vmas(variant: str) -> None:
    drv = afs.AfsDriver(variant)
    mm, addr = _mmap(drv, 4, RW)
    assert addr == WINDOW and drv.observe() == {"cb_nr_mmap": 1, "on_open_mmaps": True}
    mm.munmap(WINDOW + PAGE_SIZE, PAGE_SIZE)
    assert drv.vnode.cb_nr_mmap == 2
    mm.exit()
    assert drv.observe() == {"cb_nr_mmap": 0, "on_open_mmaps": False}
    assert drv.vnode.cb_work_flushes == 1


def test_afs_enoexec_without_read_folio() -> None:
    for variant in ("legacy", "prepare"):
        drv = afs.AfsDriver(variant)
        drv.has_read_folio = False
        assert _mmap(drv, 1)[1] == -errno.ENOEXEC
        assert drv.observe() == {"cb_nr_mmap": 0, "on_open_mmaps": False}


# -- the harness on my specs ------------------------------------------------------------------

@pytest.mark.parametrize("name", MINE)
def test_no_undeclared_difference(name: str) -> None:
    spec = load_spec(name)
    for sp in (spec, *config_specs(name)):
        report = C.compare(sp)
        assert report.ok, report.render()
        assert report.unused_intended == [], report.unused_intended


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
    assert (keys["state:pm_underflows"].legacy, keys["state:pm_underflows"].prepare) == (
        "0", "1")


# -- the afs bug ----------------------------------------------------------------------------

MERGE = Scenario("merge", (mmap_op(0, 2, RW), mmap_op(2, 2, RW, offset_pages=2),
                           munmap_op(0, 4)))
FAIL_LATE = Scenario("fail", (mmap_op(0, 2, RW),), inject=("vma_iter_prealloc", 1))


def _end_state(make, scenario):
    return dict(C.run_scenario(make(), scenario)[-1].state)


def test_afs_buggy_conversion_leaks_on_merge_and_late_failure() -> None:
    # the merge really happened: one VMA of 4 pages
    obs = C.run_scenario(afs.make_buggy(), MERGE)
    assert len(obs[1].maps) == 1 and obs[1].maps[0].startswith("7f0000000000-7f0000004000")
    assert obs[1].hooks == ()  # no open/mapped for the merged range
    assert _end_state(afs.make_buggy, MERGE) == {"cb_nr_mmap": "1", "on_open_mmaps": "True"}
    assert _end_state(afs.make_buggy, FAIL_LATE) == {"cb_nr_mmap": "1",
                                                     "on_open_mmaps": "True"}
    report = C.compare((lambda: afs.AfsDriver("legacy"), afs.make_buggy), (MERGE, FAIL_LATE),
                       afs.SPEC.intended)
    assert not report.ok
    assert {(d.key, d.scenario) for d in report.undeclared} == {
        ("state:cb_nr_mmap", "merge"), ("state:on_open_mmaps", "merge"),
        ("state:cb_nr_mmap", "fail"), ("state:on_open_mmaps", "fail")}


def test_afs_fixed_conversion_is_exact() -> None:
    for make in (lambda: afs.AfsDriver("legacy"), lambda: afs.AfsDriver("prepare")):
        assert _end_state(make, MERGE) == {"cb_nr_mmap": "0", "on_open_mmaps": "False"}
        assert _end_state(make, FAIL_LATE) == {"cb_nr_mmap": "0", "on_open_mmaps": "False"}
        obs = C.run_scenario(make(), MERGE)
        assert dict(obs[1].state)["cb_nr_mmap"] == "1"  # one VMA, one reference
    assert C.compare(afs.SPEC, (MERGE, FAIL_LATE)).ok


def test_afs_buggy_rejects_legacy_variant() -> None:
    with pytest.raises(ValueError):
        afs.AfsDriver("legacy", buggy=True)


# -- mutants --------------------------------------------------------------------------------

MUTANTS = [(name, m) for name in MINE for m in load_spec(name).mutants]


@pytest.mark.parametrize(("name", "mutant"), MUTANTS, ids=[f"{n}-{m.name}" for n, m in MUTANTS])
def test_harness_catches_mutant(name: str, mutant) -> None:
    spec = load_spec(name)
    report = C.mutant_report(spec, mutant)
    assert not report.ok, f"{name}: mutant {mutant.name} is indistinguishable"
    # ... and against the legacy driver too, with the spec's declared differences
    make = mutant.reference or spec.make
    scenarios = mutant.scenarios() if mutant.scenarios is not None else spec.scenarios
    vs_legacy = C.compare((lambda: make("legacy"), mutant.make), scenarios, spec.intended)
    assert not vs_legacy.ok, f"{name}: mutant {mutant.name} hides behind intended differences"


def test_mutant_reports_are_deterministic() -> None:
    m = stm.SPEC.mutants[0]
    assert C.mutant_report(stm.SPEC, m).render() == C.mutant_report(stm.SPEC, m).render()


def test_exit_op_and_scenarios_run_cleanly() -> None:
    # no scenario of mine crashes the harness (a crash would be a model or driver bug)
    for name in MINE:
        spec = load_spec(name)
        for s in (*spec.scenarios, Scenario("exit-only", (exit_op(),))):
            for v in ("legacy", "prepare"):
                for o in C.run_scenario(spec.make(v), s):
                    assert not o.result.startswith(("crash", "HookError")), (name, s.name, o)
