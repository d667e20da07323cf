"""Sphinx extension: merge a cell's stream chunks without cutting lines in two.

Why: with ``nb_merge_streams`` myst-nb (1.x, ``myst_nb.core.utils.coalesce_streams``) strips
the end of every stream chunk it appends and adds a newline. ipykernel sends stdout in chunks
cut by its flush timer, not at line ends, so on a loaded machine ``print("ring pfns:", pfns)``
can arrive as two chunks and render as two lines ("ring pfns:" / "[...]"). Which prints are
cut depends on timing, so the built pages differed between builds (a clean-clone CI run failed
a chapter 4 test on it).

Here the chunks of each stream are first joined exactly as they were written; myst-nb's own
merge then sees one chunk per stream (and still orders stdout before stderr and handles
carriage returns as before).
"""
from __future__ import annotations

from typing import Any


def join_stream_chunks(outputs: list[Any]) -> list[Any]:
    """One output per stream name, at the place of its first chunk, texts joined verbatim."""
    joined: list[Any] = []
    first: dict[str, Any] = {}
    for output in outputs:
        if output.get("output_type") != "stream":
            joined.append(output)
            continue
        name = output["name"]
        if name in first:
            first[name]["text"] += output["text"]
        else:
            first[name] = output
            joined.append(output)
    return joined


def setup(app: Any) -> dict[str, Any]:
    from myst_nb.core import render

    upstream = render.coalesce_streams
    if upstream.__name__ != "whole_coalesce_streams":  # set up once per process
        def whole_coalesce_streams(outputs: list[Any]) -> list[Any]:
            return upstream(join_stream_chunks(outputs))

        render.coalesce_streams = whole_coalesce_streams
    return {"parallel_read_safe": True, "parallel_write_safe": True}
