"""Write book/_extra/favicon.ico: our SVG mark (book/_static/favicon.svg) as a 32x32 ICO.

Why: the book's pages name the SVG icon, but the site root's redirect page (index.html,
written by Jupyter Book) names none, so a browser that opens the root asks for
/favicon.ico. Sphinx copies book/_extra/ to the site root (html_extra_path).

The mark is four rectangles; we rasterise them ourselves (no imaging library) into a PNG
and wrap it in an ICO container. Run: python book/_tools/make_favicon_ico.py
"""
from __future__ import annotations

import struct
import zlib
from pathlib import Path

SIZE = 32
OUT = Path(__file__).resolve().parents[1] / "_extra" / "favicon.ico"

# (x, y, width, height, colour), in the SVG's 32x32 user units, painted in order.
RECTS = [
    (1, 1, 30, 30, (0x1F, 0x3A, 0x5F)),
    (5, 13, 22, 6, (0x9D, 0xB4, 0xCF)),
    (12, 9, 9, 14, (0xF2, 0xA5, 0x41)),
    (12, 9, 3, 14, (0xD9, 0x82, 0x2B)),
]


def pixels() -> list[list[tuple[int, int, int, int]]]:
    rows = [[(0, 0, 0, 0)] * SIZE for _ in range(SIZE)]
    for x0, y0, w, h, rgb in RECTS:
        for y in range(y0, y0 + h):
            for x in range(x0, x0 + w):
                rows[y][x] = (*rgb, 255)
    return rows


def png(rows: list[list[tuple[int, int, int, int]]]) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\0" + bytes(c for px in row for c in px) for row in rows)
    header = struct.pack(">IIBBBBB", SIZE, SIZE, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def ico(image: bytes) -> bytes:
    # ICONDIR (reserved, type 1 = icon, one image), then one ICONDIRENTRY pointing past both.
    entry = struct.pack("<BBBBHHII", SIZE, SIZE, 0, 0, 1, 32, len(image), 6 + 16)
    return struct.pack("<HHH", 0, 1, 1) + entry + image


def main() -> None:
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_bytes(ico(png(pixels())))


if __name__ == "__main__":
    main()
