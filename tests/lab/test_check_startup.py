"""A shell check of one exercise starts fast: it imports that exercise's kit only, and
neither importlib.metadata nor tomllib (the version is read only for --version)."""

from __future__ import annotations

import json
import subprocess
import sys

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
