"""Draw the book's diagrams as deterministic SVG files under ``book/images/``.

Our own drawings (no external assets, no randomness, no timestamps), regenerated with

    .venv/bin/python book/_tools/make_diagrams.py

and committed; ``tests/book/test_book_notebooks.py`` checks that the committed files match
what this script produces.

* ``mmap_region_order.svg``: the order of the steps of ``__mmap_region()`` (mm/vma.c,
  Linux 7.0 + the v4 series, as modelled by ``mmaplab.kernel.mmap``) for a file whose hook is
  the legacy ``f_op->mmap`` and for one with ``f_op->mmap_prepare``: where the driver's
  code runs relative to the merge attempt, the VMA allocation, the insertion and the
  completion of the mmap action.
"""

from __future__ import annotations

import html
import sys
from pathlib import Path

IMAGES = Path(__file__).resolve().parents[1] / "images"

# (kind, text, note): kind "k" = kernel step, "d" = driver code, "x" = exit
LEGACY: list[tuple[str, str, str]] = [
    ("k", "vms_gather_munmap_vmas()", "old mappings in the range are gathered"),
    ("k", "vma_merge_new_range()", "merged? done: ->mmap is never called"),
    ("k", "vm_area_alloc()", "a VMA exists from here on"),
    ("d", "f_op->mmap(file, vma)", "flags, vm_ops, private data, page tables"),
    ("k", "vma_link()", "into the maple tree and the file's rmap"),
    ("k", "__mmap_complete()", "old mappings freed, accounting"),
    ("x", "on error in ->mmap: VMA freed", "vm_ops reset to dummy ops: no close"),
]
PREPARE: list[tuple[str, str, str]] = [
    ("k", "vms_gather_munmap_vmas()", "old mappings in the range are gathered"),
    ("d", "f_op->mmap_prepare(desc)", "describes: flags, vm_ops, action"),
    ("k", "vma_merge_new_range()", "merged? done: mapped is never called"),
    ("k", "vm_area_alloc()", "the VMA is set from the descriptor"),
    ("k", "vma_link()", "rmap lock kept if hide_from_rmap_until_complete"),
    ("k", "__mmap_complete()", "old mappings freed, accounting"),
    ("k", "mmap_action_complete()", "remap / ioremap / insert pages"),
    ("d", "vm_ops->mapped(...)", "per-VMA state: references, allocations"),
    ("x", "on error: do_munmap()", "rmap lock dropped first; close runs"),
]

COLOURS = {"k": ("#e9ecef", "#495057"), "d": ("#ffb703", "#7a4f00"),
           "x": ("#f8d7da", "#842029")}


def _column(x: int, title: str, steps: list[tuple[str, str, str]], box_w: int,
            top: int, row_h: int) -> list[str]:
    out = [f'<text x="{x + box_w // 2}" y="{top - 14}" text-anchor="middle" '
           f'font-weight="bold">{html.escape(title)}</text>']
    for i, (kind, text, note) in enumerate(steps):
        y = top + i * row_h
        fill, stroke = COLOURS[kind]
        out.append(f'<rect x="{x}" y="{y}" width="{box_w}" height="{row_h - 16}" rx="6" '
                   f'fill="{fill}" stroke="{stroke}"/>')
        out.append(f'<text x="{x + 10}" y="{y + 18}" font-family="monospace" '
                   f'font-size="13">{html.escape(text)}</text>')
        out.append(f'<text x="{x + 10}" y="{y + 35}" font-size="11" fill="#333">'
                   f'{html.escape(note)}</text>')
        if i:
            ay = y - 16
            out.append(f'<line x1="{x + box_w // 2}" y1="{ay}" x2="{x + box_w // 2}" '
                       f'y2="{y - 2}" stroke="#666" marker-end="url(#arrow)"/>')
    return out


def mmap_region_order() -> str:
    box_w, row_h, top, gap, margin = 300, 62, 48, 60, 20
    rows = max(len(LEGACY), len(PREPARE))
    width = 2 * box_w + gap + 2 * margin
    height = top + rows * row_h + 44
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="13">',
             '<title>Order of the steps of __mmap_region() for f_op-&gt;mmap and '
             'f_op-&gt;mmap_prepare</title>',
             '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" '
             'markerWidth="7" markerHeight="7" orient="auto">'
             '<path d="M0,0 L10,5 L0,10 z" fill="#666"/></marker></defs>',
             f'<rect width="{width}" height="{height}" fill="white"/>']
    parts += _column(margin, "legacy: f_op->mmap", LEGACY, box_w, top, row_h)
    parts += _column(margin + box_w + gap, "converted: f_op->mmap_prepare", PREPARE, box_w,
                     top, row_h)
    ly = height - 18
    legend = [("d", "driver code"), ("k", "mm core step"), ("x", "error path")]
    for i, (kind, label) in enumerate(legend):
        fill, stroke = COLOURS[kind]
        lx = margin + i * 150
        parts.append(f'<rect x="{lx}" y="{ly - 11}" width="14" height="14" fill="{fill}" '
                     f'stroke="{stroke}"/>')
        parts.append(f'<text x="{lx + 20}" y="{ly}">{label}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


DIAGRAMS = {"mmap_region_order.svg": mmap_region_order}


def main(argv: list[str]) -> int:
    IMAGES.mkdir(parents=True, exist_ok=True)
    for name, draw in DIAGRAMS.items():
        (IMAGES / name).write_text(draw(), encoding="utf-8")
        print(f"book/images/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
