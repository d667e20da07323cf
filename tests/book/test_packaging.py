"""The sdist and the wheel, built and used as a learner or a packager would.

``python -m build`` makes both from a copy of the repository (once per session). The
wheel is installed into a fresh virtualenv with its declared dependencies, and used from
an empty folder: ``import mmaplab``, ``mmaplab --help``, ``mmaplab exercises init`` and
``check 01`` (the stub fails, the reference solution passes). The sdist is unpacked and
must hold what it takes to build and test: the test suite collects from it exactly as
from the repository.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import time
import venv
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COPY_IGNORE = shutil.ignore_patterns(
    ".git", ".venv", "_build", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache",
    ".ruff_cache", ".hypothesis", ".ipynb_checkpoints", ".backup",
)
#: What a virtualenv holds before anything is installed into it.
VENV_TOOLS = {"pip", "setuptools", "wheel"}

pytestmark = pytest.mark.slow


@dataclass
class Dists:
    wheel: Path
    sdist: Path
    build_s: float


@pytest.fixture(scope="session")
def dists(tmp_path_factory: pytest.TempPathFactory) -> Dists:
    base = tmp_path_factory.mktemp("dists")
    src = base / "src"
    shutil.copytree(ROOT, src, ignore=COPY_IGNORE)
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "build", "--outdir", str(base / "dist"),
                           str(src)], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    (wheel,) = (base / "dist").glob("mmaplab-*.whl")
    (sdist,) = (base / "dist").glob("mmaplab-*.tar.gz")
    return Dists(wheel, sdist, time.monotonic() - start)


@dataclass
class Installed:
    python: Path
    bin: Path
    cwd: Path

    def run(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([*args], cwd=self.cwd, capture_output=True, text=True,
                              timeout=600, env={"PATH": f"{self.bin}:/usr/bin:/bin",
                                                "HOME": str(self.cwd), "NO_PROGRESS": "1"})
        if ok:
            assert proc.returncode == 0, f"{args}: {proc.stdout}\n{proc.stderr}"
        return proc


@pytest.fixture(scope="session")
def installed(dists: Dists, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    base = tmp_path_factory.mktemp("wheel-install")
    venv.EnvBuilder(with_pip=True).create(base / "venv")
    python = base / "venv" / "bin" / "python"
    proc = subprocess.run([str(python), "-m", "pip", "install", "--quiet",
                           "--disable-pip-version-check", str(dists.wheel)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    empty = base / "learner"
    empty.mkdir()
    return Installed(python, python.parent, empty)


def test_wheel_is_the_package_only_with_its_licences(dists: Dists) -> None:
    names = zipfile.ZipFile(dists.wheel).namelist()
    tops = {n.split("/", 1)[0] for n in names}
    assert tops == {"mmaplab", dists.wheel.name.split("-py3")[0] + ".dist-info"}, tops
    assert "mmaplab/py.typed" in names
    licences = {Path(n).name for n in names if "/licenses/" in n}
    assert licences == {"LICENSE", "LICENSE-CONTENT"}
    metadata = zipfile.ZipFile(dists.wheel).read(
        next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert "License-Expression: MIT AND CC-BY-SA-4.0" in metadata
    # No Requires-Dist outside an extra: pip install mmaplab brings nothing else.
    requires = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    assert requires and all("extra ==" in line for line in requires), requires


def test_wheel_installs_with_no_third_party_package(installed: Installed) -> None:
    listed = installed.run(str(installed.python), "-m", "pip", "list", "--format=freeze",
                           "--disable-pip-version-check").stdout
    names = {line.split("==")[0].lower() for line in listed.splitlines() if "==" in line}
    assert names - VENV_TOOLS == {"mmaplab"}, names


def test_wheel_imports_and_runs_from_an_empty_folder(installed: Installed) -> None:
    out = installed.run(str(installed.python), "-c",
                        "import mmaplab, sys; print(mmaplab.__file__); "
                        "print(sorted(m for m in ('ipywidgets', 'IPython') if m in sys.modules))"
                        ).stdout.splitlines()
    assert Path(out[0]).is_relative_to(installed.python.parent.parent), out[0]
    assert out[1] == "[]"
    help_text = installed.run(str(installed.bin / "mmaplab"), "--help").stdout
    assert "usage: mmaplab" in help_text and "exercises" in help_text
    # The widgets name the extra they need instead of a bare ImportError.
    proc = installed.run(str(installed.python), "-c",
                         "import mmaplab.widgets as w; w._widgets()", ok=False)
    assert proc.returncode == 1 and "pip install 'mmaplab[widgets]'" in proc.stderr


def test_sdist_holds_what_builds_and_tests(dists: Dists, tmp_path: Path) -> None:
    with tarfile.open(dists.sdist) as tar:
        tar.extractall(tmp_path, filter="data")
    (top,) = tmp_path.iterdir()
    for needed in ("pyproject.toml", "constraints.txt", "Makefile", "_config.yml", "_toc.yml",
                   "LICENSE", "LICENSE-CONTENT", "README.md", "binder/requirements.txt",
                   "tests/conftest.py", "tests/oracle/kernel_oracle.py", ".ci/run"):
        assert (top / needed).exists(), needed
    assert sorted(p.name for p in (top / "exercises").glob("*.ipynb")) == sorted(
        p.name for p in (ROOT / "exercises").glob("*.ipynb"))
    shipped = {p.relative_to(top) for p in (top / "tests").rglob("*.py")}
    assert shipped == {p.relative_to(ROOT) for p in (ROOT / "tests").rglob("*.py")
                       if "__pycache__" not in p.parts}
    # No build or cache debris.
    junk = [p for p in top.rglob("*") if p.name in ("__pycache__", ".ipynb_checkpoints")
            or p.suffix == ".pyc"]
    assert not junk, junk[:5]
    # Every test collects from the unpacked sdist as it does from the repository.
    def collect(where: Path) -> set[str]:
        proc = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q",
                               "-p", "no:cacheprovider"], cwd=where, capture_output=True,
                              text=True, timeout=600)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        return {line for line in proc.stdout.splitlines() if "::" in line}
    assert collect(top) == collect(ROOT)


#: Puts the reference solution into the answer cell, as a learner who solved it would.
SOLVE_01 = """
import sys
from pathlib import Path
from mmaplab.exercises import get
from mmaplab.exercises.notebook import notebook_path, read, set_answer, write
ex = get("01")
path = notebook_path(Path(sys.argv[1]), ex)
write(set_answer(read(path), ex.source.solution), path)
"""


def test_learner_inits_and_checks_from_the_wheel(dists: Dists, installed: Installed) -> None:
    names = zipfile.ZipFile(dists.wheel).namelist()
    help_text = installed.run(str(installed.bin / "mmaplab"), "exercises", "--help").stdout
    assert "init" in help_text, help_text
    # The wheel carries every exercise as package data.
    shipped = [n for n in names if n.startswith("mmaplab/exercises/sources/")]
    assert len(shipped) == len(list((ROOT / "exercises").glob("[0-9][0-9]_*.ipynb"))), shipped
    init = installed.run(str(installed.bin / "mmaplab"), "exercises", "init")
    made = sorted(p.name for p in (installed.cwd / "mmaplab-exercises").glob("*.ipynb"))
    assert made == sorted(p.name for p in (ROOT / "exercises").glob("[0-9][0-9]_*.ipynb"))
    folder = installed.cwd / "mmaplab-exercises"
    stub = Installed(installed.python, installed.bin, folder)
    failed = stub.run(str(installed.bin / "mmaplab"), "exercises", "check", "01", ok=False)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "Traceback" not in failed.stdout + failed.stderr
    stub.run(str(installed.python), "-c", SOLVE_01, str(folder))
    passed = stub.run(str(installed.bin / "mmaplab"), "exercises", "check", "01")
    # What a learner sees, kept for the report (pytest -rA shows it).
    print("$ mmaplab exercises init\n" + init.stdout + "$ mmaplab exercises check 01  # stub\n"
          + failed.stdout + failed.stderr + "$ mmaplab exercises check 01  # solved\n"
          + passed.stdout + passed.stderr)
