"""The package version: pyproject.toml's ``version`` field is its one home.

Read on first use (``mmaplab.__version__`` is a module ``__getattr__``, PEP 562):
``importlib.metadata`` costs a tenth of a second at import, and a shell check of an
exercise never needs it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["version", "__version__"]  # noqa: F822 - __version__ is a module __getattr__


def version() -> str:
    """The ``version`` of pyproject.toml, as the installed metadata records it.

    A source tree used without installing (only on ``sys.path``) has no metadata:
    then the field is read from the tree's own pyproject.toml.
    """
    from importlib import metadata

    try:
        return metadata.version("mmaplab")
    except metadata.PackageNotFoundError:
        import tomllib
        from pathlib import Path

        pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
        try:
            return str(tomllib.loads(pyproject.read_text())["project"]["version"])
        except (OSError, KeyError, tomllib.TOMLDecodeError):
            return "0+unknown"


def __getattr__(name: str) -> Any:
    if name == "__version__":
        return version()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
