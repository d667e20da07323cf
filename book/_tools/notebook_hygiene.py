"""Notebook hygiene: stored outputs must be what a fresh run prints, every time.

Checks each committed ``.ipynb`` given on the command line (the pre-commit hook
passes the staged ones; with no argument, every notebook git knows):

* no Python object addresses (``<Foo object at 0x7f...>``): they change per run;
* no timings (``CPU times``, ``Wall time``, ``took 1.2 s``, ``in 0.52s``);
* no execution timestamps in cell metadata (``metadata.execution``);
* no stored output line wider than 100 columns (the book and nbval diffs read them).

Exit status 1 and one line per finding (``path: cell N: what``) when anything is found.
Model addresses such as ``0x7ffff7ff0000`` are deterministic and allowed.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

WIDTH = 100
ADDRESS = re.compile(r"\bat 0x[0-9a-fA-F]{6,}>")
TIMING = re.compile(
    r"CPU times:|Wall time:|\b(?:took|in|elapsed:?)\s+\d+(?:\.\d+)?\s?(?:ms|µs|us|ns|s)\b")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _texts(output: dict) -> Iterator[str]:
    if "text" in output:
        text = output["text"]
        yield text if isinstance(text, str) else "".join(text)
    for mime, data in output.get("data", {}).items():
        if mime.startswith("text/"):
            yield data if isinstance(data, str) else "".join(data)
    if "traceback" in output:
        yield ANSI.sub("", "\n".join(output["traceback"]))


def problems(path: Path) -> list[str]:
    """Every finding in one notebook, as ``path: cell N: what`` lines."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    found = []
    for n, cell in enumerate(nb.get("cells", []), 1):
        where = f"{path}: cell {n}"
        if "execution" in cell.get("metadata", {}):
            found.append(f"{where}: execution timestamps in the cell metadata")
        for output in cell.get("outputs", []):
            for text in _texts(output):
                if m := ADDRESS.search(text):
                    found.append(f"{where}: an object address in the output ({m.group(0)})")
                if m := TIMING.search(text):
                    found.append(f"{where}: a timing in the output ({m.group(0)!r})")
                for line in text.splitlines():
                    if len(line) > WIDTH:
                        found.append(f"{where}: an output line of {len(line)} columns "
                                     f"(> {WIDTH}): {line[:40]!r}...")
    return found


def _tracked() -> list[Path]:
    out = subprocess.run(["git", "ls-files", "*.ipynb"], capture_output=True, text=True,
                         check=True).stdout
    return [Path(p) for p in out.split()]


def main(argv: list[str]) -> int:
    paths = [Path(a) for a in argv] or _tracked()
    found = [p for path in paths if path.suffix == ".ipynb" for p in problems(path)]
    for line in found:
        print(line)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
