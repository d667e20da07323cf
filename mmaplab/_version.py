"""The package version: pyproject.toml's ``version`` field is its one home."""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path

__all__ = ["version", "__version__"]


def version() -> str:
    """The ``version`` of pyproject.toml, as the installed metadata records it.

    A source tree used without installing (only on ``sys.path``) has no metadata:
    then the field is read from the tree's own pyproject.toml.
    """
    try:
        return metadata.version("mmaplab")
    except metadata.PackageNotFoundError:
        pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
        try:
            return str(tomllib.loads(pyproject.read_text())["project"]["version"])
        except (OSError, KeyError, tomllib.TOMLDecodeError):
            return "0+unknown"


__version__ = version()
