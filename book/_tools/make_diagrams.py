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
* ``merge_decision.svg``: ``vma_merge_new_range()`` (mm/vma.c, as modelled by
  ``mmaplab.kernel.vma``): when a new range joins a neighbour instead of getting a VMA.
* ``desc_lifecycle.svg``: a ``vm_area_desc`` from ``mmap()`` to a mapping or an error
  (``call_mmap_prepare()``, ``mmap_action_prepare()``, the merge, ``mmap_action_complete()``
  and ``mmap_action_finish()`` of mm/vma.c and mm/util.c, v4 07/21 and 08/21).
* ``vm_ops_lifecycle.svg``: which of ``vm_ops->mapped``, ``open`` and ``close`` run for a
  new mapping, a merge, a split, fork, munmap, exit and the failure paths. Not drawn from
  a table: the tool *runs* each event on the model (``mmaplab``) with a driver that records
  its callbacks, so the picture changes when the model does, and the staleness test says so.
"""

from __future__ import annotations

import html
import sys
from pathlib import Path
from typing import Any

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


# -- shared drawing helpers -----------------------------------------------------------------

KINDS = {**COLOURS, "q": ("#dbe9f6", "#1f4e79"), "ok": ("#d1e7dd", "#0f5132")}


def _open(width: int, height: int, title: str) -> list[str]:
    return [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
            f"<title>{html.escape(title)}</title>",
            '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" '
            'markerWidth="7" markerHeight="7" orient="auto">'
            '<path d="M0,0 L10,5 L0,10 z" fill="#666"/></marker></defs>',
            f'<rect width="{width}" height="{height}" fill="white"/>']


def _box(x: int, y: int, w: int, h: int, kind: str, lines: list[str],
         mono_first: bool = True) -> list[str]:
    """A rounded box; the first line in monospace (a kernel name), the rest as notes."""
    fill, stroke = KINDS[kind]
    out = [f'<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="6" fill="{fill}" '
           f'stroke="{stroke}"/>']
    for i, line in enumerate(lines):
        style = ('font-family="monospace" font-size="12"' if i == 0 and mono_first
                 else 'font-size="11" fill="#333"')
        out.append(f'<text x="{x + 8}" y="{y + 16 + 14 * i}" {style}>{html.escape(line)}</text>')
    return out


def _arrow(x1: int, y1: int, x2: int, y2: int, label: str = "") -> list[str]:
    out = [f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="#666" '
           'marker-end="url(#arrow)"/>']
    if label:
        out.append(f'<text x="{x1 + 6}" y="{(y1 + y2) // 2 - 4}" font-size="11" '
                   f'fill="#1f4e79" font-weight="bold">{html.escape(label)}</text>')
    return out


def _legend(y: int, items: list[tuple[str, str]], x: int = 20) -> list[str]:
    out = []
    for i, (kind, label) in enumerate(items):
        fill, stroke = KINDS[kind]
        lx = x + i * 150
        out.append(f'<rect x="{lx}" y="{y - 11}" width="14" height="14" fill="{fill}" '
                   f'stroke="{stroke}"/>')
        out.append(f'<text x="{lx + 20}" y="{y}">{html.escape(label)}</text>')
    return out


def _flow(title: str, steps: list[tuple[str, list[str], tuple[str, str, list[str]] | None]],
          legend: list[tuple[str, str]], footer: list[str]) -> str:
    """A vertical flow of boxes; a step may branch right to an outcome box.

    ``steps``: (kind, lines, branch) with branch = (label, kind, lines) or None.
    """
    main_x, main_w, side_x, side_w, top, gap = 20, 360, 450, 330, 20, 22
    heights = [max(len(lines), len(b[2]) if b else 0) * 14 + 12 for _, lines, b in steps]
    height = top + sum(heights) + gap * (len(steps) - 1) + 30 + 14 * len(footer) + 24
    width = side_x + side_w + 20
    parts = _open(width, height, title)
    y = top
    for i, ((kind, lines, branch), h) in enumerate(zip(steps, heights, strict=True)):
        parts += _box(main_x, y, main_w, h, kind, lines)
        if branch is not None:
            label, bkind, blines = branch
            parts += _arrow(main_x + main_w, y + h // 2, side_x - 2, y + h // 2, label)
            parts += _box(side_x, y, side_w, h, bkind, blines, mono_first=False)
        if i + 1 < len(steps):
            parts += _arrow(main_x + main_w // 2, y + h, main_x + main_w // 2, y + h + gap - 2)
        y += h + gap
    y += 4
    for line in footer:
        parts.append(f'<text x="20" y="{y + 10}" font-size="11" fill="#333">'
                     f"{html.escape(line)}</text>")
        y += 14
    parts += _legend(y + 22, legend)
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


# -- the merge decision ---------------------------------------------------------------------

def merge_decision() -> str:
    new_vma = ["no merge: a new VMA is allocated", "(mmap_prepare: the action and mapped run)"]
    steps: list[tuple[str, list[str], tuple[str, str, list[str]] | None]] = [
        ("k", ["__mmap_region(): a new range [addr, addr + len)",
               "flags: legacy ->mmap: as before the hook ran;",
               "mmap_prepare: as the descriptor holds them after the hook"], None),
        ("q", ["flags & VM_SPECIAL ?", "VM_IO, VM_DONTEXPAND, VM_PFNMAP or VM_MIXEDMAP"],
         ("yes", "x", ["no merge: a special mapping always gets", "a VMA of its own"])),
        ("q", ["prev or next adjacent ?", "a VMA ending at addr / starting at addr + len"],
         ("no", "x", new_vma)),
        ("q", ["can_left: prev mergeable ?", "same vm_file, same flags (VM_SOFTDIRTY",
               "ignored), pgoff follows on, anon_vma compatible"], None),
        ("q", ["can_right: next mergeable ?", "the same tests against next, whose pgoff",
               "must follow the new range's"], None),
        ("q", ["both, but next has vm_ops->close ?", "a merge may not delete a VMA",
               "with close (can_merge_remove_vma)"],
         ("yes", "k", ["merge left only: prev grows over the range,", "next keeps its VMA"])),
        ("q", ["neither side ?"], ("yes", "x", new_vma)),
        ("ok", ["merged: prev and/or next grow over the range",
                "no VMA of its own: ->mmap is not called (legacy);",
                "no action, no vm_ops->mapped (mmap_prepare)"], None),
    ]
    footer = ["vma_merge_new_range() in mm/vma.c (Linux 7.0 + v4), as modelled by "
              "mmaplab.kernel.vma.",
              "Why it matters: a legacy ->mmap that sets VM_IO or changes vm_ops acts after "
              "this decision (chapter 1)."]
    return _flow("The merge decision of __mmap_region(): vma_merge_new_range()", steps,
                 [("q", "a test"), ("ok", "merged"), ("x", "no merge"), ("k", "step")],
                 footer)


# -- the descriptor's lifecycle -------------------------------------------------------------

def desc_lifecycle() -> str:
    fails = ["mmap() fails with that errno;", "no VMA was created, nothing to undo"]
    undo = "then action.error_hook(err); mmap() fails"
    unmap_action = ["do_munmap() (rmap lock dropped first): close", "runs though mapped never "
                    "did;", undo]
    unmap_mapped = ["do_munmap(): close runs on the VMA", "whose mapped failed;", undo]
    unmap_success = ["do_munmap(): close runs after mapped;", undo]
    steps: list[tuple[str, list[str], tuple[str, str, list[str]] | None]] = [
        ("k", ["mmap(addr, len, prot, flags, fd)", "range chosen, old mappings gathered"], None),
        ("k", ["struct vm_area_desc filled in", "start, end, pgoff, file, vm_file, vma_flags,",
               "page_prot; vm_ops NULL, action: none"], None),
        ("d", ["f_op->mmap_prepare(desc)", "describes the mapping: flags, page_prot,",
               "vm_ops, private_data, an mmap action"], ("error", "x", fails)),
        ("k", ["mmap_action_prepare(desc)", "checks the action (range inside the VMA, ...)",
               "and sets its flags (VM_PFNMAP, VM_MIXEDMAP...)"], ("error", "x", fails)),
        ("q", ["vma_merge_new_range()"],
         ("merged", "ok", ["a neighbour grows: no VMA of its own,", "the action and mapped are "
                           "skipped"])),
        ("k", ["vm_area_alloc(), set from the descriptor", "vma_link(): in the tree and the rmap"],
         None),
        ("k", ["mmap_action_complete()", "remap / ioremap / insert pages"],
         ("error", "x", unmap_action)),
        ("d", ["vm_ops->mapped(start, end, pgoff, file, &priv)", "per-VMA state: references, "
               "allocations"], ("error", "x", unmap_mapped)),
        ("d", ["action.success_hook(vma)"], ("error", "x", unmap_success)),
        ("ok", ["mapped: mmap() returns the address", "the descriptor is gone; the VMA remains"],
         None),
    ]
    footer = ["call_mmap_prepare(), __mmap_region() (mm/vma.c), mmap_action_complete() and "
              "mmap_action_finish()",
              "(mm/util.c), Linux 7.0 + the v4 series (07/21, 08/21), as modelled by "
              "mmaplab.kernel.mmap."]
    return _flow("The life of a vm_area_desc, from mmap() to a mapping or an error", steps,
                 [("d", "driver code"), ("k", "mm core"), ("ok", "outcome"), ("x", "error")],
                 footer)


# -- open / close / mapped, executed on the model -------------------------------------------

def _hook_events() -> list[tuple[str, str, list[str]]]:
    """Run each event on the model; return (event, note, callbacks in order)."""
    from mmaplab import (
        MAP_FIXED, MAP_SHARED, MM, PAGE_SIZE, PROT_READ, PROT_WRITE, File, FileOperations,
        FMode, Inode, VmOperationsStruct,
    )
    from mmaplab.kernel.errors import errname
    from mmaplab.kernel.mmap_action import mmap_action_remap_full
    from mmaplab.kernel.page_alloc import reset_allocator

    base, page, rw = 0x7F0000000000, PAGE_SIZE, PROT_READ | PROT_WRITE
    calls: list[str] = []

    def ops(mapped_err: int = 0) -> VmOperationsStruct:
        def mapped(start: int, end: int, pgoff: int, file: object, priv: object) -> int:
            calls.append("mapped")
            return mapped_err
        return VmOperationsStruct(name="demo_vm_ops", open=lambda vma: calls.append("open"),
                                  close=lambda vma: calls.append("close"), mapped=mapped)

    def hook(mapped_err: int = 0, remap: bool = False, refuse: bool = False) -> object:
        def prepare(desc: Any) -> int:
            if refuse:
                return -12  # -ENOMEM from the hook itself
            desc.vm_ops = ops(mapped_err)
            if remap:  # an action, so that a failure can happen after insertion
                mmap_action_remap_full(desc, 0xE0000 + desc.pgoff)
            return 0
        return prepare

    def dev(prepare: object) -> File:
        return File(Inode("/dev/demo", 1 << 20, dev=(10, 99)),
                    FileOperations(name="demo_fops", mmap_prepare=prepare),
                    FMode.READ | FMode.WRITE)

    def mmap(mm: MM, f: File, first: int, pages: int) -> None:
        mm.mmap(base + first * page, pages * page, rw, MAP_SHARED | MAP_FIXED, f, first * page)

    def run(event: Any, pages: int = 0, prepare: object = None, inject: str = "") -> list[str]:
        reset_allocator()
        mm = MM()
        f = dev(prepare or hook())
        if pages:
            mmap(mm, f, 0, pages)
        calls.clear()
        try:
            if inject:
                with mm.injecting(inject):
                    event(mm, f)
            else:
                event(mm, f)
        except OSError as exc:
            calls.append(f"=> -{errname(exc.errno or 0)}")
        return list(calls)

    def two(mm: MM, f: File) -> None:
        mmap(mm, f, 0, 2)

    return [
        ("mmap: a new VMA", "once, on the new VMA", run(two)),
        ("mmap next to it: merged", "no VMA of its own: nothing",
         run(lambda m, f: mmap(m, f, 2, 2), pages=2)),
        ("mprotect the middle: split", "each new piece is opened",
         run(lambda m, f: m.mprotect(base + page, 2 * page, PROT_READ), pages=4)),
        ("fork", "the child's copy is opened", run(lambda m, f: m.fork(), pages=4)),
        ("munmap the last page", "split, then the piece closed",
         run(lambda m, f: m.munmap(base + 3 * page, page), pages=4)),
        ("exit", "every VMA closed", run(lambda m, f: m.exit(), pages=4)),
        ("mmap_prepare fails", "no VMA yet: nothing runs", run(two, prepare=hook(refuse=True))),
        ("the action fails after insertion", "close without mapped (vme_user, stm)",
         run(two, prepare=hook(remap=True), inject="pte_alloc")),
        ("vm_ops->mapped fails", "the VMA is unmapped: close",
         run(two, prepare=hook(mapped_err=-12))),
    ]


def vm_ops_lifecycle() -> str:
    events = _hook_events()
    row_h, top, left, col_w = 30, 58, 20, 300
    cols = ["mapped", "open", "close"]
    width = left + col_w + 3 * 80 + 200 + 20
    height = top + row_h * len(events) + 58
    parts = _open(width, height, "vm_ops->mapped, open and close across the life of a mapping")
    parts.append(f'<text x="{left}" y="22" font-weight="bold">event (run on the model)</text>')
    for j, col in enumerate(cols):
        x = left + col_w + 80 * j + 40
        parts.append(f'<text x="{x}" y="22" text-anchor="middle" font-family="monospace" '
                     f'font-weight="bold">{col}</text>')
    parts.append(f'<text x="{left + col_w + 250}" y="22" font-weight="bold">order</text>')
    parts.append(f'<line x1="{left}" y1="32" x2="{width - 20}" y2="32" stroke="#999"/>')
    for i, (event, note, calls) in enumerate(events):
        y = top + i * row_h
        if i % 2:
            parts.append(f'<rect x="{left - 4}" y="{y - 18}" width="{width - 32}" '
                         f'height="{row_h}" fill="#f4f6f8"/>')
        parts.append(f'<text x="{left}" y="{y - 3}">{html.escape(event)}</text>')
        parts.append(f'<text x="{left}" y="{y + 9}" font-size="10" fill="#555">'
                     f"{html.escape(note)}</text>")
        for j, col in enumerate(cols):
            n = calls.count(col)
            x = left + col_w + 80 * j + 40
            fill = {"mapped": "#ffb703", "open": "#8ecae6", "close": "#f4a261"}[col]
            if n:
                parts.append(f'<circle cx="{x}" cy="{y - 2}" r="10" fill="{fill}" '
                             'stroke="#333"/>')
                parts.append(f'<text x="{x}" y="{y + 2}" text-anchor="middle" '
                             f'font-weight="bold">{n}</text>')
            else:
                parts.append(f'<text x="{x}" y="{y + 2}" text-anchor="middle" '
                             'fill="#999">-</text>')
        order = " ".join(calls) or "(none)"
        parts.append(f'<text x="{left + col_w + 250}" y="{y + 2}" font-family="monospace" '
                     f'font-size="11">{html.escape(order)}</text>')
    parts.append(f'<text x="{left}" y="{height - 24}" font-size="11" fill="#333">Each row is '
                 "executed by book/_tools/make_diagrams.py on mmaplab (Linux 7.0 + v4) with a "
                 "driver</text>")
    parts.append(f'<text x="{left}" y="{height - 10}" font-size="11" fill="#333">whose '
                 "mmap_prepare sets demo_vm_ops; numbers count the calls. The remap's "
                 "failure is injected.</text>")
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


DIAGRAMS = {"mmap_region_order.svg": mmap_region_order,
            "merge_decision.svg": merge_decision,
            "desc_lifecycle.svg": desc_lifecycle,
            "vm_ops_lifecycle.svg": vm_ops_lifecycle}


def main(argv: list[str]) -> int:
    IMAGES.mkdir(parents=True, exist_ok=True)
    for name, draw in DIAGRAMS.items():
        (IMAGES / name).write_text(draw(), encoding="utf-8")
        print(f"book/images/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
