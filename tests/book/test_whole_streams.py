"""book/_ext/whole_streams.py: a print cut into chunks renders as one line."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _extension():
    spec = importlib.util.spec_from_file_location("whole_streams",
                                                  ROOT / "book" / "_ext" / "whole_streams.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _stream(name: str, text: str) -> dict:
    return {"output_type": "stream", "name": name, "text": text}


def test_chunks_cut_mid_line_are_joined_before_myst_nb_merges_them() -> None:
    nbformat = pytest.importorskip("nbformat")
    render = pytest.importorskip("myst_nb.core.render")
    ext = _extension()
    # The chunks ipykernel may send for print("ring pfns:", [...]) under load.
    chunks = [_stream("stdout", "ring pfns:"), _stream("stderr", "warn\n"),
              _stream("stdout", " ['0x10000']\nnext line\n")]
    outputs = [nbformat.from_dict(c) for c in chunks]
    upstream = render.coalesce_streams
    try:
        # myst-nb alone cuts the line in two: the failure this extension exists for.
        alone = upstream([nbformat.from_dict(c) for c in chunks])
        assert alone[0]["text"].startswith("ring pfns:\n")
        ext.setup(None)
        merged = render.coalesce_streams(outputs)
    finally:
        render.coalesce_streams = upstream
    assert [o["name"] for o in merged] == ["stdout", "stderr"]
    assert merged[0]["text"] == "ring pfns: ['0x10000']\nnext line\n"
    assert merged[1]["text"] == "warn\n"
