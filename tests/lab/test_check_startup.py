"""A shell check of one exercise is fast: it imports that exercise's kit only, and
neither importlib.metadata nor tomllib (the version is read only for --version), and it
takes at most half a second of CPU (issue #11)."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

_PROBE = """
import json, sys, time
t = time.perf_counter()
from mmaplab.cli import main
from mmaplab.exercises import get
ex = get("05")
t = time.perf_counter() - t
kits = sorted({m.split(".")[2] for m in sys.modules if m.startswith("mmaplab.drivers.")
               and m.count(".") >= 2 and m.split(".")[2] not in ("base",)})
print(json.dumps({"seconds": t, "kits": kits,
                  "metadata": "importlib.metadata" in sys.modules,
                  "tomllib": "tomllib" in sys.modules}))
"""


def test_checking_one_exercise_imports_one_kit_and_no_metadata() -> None:
    out = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    probe = json.loads(out)
    assert probe["kits"] == ["hpet"], probe["kits"]
    assert not probe["metadata"] and not probe["tomllib"], probe


def test_version_is_still_the_pyproject_one() -> None:
    import mmaplab
    from mmaplab._version import version

    assert mmaplab.__version__ == version() and version().count(".") >= 1


#: The issue's budget for one shell check (``mmaplab exercises check NN``).
LIMIT = 0.5


def _cpu_seconds(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, int, str]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, done.returncode, done.stdout + done.stderr


@pytest.mark.slow  # twenty CLI runs; and CPU time means little on a box the fast tier saturates
@pytest.mark.parametrize("nn", ["05", "14"])
def test_a_shell_check_takes_at_most_half_a_second_of_cpu(tmp_path: Path, nn: str) -> None:
    """CPU time (user + system) of ``mmaplab exercises check NN`` in a folder made by
    ``mmaplab exercises init``, for the stub (fails) and the solution (passes): the best
    of five after a warm-up run that writes the bytecode a learner's machine keeps.
    Not wall time: the cores are shared while the suite runs."""
    from mmaplab.exercises import get
    from mmaplab.exercises.notebook import read, set_answer, write

    mmaplab = Path(sys.executable).with_name("mmaplab")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(PYTHONPYCACHEPREFIX=str(tmp_path / "pycache"), NO_COLOR="1")
    subprocess.run([str(mmaplab), "exercises", "init", "work"], cwd=tmp_path, env=env,
                   check=True, capture_output=True, timeout=120)
    work, ex = tmp_path / "work", get(nn)
    cmd = [str(mmaplab), "exercises", "check", nn]
    for answer, want in ((ex.source.stub, 1), (ex.source.solution, 0)):
        path = work / f"{ex.name}.ipynb"
        write(set_answer(read(path), answer), path)
        _, rc, out = _cpu_seconds(cmd, work, env)  # warm-up: the bytecode
        assert rc == want, out
        best = min(_cpu_seconds(cmd, work, env)[0] for _ in range(5))
        assert best <= LIMIT, f"{nn} ({'stub' if want else 'solution'}): {best:.2f} s of CPU"
