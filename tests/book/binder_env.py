"""repo2docker's own server environment, read from the jupyter-repo2docker package.

mybinder.org builds our image with repo2docker: for ``binder/runtime.txt`` = python-3.11 it
creates the notebook server's environment from the conda lock file it ships
(``repo2docker/buildpacks/conda/environment.py-3.11-linux-64.lock``: JupyterLab, Notebook,
ipykernel, ipywidgets, ... at exact versions), then runs ``pip install -r
binder/requirements.txt`` in it, from the repository root. Our ``binder/`` must add to
that environment, never replace a package of it.

This module turns the lock into pip pins (its Python packages, under their PyPI names) so
that a test can rebuild the same environment in a virtualenv, and regenerates
``binder/constraints.txt``: the pins of what ``binder/requirements.txt`` adds on top,
with every server package left out (``make binder-constraints``).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import re
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BINDER = ROOT / "binder"
#: The buildpack's lock for our runtime.txt (server and kernel share it from 3.9 on).
LOCK = "environment.py-3.11-linux-64.lock"
#: conda-forge names that differ from the PyPI project (the rest are the same project).
CONDA_TO_PYPI = {
    "nbconvert-core": "nbconvert",
    "jupyterhub-base": "jupyterhub",
    "brotli-python": "brotli",
    "python-fastjsonschema": "fastjsonschema",
}
#: Conda's interpreter itself is not a pip package.
NOT_PIP = {"python"}
#: Server packages binder/ may upgrade, each with the reason; every other one stays.
MAY_REPLACE = {
    # mmaplab[c] (in .[book]) parses C hooks with pycparser >= 3; the lock has 2.22 only
    # as cffi's dependency, and cffi 2.0 accepts 3.x (pip check stays clean).
    "pycparser": "mmaplab.kernel_c needs pycparser>=3",
}
_ENTRY = re.compile(r"^https://\S+/(?:noarch|linux-64)/([^/#]+)\.(?:conda|tar\.bz2)#")


def normalise(name: str) -> str:
    """PEP 503 normalised project name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def lock_text() -> str:
    """The lock file as the installed jupyter-repo2docker package ships it.

    Located through the distribution's file list, so repo2docker itself (and its logging
    set-up) is never imported.
    """
    dist = importlib.metadata.distribution("jupyter-repo2docker")
    path = Path(str(dist.locate_file(f"repo2docker/buildpacks/conda/{LOCK}")))
    return path.read_text(encoding="utf-8")


def server_pins(text: str | None = None) -> dict[str, str]:
    """{normalised PyPI name: version} for every Python package of the lock.

    A conda-forge Python package has a build string starting with ``py`` (``pyhd8ed1ab_0``
    for noarch, ``py311h...`` for compiled ones); C libraries, nodejs and the
    interpreter do not, and pip has no business with them.
    """
    pins: dict[str, str] = {}
    for line in (lock_text() if text is None else text).splitlines():
        match = _ENTRY.match(line)
        if not match:
            continue
        name, version, build = match.group(1).rsplit("-", 2)
        if not build.startswith("py") or name in NOT_PIP:
            continue
        pins[normalise(CONDA_TO_PYPI.get(name, name))] = version
    return pins


def pins_file(pins: dict[str, str], path: Path) -> Path:
    path.write_text("".join(f"{name}=={version}\n" for name, version in sorted(pins.items())))
    return path


def freeze(python: Path) -> dict[str, str]:
    """{normalised name: version} of what is installed in ``python``'s environment."""
    out = subprocess.run([str(python), "-m", "pip", "list", "--format=freeze",
                          "--exclude-editable"], capture_output=True, text=True,
                         check=True).stdout
    found = {}
    for line in out.splitlines():
        if "==" in line:
            name, version = line.split("==", 1)
            found[normalise(name)] = version.strip()
    return found


def replaced(server: dict[str, str], after: dict[str, str]) -> dict[str, tuple[str, str]]:
    """Server packages whose version changed (or that vanished): {name: (was, now)}."""
    return {name: (version, after.get(name, "removed")) for name, version in server.items()
            if after.get(name) != version}


def pip(python: Path, *args: str, cwd: Path = ROOT, timeout: int = 1200) -> None:
    proc = subprocess.run([str(python), "-m", "pip", "--disable-pip-version-check", *args],
                          cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"pip {' '.join(args)} failed (exit {proc.returncode}):\n"
                           f"{proc.stdout[-6000:]}\n{proc.stderr[-6000:]}")


def server_venv(path: Path, pins: dict[str, str]) -> Path:
    """A virtualenv holding repo2docker's server pins; returns its python.

    The lock is a complete, explicit set (repo2docker installs it as is), so pip installs
    it without resolving (``--no-deps``); ``pip check`` on the result tells whether the
    PyPI packages' own requirements are met by it.
    """
    venv.EnvBuilder(with_pip=True).create(path)
    python = path / "bin" / "python"
    pip(python, "install", "--quiet", "--no-deps", "--no-compile", "-r",
        str(pins_file(pins, path / "server-pins.txt")))
    return python


def write_constraints(dest: Path = BINDER / "constraints.txt") -> None:
    """Resolve binder/requirements.txt over the server pins; keep only what it adds."""
    pins = server_pins()
    with tempfile.TemporaryDirectory() as tmp:
        python = server_venv(Path(tmp) / "venv", pins)
        # Unconstrained except for the pins requirements.txt itself states.
        reqs = [line for line in (BINDER / "requirements.txt").read_text().splitlines()
                if line.strip() and not line.lstrip().startswith(("#", "-c"))]
        pip(python, "install", "--quiet", "--no-compile", *reqs)
        after = freeze(python)
    if changed := {n: v for n, v in replaced(pins, after).items() if n not in MAY_REPLACE}:
        raise SystemExit(f"binder/requirements.txt replaces repo2docker server packages: "
                         f"{changed}")
    added = {n: v for n, v in after.items()
             if (n not in pins or n in MAY_REPLACE) and n != "mmaplab"}
    header = (
        "# Pins for what binder/requirements.txt adds to repo2docker's server environment\n"
        f"# (jupyter-repo2docker's {LOCK}). No server package is\n"
        "# pinned here: Binder keeps repo2docker's own. Regenerate: make binder-constraints\n"
    )
    dest.write_text(header + "".join(f"{n}=={v}\n" for n, v in sorted(added.items())))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pins", action="store_true", help="print the server pins")
    parser.add_argument("--write-constraints", action="store_true",
                        help="regenerate binder/constraints.txt")
    args = parser.parse_args(argv)
    if args.pins:
        for name, version in sorted(server_pins().items()):
            print(f"{name}=={version}")
    if args.write_constraints:
        write_constraints()
        print("binder/constraints.txt updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
