"""Every exercise with a C reference: it passes, and each catalogued C wrong answer is
rejected with its misconception — through the package, the notebook magic and the CLI."""

from __future__ import annotations

import io
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from mmaplab.cli import main
from mmaplab.exercises.c_answer import c_exercises, c_sources, render_c_result, verify_c
from mmaplab.exercises.c_magic import kernel_c
from tests.tiers import sample

CASES = [(nn, name) for nn in c_exercises() for name in c_sources(nn)]
_IDS = [f"{nn}-{name}" for nn, name in CASES]
# Fast tier: through the package, each exercise's reference and first wrong answer; through
# the magic and the CLI (the same verdict behind another front end), one of each.
BY_EXERCISE = sample(CASES, key=lambda case: case[0], keep=2, ids=_IDS)
FRONT_END = sample(CASES, keep=2, ids=_IDS)


def test_there_are_c_answers() -> None:
    assert set(c_exercises()) == {f"{i:02d}" for i in range(1, 15)}
    assert all(len(c_sources(nn)) >= 3 for nn in c_exercises())
    # the exercises converted since round 2 carry a wrong answer for 5 or more mutants each
    assert all(len(c_sources(nn)) >= 6 for nn in ("07", "08", "09", "10", "11", "12", "14"))


@pytest.mark.parametrize("nn", [f"{i:02d}" for i in range(1, 15)])
def test_every_catalogued_mistake_has_its_c_twin(nn: str) -> None:
    """Each catalogued Python wrong answer of every exercise is written in C too."""
    from mmaplab.exercises import get

    catalogued = {name for name, _ in get(nn).extra["catalogue"]()}
    assert catalogued == set(c_sources(nn)) - {"reference"}


def test_a_c_oops_is_named_by_its_python_twin_null_dereference() -> None:
    """A C hook that dereferences NULL oopses where the Python twin raises on None (or the
    driver model reports the NULL it was handed): the mutant matcher compares the kernel
    event, so exercise 14's C "forgot private_data" is named as its Python twin is."""
    n, failure, error = verify_c("14", c_sources("14")["forgot-private_data"])
    assert error is None and failure is not None
    assert failure.misconception == "forgot-private_data"
    text = str(failure)
    assert "BUG: kernel NULL pointer dereference" in text
    n, failure, error = verify_c("03", c_sources("03")["close-assumes-mapped"])
    assert failure is not None and failure.misconception == "close-assumes-mapped"
    # the oops, with the request that triggered it (the third mmap, after two that worked)
    shown = render_c_result("03", n, failure, error).splitlines()
    assert shown[:3] == [
        "Exercise 03 (private_data) is not solved yet: the C failed while it ran.",
        "In case 'ring', scenario 'all contexts in use':",
        "  -> 3. mmap(0x7f0000002000, 1 page(s), PROT_READ, MAP_SHARED|MAP_FIXED, offset 2 "
        "page(s))"]
    assert "RIP: ring_vm_close() at answer.c:29" in shown
    assert "Misconception [close-assumes-mapped]: close runs even when mapped did not." in shown


def test_a_misconception_prints_its_title_once(tmp_path, capsys) -> None:  # noqa: ANN001
    """The title, then only what the explanation adds (it used to repeat the title)."""
    path = tmp_path / "answer.c"
    path.write_text(c_sources("04")["wrong-errno"])
    assert main(["exercises", "check", "04", "--file", str(path)]) == 1
    out = capsys.readouterr().out
    tail = out[out.index("Misconception ["):].splitlines()
    assert tail == [
        "Misconception [wrong-errno]: keep the callback's errno.",
        "  a closed channel is -ENODEV, and the wrapper passes the callback's error on unchanged",
        "Hint: Find the legacy return statement that this request reaches and copy its errno.",
        "  (more: `mmaplab exercises hint 04 --level 2`, or mmaplab.exercises.hint(\"04\", 2))"]
    assert out.count("keep the callback's errno") == 1


def test_mtdchar_builds_per_kernel_config() -> None:
    """The !CONFIG_MMU case of 07 runs the other branch of #ifdef CONFIG_MMU."""
    from mmaplab.exercises.c_answer import CAnswer, exercise_configs
    from mmaplab.kernel_c import DEFAULT_CONFIG

    assert exercise_configs("07") == (DEFAULT_CONFIG, DEFAULT_CONFIG - {"CONFIG_MMU"})
    assert exercise_configs("05") == (DEFAULT_CONFIG,)
    answer = CAnswer("07", c_sources("07")["reference"])
    from mmaplab.drivers.mtdchar import MtdcharDriver

    assert answer.for_device(MtdcharDriver(mmu=False)).config == frozenset()
    assert answer.for_device(MtdcharDriver()).config == DEFAULT_CONFIG


@pytest.mark.parametrize(("nn", "name"), BY_EXERCISE)
def test_c_answer_through_the_package(nn: str, name: str) -> None:
    n, failure, error = verify_c(nn, c_sources(nn)[name], f"{name}.c")
    assert error is None, error
    if name == "reference":
        assert failure is None, str(failure)
        assert n > 0
    else:
        assert failure is not None, f"{name}.c passed exercise {nn}"
        assert failure.misconception == name, str(failure)


@pytest.mark.parametrize(("nn", "name"), FRONT_END)
def test_c_answer_through_the_notebook_magic(nn: str, name: str) -> None:
    ns: dict[str, object] = {}
    out = io.StringIO()
    with redirect_stdout(out):
        passed = kernel_c(f"{nn}\n", c_sources(nn)[name], ns)
    text = out.getvalue()
    assert passed == (name == "reference"), text
    if name == "reference":
        assert text.startswith("✔ "), text
    else:
        assert f"Misconception [{name}]" in text, text
    if "The C does not compile." not in text:  # else there is nothing to define
        assert all(callable(v) or v is not None for v in ns.values()) and ns


@pytest.mark.parametrize(("nn", "name"), FRONT_END)
def test_c_answer_through_the_cli(nn: str, name: str, tmp_path, capsys) -> None:  # noqa: ANN001
    path = tmp_path / "answer.c"
    path.write_text(c_sources(nn)[name])
    rc = main(["exercises", "check", nn, "--file", str(path)])
    out = capsys.readouterr().out
    assert rc == (0 if name == "reference" else 1), out
    if name != "reference":
        assert f"Misconception [{name}]" in out


def test_cli_reports_a_compile_error_at_its_line(tmp_path, capsys) -> None:  # noqa: ANN001
    path = tmp_path / "answer.c"
    path.write_text(c_sources("05")["reference"].replace("PAGE_SIZE - 1", "PAGE_SIZ - 1"))
    assert main(["exercises", "check", "05", "--file", str(path)]) == 1
    out = capsys.readouterr().out
    assert "answer.c:15: error: 'PAGE_SIZ' undeclared (first use in this function); did you " \
        "mean 'PAGE_SIZE'?" in out


def test_magic_without_an_exercise_defines_the_functions() -> None:
    ns: dict[str, object] = {}
    with redirect_stdout(io.StringIO()) as out:
        kernel_c("", "int twice(int x)\n{\n\treturn 2 * x;\n}\n", ns)
    assert out.getvalue() == "compiled: twice\n"
    assert ns["twice"](21) == 42  # type: ignore[operator]


def test_the_setup_cell_import_registers_the_cell_magic() -> None:
    from IPython.core.interactiveshell import InteractiveShell

    ip = InteractiveShell.instance()
    ip.run_cell("import mmaplab.exercises as m; m._register_c_magic()")
    assert "kernel_c" in ip.magics_manager.magics["cell"]
    with redirect_stdout(io.StringIO()) as out:
        ip.run_cell_magic("kernel_c", "05", c_sources("05")["reference"])
    assert out.getvalue().startswith("✔ "), out.getvalue()
    assert callable(ip.user_ns["hpet_mmap_prepare"])


def test_a_c_run_time_failure_is_reported_as_the_c_diagnostic(tmp_path, capsys) -> None:  # noqa: ANN001
    src = c_sources("05")["reference"].replace(
        "\taddr = devp->hd_hpets->hp_hpet_phys;\n",
        "\tif (desc->pgoff == 0)\n\t\taddr = devp->hd_hpets->hp_hpet_phys;\n")
    path = tmp_path / "answer.c"
    path.write_text(src)
    assert main(["exercises", "check", "05", "--file", str(path)]) == 1
    out = capsys.readouterr().out
    assert out.startswith("Exercise 05 (hpet) is not solved yet: the C failed while it ran.\n"
                          "In case 'hpet', scenario 'offset-one':\n")
    assert out.rstrip().endswith("answer.c:16: runtime error: 'addr' is used uninitialized "
                                 "[-Werror=uninitialized]")
    assert max(len(line) for line in out.splitlines()) <= 100


@pytest.mark.parametrize("nn", c_exercises())
def test_every_notebook_has_a_c_answer_cell_with_its_real_output(nn: str) -> None:
    """Beside the Python answer: a %%kernel_c cell holding the C stub, storing what the
    magic prints for it (the setup cell loads the magic)."""
    import json

    from mmaplab.exercises import get
    from mmaplab.exercises.c_answer import c_stub
    from mmaplab.exercises.notebook import notebook_path
    from mmaplab.exercises.source import SETUP_C_MAGIC

    ex = get(nn)
    root = Path(__file__).resolve().parents[2] / "exercises"
    nb = json.loads(notebook_path(root, ex).read_text(encoding="utf-8"))
    cells = [c for c in nb["cells"] if "answer_c" in c["metadata"].get("tags", [])]
    assert len(cells) == 1
    (cell,) = cells
    assert cell["source"] == f"%%kernel_c {nn}\n{c_stub(nn)}".rstrip("\n")
    assert cell["metadata"].get("editable", True) is not False
    text = "".join(o["text"] for o in cell["outputs"])
    assert text.startswith(f"Exercise {nn} ({ex.slug}) is not solved yet")
    assert max(len(line) for line in text.splitlines()) <= 100
    with redirect_stdout(io.StringIO()) as out:
        kernel_c(nn, c_stub(nn) or "", {})
    assert out.getvalue() == text
    (setup,) = [c for c in nb["cells"] if "setup" in c["metadata"].get("tags", [])]
    assert setup["source"].endswith(SETUP_C_MAGIC)


def test_a_legacy_c_hook_runs_in_place_of_the_legacy_model_and_differences_show() -> None:
    """legacy.c runs as the legacy driver's f_op->mmap: the same C behaves as the model,
    and a change to it (no uncached protection) is seen on the page protections."""
    from mmaplab.exercises.c_answer import check_legacy_c, legacy_c_source

    n, reports = check_legacy_c("05")
    assert n > 0 and reports and all(r.ok for r in reports)
    wrong = (legacy_c_source("05") or "").replace("pgprot_noncached(vma->vm_page_prot)",
                                                 "vma->vm_page_prot")
    n, reports = check_legacy_c("05", wrong)
    assert not all(r.ok for r in reports)
    assert "[page_prot]" in "".join(r.render() for r in reports)



@pytest.mark.parametrize(("nn", "line", "instead"), [
    ("10", "image[minor].mmap_count++;", ""),
    ("11", "return channel->mmap_ring_buffer(channel, vma);", "return -ENODEV;"),
    ("13", "return -ENODEV;", "return -EINVAL;"),
    # 12's uio_mmap is the uio core's: tcm-user's legacy override is reached through
    # uio_info->mmap, and an IOVA region takes the PHYS path
    ("12", "ret = idev->info->mmap(idev->info, vma);", "ret = -EINVAL;"),
    ("12", "\tcase UIO_MEM_IOVA:\n", ""),
])
def test_a_legacy_c_hook_away_from_the_device_class_is_the_one_that_runs(
        nn: str, line: str, instead: str) -> None:
    """10's hooks are methods of the device class; 11's wrapper is a method of the vmbus
    driver, 12's of the uio core and 13's a channel callback (installed through their kits'
    install points): in
    each, the C as written behaves as the legacy model and a one-line change is seen."""
    from mmaplab.exercises.c_answer import check_legacy_c, legacy_c_source

    source = legacy_c_source(nn) or ""
    assert line in source
    n, reports = check_legacy_c(nn, source)
    assert n > 0 and reports and all(r.ok for r in reports)
    n, reports = check_legacy_c(nn, source.replace(line, instead))
    assert not all(r.ok for r in reports)


def test_a_compile_error_that_breaks_a_catalogued_rule_names_the_misconception(
        tmp_path, capsys) -> None:  # noqa: ANN001
    """vm_iomap_memory() on a descriptor does not compile; exercise 01 catalogues that
    idea (legacy-helper-in-prepare), so the compiler's message comes with it.  Exercise 05
    catalogues no such mistake: there the same error is only a compile error."""
    path = tmp_path / "answer.c"
    path.write_text(c_sources("01")["legacy-helper-in-prepare"])
    assert main(["exercises", "check", "01", "--file", str(path)]) == 1
    out = capsys.readouterr().out
    assert "The C does not compile.\nIn function 'regs_mmap_prepare':\n" in out
    assert "vm_iomap_memory() is a legacy helper" in out
    assert "Misconception [legacy-helper-in-prepare]: calling a VMA helper from mmap_prepare." \
        in out
    src = c_sources("05")["reference"].replace(
        "mmap_action_simple_ioremap(desc, addr, PAGE_SIZE);\n\treturn 0;",
        "return vm_iomap_memory(desc, addr, PAGE_SIZE);")
    n, failure, error = verify_c("05", src)
    assert failure is None and error is not None and "is a legacy helper" in error
