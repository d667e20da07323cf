"""`pip install mmaplab` needs nothing else; the front ends name the extra they need."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_the_package_has_no_third_party_dependency() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["dependencies"] == []
    extras = project["optional-dependencies"]
    assert extras["widgets"] == ["ipywidgets"]
    assert "mmaplab[widgets]" in extras["book"]
    assert {"book", "test", "cli"} <= set(extras) and "dev" in extras


def test_importing_mmaplab_imports_no_front_end() -> None:
    # A fresh interpreter: the model and the CLI load with no third-party module.
    code = ("import sys, mmaplab, mmaplab.cli, mmaplab.widgets\n"
            "print(sorted(m for m in ('ipywidgets', 'IPython', 'tqdm', 'nbformat') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("missing", ["ipywidgets", "IPython"])
def test_widgets_name_the_extra_when_the_front_end_is_missing(
        missing: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from mmaplab import MAP_ANONYMOUS, MAP_PRIVATE, MM, PAGE_SIZE, PROT_READ, widgets

    # None in sys.modules makes `import <missing>` raise ModuleNotFoundError.
    # Submodules too: `from IPython.display import display` is served from sys.modules when an
    # earlier test imported IPython.display, without importing the parent.
    for name in [m for m in sys.modules if m == missing or m.startswith(missing + ".")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, missing, None)
    mm = MM()
    shots = widgets.scripted_snapshots(mm, [
        ("mmap", lambda m: m.mmap(None, PAGE_SIZE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS))])
    view = widgets.AddressSpaceView(shots)
    assert "mmap" in view.text()          # the text views need no front end
    with pytest.raises(ModuleNotFoundError) as info:
        if missing == "ipywidgets":
            view.widget()
        else:
            widgets.show(object(), "text")
    message = str(info.value)
    assert f"needs {missing}" in message and "pip install 'mmaplab[widgets]'" in message
    assert (info.value.name or "").startswith(missing)
