"""The ``mmaplab`` command line (console script ``mmaplab = mmaplab.cli:main``).

Only ``--version`` for now; the ``exercises`` subcommands (list, check, hint, reset)
are added here later.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from . import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mmaplab",
        description="An executable model of the Linux mmap path and its mmap_prepare hook.",
    )
    parser.add_argument("--version", action="version", version=f"mmaplab {__version__}")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    parser.parse_args(argv)
    parser.print_help()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
